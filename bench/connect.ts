/**
 * `connect()` benchmarks: round trips and time to online.
 *
 * 1. Round trips to the secure features through a latency relay
 *    (`_latency_relay.ts`, RTT 50 ms by default), our client against our
 *    own loopback server (`session/_test_server.ts`: the real STARTTLS,
 *    TLS, SASL and bind pieces, no-delay on every socket), and against
 *    Prosody. The count is (end of the secure `<stream:features/>` − start
 *    of the TCP connect) / RTT, plus 1 for the TCP handshake: the relay
 *    delays data, but the client's TCP handshake is with the relay on
 *    loopback. Targets: STARTTLS 5, Direct TLS 3.
 * 2. The same with DNS: a resolver whose every answer arrives one RTT
 *    later (an in-memory zone with `delayMs: RTT`, standing in for a name
 *    server one RTT away; the knot interop tests cover the real wire
 *    client). Discovery asks both SRV names at once (1 RTT), then the
 *    target's A and AAAA at once (1 more RTT).
 * 3. Without a relay: time to secure features on loopback, our client to
 *    our server (a few ms; Nagle + delayed ACK would add about 40).
 * 4. Time to online (STARTTLS, SCRAM-SHA-1 at Prosody's 10,000
 *    iterations, bind) against Prosody through the same relay: our client
 *    and xmpp.js (`npm:@xmpp/client@0.14`) in the same run, each in its own
 *    child process (so each one's CPU time is its own), alternating, one
 *    warm-up login each, then `RUNS` logins. xmpp.js gets the test CA
 *    through `NODE_EXTRA_CA_CERTS`.
 *
 * Prints numbers; asserts nothing.
 *
 * Run: `deno run -A bench/connect.ts` (env `RTT` in ms, default 50; `RUNS`,
 * default 5). Parts 1 (Prosody) and 4 need Prosody (`apt-get install
 * prosody`); part 4 fetches `@xmpp/client` from npm on first use.
 *
 * @module
 */

import process from "node:process";
import { connect, type ConnectOptions } from "../session/connect.ts";
import { roundTrips } from "../session/timeline.ts";
import { startTestServer, testCa } from "../session/_test_server.ts";
import { memoryResolver, type MemoryZone } from "../srv/memory_resolver.ts";
import { startProsody } from "../tests/interop/_servers.ts";
import { startLatencyRelay } from "../examples/_latency_relay.ts";

const RTT = Number(Deno.env.get("RTT") ?? 50);
const RUNS = Number(Deno.env.get("RUNS") ?? 5);
const CA_PATH = new URL("../tests/testdata/ca.pem", import.meta.url).pathname;
const XMPPJS = "npm:@xmpp/client@0.14";

/** SRV records for `domain` pointing at 127.0.0.1:port. */
function zone(
  domain: string,
  port: number,
  transport: "starttls" | "directtls",
  delayMs = 0,
): MemoryZone {
  const service = transport === "starttls" ? "_xmpp-client" : "_xmpps-client";
  const other = transport === "starttls" ? "_xmpps-client" : "_xmpp-client";
  return {
    [`${service}._tcp.${domain}`]: {
      // As authoritative servers do, the target's address comes in the
      // SRV answer's additional section: no second DNS round trip.
      srv: [{
        priority: 0,
        weight: 0,
        port,
        target: `xmpp.${domain}`,
        addresses: ["127.0.0.1"],
      }],
      delayMs,
    },
    [`${other}._tcp.${domain}`]: { delayMs },
    [`xmpp.${domain}`]: { a: ["127.0.0.1"], delayMs },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const f1 = (x: number) => x.toFixed(1);

/** Secure features only: connect without a password, close, return counts. */
async function secureFeatures(
  domain: string,
  port: number,
  transport: "starttls" | "directtls",
  options: { dnsDelay?: number } = {},
): Promise<{ ms: number; rtts: number; withDns: number }> {
  const conn = await connect(domain, {
    resolver: memoryResolver(zone(domain, port, transport, options.dnsDelay)),
    transports: [transport],
    ca: testCa(),
    systemCa: false,
  });
  const t = conn.info.timeline;
  await conn.close({ timeout: 0 });
  const secure = ["tcp", "stream-open", "features", "starttls", "tls"] as const;
  return {
    ms: t.end,
    rtts: roundTrips(t, RTT, secure) + 1,
    withDns: Math.round(t.end / RTT * 10) / 10 + 1,
  };
}

async function part1and2(): Promise<void> {
  console.log(
    `\n1. Round trips to secure features through a ${RTT} ms RTT relay ` +
      "(+1 for the TCP handshake, which the relay does not delay)",
  );
  const server = await startTestServer({ domain: "example.test" });
  const prosody = await startProsody().catch((e) => {
    console.log(`   (Prosody not available: ${e.message.split("\n")[0]})`);
    return undefined;
  });
  const relays = {
    ours: {
      starttls: await startLatencyRelay(server.starttlsPort, { rtt: RTT }),
      directtls: await startLatencyRelay(server.directTlsPort, { rtt: RTT }),
    },
    prosody: prosody && {
      starttls: await startLatencyRelay(prosody.c2sPort, { rtt: RTT }),
      directtls: await startLatencyRelay(prosody.c2sDirectTlsPort, {
        rtt: RTT,
      }),
    },
  };
  try {
    const targets = { starttls: 5, directtls: 3 };
    for (
      const [who, domain] of [["ours", "example.test"], [
        "prosody",
        "localhost",
      ]] as const
    ) {
      const r = relays[who];
      if (!r) continue;
      for (const transport of ["starttls", "directtls"] as const) {
        const runs = [];
        for (let i = 0; i < RUNS; i++) {
          runs.push(await secureFeatures(domain, r[transport].port, transport));
        }
        console.log(
          `   ${(who === "ours" ? "our server" : "Prosody").padEnd(10)} ${
            transport.padEnd(9)
          } ${runs.map((x) => f1(x.rtts)).join(" ")} RTT (median ${
            f1(median(runs.map((x) => x.rtts)))
          }, ${f1(median(runs.map((x) => x.ms)))} ms; target ${
            targets[transport]
          })`,
        );
      }
    }
    console.log(
      `\n2. With DNS: every answer one RTT (${RTT} ms) away; SRV for both ` +
        "services at once, then A and AAAA of the target at once",
    );
    for (const transport of ["starttls", "directtls"] as const) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) {
        runs.push(
          await secureFeatures(
            "example.test",
            relays.ours[transport].port,
            transport,
            {
              dnsDelay: RTT,
            },
          ),
        );
      }
      console.log(
        `   our server ${transport.padEnd(9)} ${
          runs.map((x) => f1(x.withDns)).join(" ")
        } RTT in all (median ${f1(median(runs.map((x) => x.withDns)))}; ` +
          `DNS ${f1(median(runs.map((x) => x.withDns - x.rtts)))} of them)`,
      );
    }

    console.log(
      "\n3. No relay: time to secure features on loopback, our client to our server",
    );
    for (const transport of ["starttls", "directtls"] as const) {
      const port = transport === "starttls"
        ? server.starttlsPort
        : server.directTlsPort;
      const ms = [];
      for (let i = 0; i < RUNS * 4; i++) {
        ms.push((await secureFeatures("example.test", port, transport)).ms);
      }
      console.log(
        `   ${transport.padEnd(9)} median ${f1(median(ms))} ms, max ${
          f1(Math.max(...ms))
        } ms over ${ms.length}`,
      );
    }
  } finally {
    for (const r of [relays.ours, relays.prosody]) {
      if (r) await Promise.all([r.starttls.close(), r.directtls.close()]);
    }
    await server.close();
    await prosody?.stop();
  }
}

