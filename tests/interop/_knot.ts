/**
 * Run Knot DNS (`knotd` from the Debian package `knot`) on loopback as an
 * authoritative name server with test zones, for the discovery interop
 * tests.
 *
 * ```ts ignore
 * const knot = await startKnot({
 *   zones: { "srv.test": "_xmpp-client._tcp.a SRV 0 0 5222 xmpp.a\n" },
 * });
 * try {
 *   const resolver = dnsResolver({ nameServer: knot.nameServer });
 *   // ...
 * } finally {
 *   await knot.stop();
 * }
 * ```
 *
 * How it runs: `knotd -c <tmp>/knot.conf` in the foreground (no `-d`), as a
 * child of the test process, with everything in a fresh temporary
 * directory: the config, the zone files, `server.rundir` (the control
 * socket `knot.sock`) and `database.storage` (timers, journal). The config
 * sets no `server.user`, so knotd keeps the test's user (root in CI works;
 * the Debian config's `user: knot:knot` is not used). `server.listen` is
 * `127.0.0.1@<port>`, one free port for UDP and TCP. Zone files are never
 * written back (`zonefile-sync: -1`, `journal-content: none`). The start
 * resolves once an SOA query for the first zone through `Deno.resolveDns`
 * is answered; `stop()` sends SIGTERM to the PID (SIGKILL after 5 s) and
 * removes the directory.
 *
 * Two kinds of broken zones, for the failure rules:
 * - `blackholeZones`: queries are forwarded (`mod-dnsproxy`, `fallback:
 *   off`) to a UDP socket of the test process that never answers, so a
 *   lookup times out (knotd gives up after `blackholeMs` and answers
 *   SERVFAIL, later than any test timeout);
 * - `servfailZones`: the zone file does not parse, so knotd answers
 *   SERVFAIL at once.
 *
 * @module
 */

/** Options for {@linkcode startKnot}. */
export interface KnotOptions {
  /**
   * Zones to serve: origin (such as `"srv.test"`) to zone file lines after
   * the SOA and NS records, which are added (`ns.<origin>` at 127.0.0.1).
   * Relative names are relative to the origin.
   */
  zones: Record<string, string>;
  /** Zones whose every query goes unanswered (a timeout). Default none. */
  blackholeZones?: string[];
  /** Zones that fail to load, so knotd answers SERVFAIL. Default none. */
  servfailZones?: string[];
  /**
   * How long knotd waits for the blackhole before it answers SERVFAIL.
   *
   * @default {3000}
   */
  blackholeMs?: number;
  /**
   * How long to wait for knotd to answer.
   *
   * @default {10000}
   */
  timeoutMs?: number;
  /** Keep the temporary directory after `stop()` (for debugging). */
  keepDir?: boolean;
}