interface LoginSample {
  ms: number;
  cpuMs: number;
}

/** Run one client's logins in a child process; returns its samples. */
async function child(
  kind: "ours" | "xmppjs",
  port: number,
  runs: number,
): Promise<LoginSample[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", new URL(import.meta.url).pathname],
    env: {
      BENCH_CHILD: kind,
      BENCH_PORT: String(port),
      RUNS: String(runs),
      RTT: String(RTT),
      NODE_EXTRA_CA_CERTS: CA_PATH,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${kind} child failed:\n${text}${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

async function part4(): Promise<void> {
  console.log(
    `\n4. Time to online through a ${RTT} ms RTT relay against Prosody ` +
      "(STARTTLS, SCRAM-SHA-1, 10,000 iterations, bind), each client in its " +
      "own process, after one warm-up login",
  );
  const prosody = await startProsody();
  const relay = await startLatencyRelay(prosody.c2sPort, { rtt: RTT });
  try {
    const ours: LoginSample[] = [];
    const theirs: LoginSample[] = [];
    // Alternate, in batches, so both see the same machine load.
    for (let i = 0; i < RUNS; i++) {
      ours.push(...await child("ours", relay.port, 1));
      theirs.push(...await child("xmppjs", relay.port, 1));
    }
    const show = (name: string, s: LoginSample[]) =>
      console.log(
        `   ${name.padEnd(8)} ${s.map((x) => x.ms.toFixed(0)).join(" ")} ms ` +
          `(median ${f1(median(s.map((x) => x.ms)))} ms = ${
            f1(median(s.map((x) => x.ms)) / RTT)
          } RTT); client CPU median ${f1(median(s.map((x) => x.cpuMs)))} ms`,
      );
    show("ours", ours);
    show("xmpp.js", theirs);
    const ratio = median(ours.map((x) => x.ms)) /
      median(theirs.map((x) => x.ms));
    console.log(
      `   ratio ours / xmpp.js: ${ratio.toFixed(2)}× (target ≤ 0.5×)`,
    );
  } finally {
    await relay.close();
    await prosody.stop();
  }
}

/** In a child: log in `RUNS` times after a warm-up; print JSON samples. */
async function runChild(kind: string): Promise<void> {
  const port = Number(Deno.env.get("BENCH_PORT"));
  const runs = Number(Deno.env.get("RUNS") ?? 1);
  let login: () => Promise<() => Promise<void>>;
  if (kind === "ours") {
    const options: ConnectOptions = {
      password: "secret",
      resolver: memoryResolver(zone("localhost", port, "starttls")),
      transports: ["starttls"],
      mechanisms: ["SCRAM-SHA-1"],
      ca: testCa(),
      systemCa: false,
    };
    login = async () => {
      const conn = await connect("alice@localhost/bench", options);
      return () => conn.close({ timeout: 0 });
    };
  } else {
    const { client } = await import(XMPPJS);
    login = async () => {
      const xmpp = client({
        service: `xmpp://127.0.0.1:${port}`,
        domain: "localhost",
        username: "alice",
        password: "secret",
        resource: "bench",
      });
      xmpp.on("error", () => {});
      await xmpp.start();
      return async () => {
        await xmpp.stop().catch(() => {});
      };
    };
  }
  await (await login())(); // warm-up
  const samples: LoginSample[] = [];
  for (let i = 0; i < runs; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const stop = await login();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    samples.push({ ms, cpuMs: (cpu.user + cpu.system) / 1000 });
    await stop();
  }
  console.log(JSON.stringify(samples));
}

const childKind = Deno.env.get("BENCH_CHILD");
if (childKind) {
  await runChild(childKind);
} else {
  console.log(`connect() benchmark: RTT ${RTT} ms, ${RUNS} runs each`);
  await part1and2();
  await part4();
}