/** A running knotd. */
export interface RunningKnot extends AsyncDisposable {
  /** Where it listens (UDP and TCP), for `dnsResolver({ nameServer })`. */
  readonly nameServer: { ipAddr: "127.0.0.1"; port: number };
  /** PID of knotd. */
  readonly pid: number;
  /** The temporary directory, removed by `stop()`. */
  readonly dir: string;
  /** Milliseconds from spawn until it answered. */
  readonly startupMs: number;
  /** `knotd --version` output, such as `knotd (Knot DNS), version 3.2.6`. */
  readonly version: string;
  /** knotd's log (stderr) so far; complete after `stop()`. */
  readLog(): Promise<string>;
  /** SIGTERM, SIGKILL after 5 s, wait, remove the directory. Idempotent. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1" as const;

/** knotd children not yet stopped; killed on unload if a test forgot them. */
const live = new Set<Deno.ChildProcess>();
let unloadHooked = false;

async function knotdPath(): Promise<string> {
  for (const p of ["/usr/sbin/knotd", "/usr/bin/knotd", "/sbin/knotd"]) {
    try {
      if ((await Deno.stat(p)).isFile) return p;
    } catch { /* not here */ }
  }
  throw new Error(
    "knotd not found: install the Debian package (apt-get install knot)",
  );
}

/** A loopback port free for both UDP and TCP right now. */
function freeUdpTcpPort(): number {
  for (let i = 0; i < 50; i++) {
    const tcp = Deno.listen({ hostname: HOST, port: 0 });
    const port = (tcp.addr as Deno.NetAddr).port;
    try {
      const udp = Deno.listenDatagram({
        hostname: HOST,
        port,
        transport: "udp",
      });
      udp.close();
      return port;
    } catch {
      // UDP port taken; try another.
    } finally {
      tcp.close();
    }
  }
  throw new Error("no loopback port free for both UDP and TCP after 50 tries");
}

function zoneFile(origin: string, body: string): string {
  return [
    `$ORIGIN ${origin}.`,
    `$TTL 60`,
    `@ SOA ns.${origin}. hostmaster.${origin}. 1 3600 600 86400 60`,
    `@ NS ns.${origin}.`,
    `ns.${origin}. A 127.0.0.1`,
    body,
    ``,
  ].join("\n");
}

/** YAML double-quoted string. */
function q(s: string): string {
  return JSON.stringify(s);
}

/**
 * Start knotd with the given zones on a free loopback port.
 *
 * @param options Zones, broken zones, timeouts.
 * @returns The running server; call `stop()` (or `await using`).
 * @throws {Error} If knotd is missing, exits, or does not answer in time
 *   (the message includes its log).
 */
export async function startKnot(options: KnotOptions): Promise<RunningKnot> {
  const knotd = await knotdPath();
  const origins = Object.keys(options.zones);
  if (origins.length === 0) {
    throw new TypeError("startKnot needs at least one zone in options.zones");
  }
  const blackholes = options.blackholeZones ?? [];
  const servfails = options.servfailZones ?? [];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const version = (new TextDecoder().decode(
    (await new Deno.Command(knotd, { args: ["--version"], stdout: "piped" })
      .output()).stdout,
  )).trim();

  const dir = await Deno.makeTempDir({ prefix: "xt-knot-" });
  let blackhole: Deno.DatagramConn | undefined;
  let child: Deno.ChildProcess | undefined;
  try {
    await Deno.mkdir(`${dir}/run`);
    await Deno.mkdir(`${dir}/storage`);
    await Deno.mkdir(`${dir}/zones`);
    const port = freeUdpTcpPort();
    const zoneLines: string[] = [];
    for (const origin of origins) {
      const file = `${origin}.zone`;
      await Deno.writeTextFile(
        `${dir}/zones/${file}`,
        zoneFile(origin, options.zones[origin]),
      );
      zoneLines.push(`  - domain: ${q(origin)}`, `    file: ${q(file)}`);
    }
    for (const origin of blackholes) {
      const file = `${origin}.zone`;
      await Deno.writeTextFile(`${dir}/zones/${file}`, zoneFile(origin, ""));
      zoneLines.push(
        `  - domain: ${q(origin)}`,
        `    file: ${q(file)}`,
        `    module: mod-dnsproxy/blackhole`,
      );
    }
    for (const origin of servfails) {
      const file = `${origin}.zone`;
      await Deno.writeTextFile(
        `${dir}/zones/${file}`,
        `$ORIGIN ${origin}.\n@ 60 SOA this is not an SOA record\n`,
      );
      zoneLines.push(`  - domain: ${q(origin)}`, `    file: ${q(file)}`);
    }
    const config: string[] = [
      `# generated by tests/interop/_knot.ts`,
      `server:`,
      `    rundir: ${q(`${dir}/run`)}`,
      `    listen: ${HOST}@${port}`,
      // Each forwarded (blackholed) query holds a UDP worker until
      // blackholeMs, and knotd picks the worker by the source port: with
      // 128 workers another query lands on a blocked one about 1 in 128.
      `    udp-workers: 128`,
      `    tcp-workers: 4`,
      `    background-workers: 1`,
      `log:`,
      `  - target: stderr`,
      `    any: info`,
      `database:`,
      `    storage: ${q(`${dir}/storage`)}`,
    ];
    if (blackholes.length > 0) {
      blackhole = Deno.listenDatagram({
        hostname: HOST,
        port: 0,
        transport: "udp",
      });
      const bhPort = (blackhole.addr as Deno.NetAddr).port;
      config.push(
        `remote:`,
        `  - id: blackhole`,
        `    address: ${HOST}@${bhPort}`,
        `mod-dnsproxy:`,
        `  - id: blackhole`,
        `    remote: blackhole`,
        `    fallback: off`,
        `    timeout: ${options.blackholeMs ?? 3000}`,
      );
    }
    config.push(
      `template:`,
      `  - id: default`,
      `    storage: ${q(`${dir}/zones`)}`,
      `    zonefile-sync: -1`,
      `    journal-content: none`,
      `zone:`,
      ...zoneLines,
      ``,
    );
    const configPath = `${dir}/knot.conf`;
    await Deno.writeTextFile(configPath, config.join("\n"));

    const t0 = performance.now();
    child = new Deno.Command(knotd, {
      args: ["-c", configPath],
      cwd: dir,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/bin" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const proc = child;
    live.add(proc);
    if (!unloadHooked) {
      unloadHooked = true;
      globalThis.addEventListener("unload", () => {
        for (const c of live) {
          try {
            c.kill("SIGKILL");
          } catch { /* gone */ }
        }
      });
    }
    let exited = false;
    const status = proc.status.then((s) => {
      exited = true;
      live.delete(proc);
      return s;
    });
    const collect = (s: ReadableStream<Uint8Array>) =>
      new Response(s).text().catch((e) => `<${e}>`);
    const output = Promise.all([collect(proc.stdout), collect(proc.stderr)])
      .then(([o, e]) => o + e);
    const readLog = () => exited ? output : Promise.resolve("(running)");

    const nameServer = { ipAddr: HOST, port } as const;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        // A raw query rather than Deno.resolveDns, which never asks about
        // "localhost" (it answers NotFound itself).
        const { rcode } = await rawQuery(nameServer, {
          name: origins[0],
          type: 6, // SOA
        }, { timeoutMs: 300 });
        if (rcode !== 0) throw new Error(`rcode ${rcode}`);
        break;
      } catch (e) {
        if (exited) {
          throw new Error(
            `knotd exited with code ${
              (await status).code
            } before answering:\n` +
              (await output),
          );
        }
        if (Date.now() > deadline) {
          throw new Error(
            `knotd did not answer an SOA query for ${origins[0]} on ` +
              `${HOST} port ${port} within ${timeoutMs} ms (${e})`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const startupMs = Math.round(performance.now() - t0);

    let stopped: Promise<void> | undefined;
    const bh = blackhole;
    const stop = () =>
      stopped ??= (async () => {
        if (!exited) {
          try {
            proc.kill("SIGTERM");
          } catch { /* raced with exit */ }
          let timer: ReturnType<typeof setTimeout> | undefined;
          const late = await Promise.race([
            status.then(() => false),
            new Promise<boolean>((r) =>
              timer = setTimeout(() => r(true), 5000)
            ),
          ]);
          clearTimeout(timer);
          if (late) {
            try {
              proc.kill("SIGKILL");
            } catch { /* raced with exit */ }
          }
        }
        await status;
        await output;
        bh?.close();
        if (!options.keepDir) await Deno.remove(dir, { recursive: true });
      })();
    return {
      nameServer,
      pid: proc.pid,
      dir,
      startupMs,
      version,
      readLog,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      live.delete(child);
    }
    blackhole?.close();
    if (!options.keepDir) await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

/**
 * The response code a name server gives for one question, from a raw UDP
 * query (no resolver in between): 0 NOERROR (records or NODATA), 2
 * SERVFAIL, 3 NXDOMAIN, 5 REFUSED. Used to check what knotd really
 * answered, since `Deno.resolveDns` reports all negative answers alike.
 *
 * @param nameServer Where to ask.
 * @param question The name and the type number (33 for SRV).
 * @param options How long to wait for the answer (default 2000 ms).
 * @returns The rcode and the number of answer records.
 */
export async function rawQuery(
  nameServer: { ipAddr: string; port: number },
  question: { name: string; type: number },
  options: { timeoutMs?: number } = {},
): Promise<{ rcode: number; answers: number }> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const id = Math.floor(Math.random() * 65536);
  const msg: number[] = [id >> 8, id & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of question.name.split(".").filter(Boolean)) {
    const bytes = new TextEncoder().encode(label);
    msg.push(bytes.length, ...bytes);
  }
  msg.push(0, question.type >> 8, question.type & 255, 0, 1);
  const sock = Deno.listenDatagram({
    hostname: HOST,
    port: 0,
    transport: "udp",
  });
  try {
    await sock.send(new Uint8Array(msg), {
      hostname: nameServer.ipAddr,
      port: nameServer.port,
      transport: "udp",
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = await Promise.race([
      sock.receive().then(([b]) => b),
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () =>
            reject(
              new Error(`no answer to ${question.name} in ${timeoutMs} ms`),
            ),
          timeoutMs,
        )
      ),
    ]).finally(() => clearTimeout(timer));
    if (((reply[0] << 8) | reply[1]) !== id) {
      throw new Error("answer with the wrong DNS message id");
    }
    return { rcode: reply[3] & 15, answers: (reply[6] << 8) | reply[7] };
  } finally {
    sock.close();
  }
}
