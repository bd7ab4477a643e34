/**
 * Run real XMPP servers (Prosody, ejabberd from the Debian packages) on
 * loopback for interop tests. Each server gets a fresh temporary directory
 * (config, data, logs, a copy of the test certificate), free ports on
 * 127.0.0.1 only, runs in the foreground as a child of the test process and
 * is stopped by PID. Nothing system-wide is used: no system service, no
 * `/etc` config, no epmd.
 *
 * ```ts ignore
 * const srv = await startProsody();
 * try {
 *   const conn = await Deno.connect({ hostname: srv.host, port: srv.c2sPort });
 *   // ...
 * } finally {
 *   await srv.stop();
 * }
 * ```
 *
 * Root: Prosody refuses to run as root unless `run_as_root = true`, which
 * the generated config sets when the test runs as root (CI does). ejabberd
 * is started with `erl` directly (not `ejabberdctl`, which `su`s to the
 * `ejabberd` user and leaves a shell between us and the VM); as root it is
 * run as the `ejabberd` user via `setpriv`, which `exec`s, so the PID we hold
 * is the `beam.smp` PID.
 *
 * @module
 */

/** Directory with the checked-in test PKI (see `tests/testdata/README.md`). */
export const TESTDATA: string = new URL("../testdata/", import.meta.url)
  .pathname;

/** PEM text of the test CA, for `caCerts`. */
export function testCaCert(): string {
  return Deno.readTextFileSync(TESTDATA + "ca.pem");
}

/** Options for {@linkcode startProsody} and {@linkcode startEjabberd}. */
export interface ServerOptions {
  /**
   * Accounts to create on the domain before the start resolves, user name
   * to password. Default `{ alice: "secret", bob: "secret" }`; `{}` for none.
   */
  users?: Record<string, string>;
  /**
   * Base name of the certificate/key pair in `tests/testdata/` the server
   * presents (`<cert>.pem`, `<cert>.key`). Default `"localhost"`.
   */
  cert?: string;
  /** How long to wait for the listeners. Default 20 000 ms. */
  timeoutMs?: number;
  /** Server log level. Default `"debug"` (Prosody), `"info"` (ejabberd). */
  logLevel?: "debug" | "info" | "warn";
  /** Keep the temporary directory after `stop()` (for debugging). */
  keepDir?: boolean;
}

/** A running server. */
export interface RunningServer extends AsyncDisposable {
  /** `"prosody"` or `"ejabberd"`. */
  readonly kind: "prosody" | "ejabberd";
  /** Always `"127.0.0.1"`. */
  readonly host: "127.0.0.1";
  /** Plain c2s port (STARTTLS, required). */
  readonly c2sPort: number;
  /** Direct TLS c2s port (XEP-0368). */
  readonly c2sDirectTlsPort: number;
  /** The XMPP domain served, `"localhost"`. */
  readonly domain: "localhost";
  /** PID of the server process. */
  readonly pid: number;
  /** The server's log file (inside {@linkcode dir}). */
  readonly logPath: string;
  /** The temporary directory, removed by `stop()`. */
  readonly dir: string;
  /** Milliseconds from spawn until both listeners accepted TCP. */
  readonly startupMs: number;
  /** Create an account `user@localhost`. */
  addUser(user: string, password: string): Promise<void>;
  /** Log file contents plus the process's stdout/stderr so far ("" if none). */
  readLog(): Promise<string>;
  /**
   * Stop the server: SIGTERM, then SIGKILL after 5 s; wait for the exit;
   * remove the temporary directory. Idempotent.
   */
  stop(): Promise<void>;
}

const DEFAULT_USERS: Record<string, string> = {
  alice: "secret",
  bob: "secret",
};
const HOST = "127.0.0.1" as const;
const DOMAIN = "localhost" as const;

/** Servers not yet stopped; killed on unload if a test forgot them. */
const live = new Set<Deno.ChildProcess>();
let unloadHooked = false;
function track(child: Deno.ChildProcess): void {
  live.add(child);
  if (!unloadHooked) {
    unloadHooked = true;
    globalThis.addEventListener("unload", () => {
      for (const c of live) {
        try {
          c.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    });
  }
}

/** Free loopback TCP ports: bind port 0 (all at once, so distinct), close. */
export function freePorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: HOST, port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

function randomId(): string {
  return crypto.randomUUID().slice(0, 8);
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

async function which(cmd: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    if (!dir) continue;
    const p = `${dir}/${cmd}`;
    try {
      const st = await Deno.stat(p);
      if (st.isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}

async function requireBinary(cmd: string, pkg: string): Promise<string> {
  const p = cmd.startsWith("/")
    ? await Deno.stat(cmd).then(() => cmd, () => null)
    : await which(cmd);
  if (!p) {
    throw new Error(
      `${cmd} not found: install the Debian package (apt-get install ${pkg})`,
    );
  }
  return p;
}

async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; clearEnv?: boolean; cwd?: string } = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env: opts.env,
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const text = dec.decode(out.stdout) + dec.decode(out.stderr);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${out.code}:\n${text}`,
    );
  }
  return text;
}

/** Whether something accepts TCP on 127.0.0.1:port right now. */
async function accepts(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: HOST, port });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** A spawned server process whose stdout/stderr are collected. */
class Proc {
  readonly child: Deno.ChildProcess;
  #output: Promise<string>;
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(
    cmd: string,
    args: string[],
    env: Record<string, string>,
    cwd: string,
  ) {
    this.child = new Deno.Command(cmd, {
      args,
      env,
      clearEnv: true,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    track(this.child);
    const collect = (s: ReadableStream<Uint8Array>) =>
      new Response(s).text().catch((e) => `<${e}>`);
    this.#output = Promise.all([
      collect(this.child.stdout),
      collect(this.child.stderr),
    ]).then(([o, e]) => o + e);
    this.status = this.child.status.then((s) => {
      this.#exited = true;
      live.delete(this.child);
      return s;
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** stdout+stderr; only complete (and only awaited) once exited. */
  output(): Promise<string> {
    return this.#exited ? this.#output : Promise.resolve("");
  }

  async stop(): Promise<void> {
    if (!this.#exited) {
      try {
        this.child.kill("SIGTERM");
      } catch { /* raced with exit */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = await Promise.race([
        this.status.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), 5000)),
      ]);
      clearTimeout(timer);
      if (killed) {
        try {
          this.child.kill("SIGKILL");
        } catch { /* raced with exit */ }
      }
    }
    await this.status;
    await this.#output;
  }
}

async function readIfExists(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

/**
 * Wait until every port accepts TCP; throw (with the log) if the process
 * exits first or the timeout passes.
 */
async function waitForPorts(
  proc: Proc,
  ports: number[],
  timeoutMs: number,
  what: string,
  log: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(ports);
  while (pending.size > 0) {
    for (const p of [...pending]) if (await accepts(p)) pending.delete(p);
    if (pending.size === 0) break;
    if (proc.exited) {
      const status = await proc.status;
      throw new Error(
        `${what} exited with code ${status.code} before listening on ` +
          `${[...pending].join(", ")}:\n${await proc.output()}\n${await log()}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not listen on ${[...pending].join(", ")} within ` +
          `${timeoutMs} ms:\n${await log()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function validateUser(user: string): void {
  if (!/^[a-z0-9._-]+$/.test(user)) {
    throw new Error(`test user name must match [a-z0-9._-]+: ${user}`);
  }
}

// ---------------------------------------------------------------------------
// Prosody

/** Lua string literal. */
function lua(s: string): string {
  return JSON.stringify(s);
}

/**
 * Start Prosody (0.12, Debian) in the foreground: `prosody -F --config
 * <tmp>/prosody.cfg.lua`, c2s (STARTTLS required) and c2s Direct TLS on free
 * loopback ports, VirtualHost "localhost", internal storage in the temporary
 * directory, s2s and everything else that listens disabled. Users are
 * created with `prosodyctl --config <file> register` before the start.
 *
 * @param options Users, certificate, timeout, log level.
 * @returns The running server; call `stop()`.
 */
export async function startProsody(
  options: ServerOptions = {},
): Promise<RunningServer> {
  const prosody = await requireBinary("prosody", "prosody");
  const prosodyctl = await requireBinary("prosodyctl", "prosody");
  const certName = options.cert ?? "localhost";
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dir = await Deno.makeTempDir({ prefix: "xt-prosody-" });
  const cleanup = () =>
    options.keepDir ? Promise.resolve() : Deno.remove(dir, { recursive: true });
  try {
    const [c2sPort, c2sDirectTlsPort] = freePorts(2);
    const logPath = `${dir}/prosody.log`;
    const configPath = `${dir}/prosody.cfg.lua`;
    await Deno.mkdir(`${dir}/data`);
    // Prosody looks up "<certificates>/<host>.crt" + ".key"; this is also
    // what the Direct TLS (SNI) service uses, a per-host `ssl` block is not.
    await Deno.mkdir(`${dir}/certs`);
    await Deno.copyFile(
      `${TESTDATA}${certName}.pem`,
      `${dir}/certs/${DOMAIN}.crt`,
    );
    await Deno.copyFile(
      `${TESTDATA}${certName}.key`,
      `${dir}/certs/${DOMAIN}.key`,
    );
    const config = [
      `-- generated by tests/interop/_servers.ts`,
      // Prosody's mod_posix refuses to run as root without this.
      isRoot() ? `run_as_root = true` : ``,
      `pidfile = ${lua(`${dir}/prosody.pid`)}`,
      `data_path = ${lua(`${dir}/data`)}`,
      `certificates = ${lua(`${dir}/certs`)}`,
      `plugin_paths = {}`,
      `interfaces = { "127.0.0.1" }`,
      `local_interfaces = { "127.0.0.1" }`,
      `c2s_interfaces = { "127.0.0.1" }`,
      `c2s_direct_tls_interfaces = { "127.0.0.1" }`,
      `c2s_ports = { ${c2sPort} }`,
      `c2s_direct_tls_ports = { ${c2sDirectTlsPort} }`,
      `legacy_ssl_ports = {}`,
      `s2s_ports = {}`,
      `s2s_direct_tls_ports = {}`,
      `component_ports = {}`,
      `http_ports = {}`,
      `https_ports = {}`,
      `c2s_require_encryption = true`,
      `authentication = "internal_hashed"`,
      `storage = "internal"`,
      `log = { { levels = { min = ${
        lua(options.logLevel ?? "debug")
      } }, to = "file", filename = ${lua(logPath)} } }`,
      `modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "posix" }`,
      // s2s and s2s_auth_certs are autoloaded; nothing else that listens is.
      `modules_disabled = { "s2s", "s2s_auth_certs", "offline" }`,
      `VirtualHost ${lua(DOMAIN)}`,
      ``,
    ].join("\n");
    await Deno.writeTextFile(configPath, config);

    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dir,
      LANG: "C.UTF-8",
    };
    const addUser = async (user: string, password: string) => {
      validateUser(user);
      await run(prosodyctl, [
        "--config",
        configPath,
        "register",
        user,
        DOMAIN,
        password,
      ], { env, clearEnv: true, cwd: dir });
    };
    // prosodyctl writes the account files directly; no server needed.
    for (const [u, p] of Object.entries(options.users ?? DEFAULT_USERS)) {
      await addUser(u, p);
    }

    const t0 = performance.now();
    const proc = new Proc(prosody, ["-F", "--config", configPath], env, dir);
    const readLog = async () =>
      (await readIfExists(logPath)) + (await proc.output());
    try {
      await waitForPorts(
        proc,
        [c2sPort, c2sDirectTlsPort],
        timeoutMs,
        "prosody",
        readLog,
      );
    } catch (e) {
      await proc.stop();
      throw e;
    }
    const startupMs = Math.round(performance.now() - t0);

    let stopped: Promise<void> | null = null;
    const stop = () =>
      stopped ??= (async () => {
        await proc.stop();
        await cleanup();
      })();
    return {
      kind: "prosody",
      host: HOST,
      c2sPort,
      c2sDirectTlsPort,
      domain: DOMAIN,
      pid: proc.child.pid,
      logPath,
      dir,
      startupMs,
      addUser,
      readLog,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    if (!options.keepDir) await cleanup().catch(() => {});
    throw e;
  }
}

// ---------------------------------------------------------------------------
// ejabberd

/** ERL_LIBS as the Debian ejabberdctl sets it (arch-dependent path). */
async function ejabberdErlLibs(): Promise<string> {
  const ctl = await readIfExists("/usr/sbin/ejabberdctl");
  const m = ctl.match(/^ERL_LIBS='([^']+)'/m);
  if (m) return m[1];
  throw new Error(
    "cannot find ERL_LIBS in /usr/sbin/ejabberdctl: install the Debian " +
      "package (apt-get install ejabberd)",
  );
}

/** uid/gid of a system user from /etc/passwd, or null. */
async function lookupUser(
  name: string,
): Promise<{ uid: number; gid: number } | null> {
  for (const line of (await readIfExists("/etc/passwd")).split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f.length >= 4) {
      return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  }
  return null;
}

async function chownR(path: string, uid: number, gid: number): Promise<void> {
  await Deno.chown(path, uid, gid);
  const st = await Deno.stat(path);
  if (!st.isDirectory) return;
  for await (const e of Deno.readDir(path)) {
    await chownR(`${path}/${e.name}`, uid, gid);
  }
}

/** Erlang string literal (ASCII-safe; JSON escapes are valid Erlang). */
function erlString(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) {
    throw new Error(`only printable ASCII supported here: ${s}`);
  }
  return JSON.stringify(s);
}

/**
 * Start ejabberd (23.01, Debian) in the foreground with `erl` directly (what
 * `ejabberdctl foreground` runs, minus its `su`): a temporary YAML config,
 * Mnesia spool and log directory, a unique short node name, and Erlang
 * distribution on a fixed free loopback port without epmd
 * (`-start_epmd false -erl_epmd_port <port>`), so no epmd daemon is left
 * behind. As root it runs as the `ejabberd` user (`setpriv`), with the
 * temporary directory chowned to it. Users are registered over Erlang
 * distribution from a hidden node (`rpc:call(Node, ejabberd_auth,
 * try_register, ...)`), which is what `ejabberdctl register` does.
 *
 * @param options Users, certificate, timeout, log level.
 * @returns The running server; call `stop()`.
 */
export async function startEjabberd(
  options: ServerOptions = {},
): Promise<RunningServer> {
  const erl = await requireBinary("/usr/bin/erl", "ejabberd");
  const erlLibs = await ejabberdErlLibs();
  const certName = options.cert ?? "localhost";
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dir = await Deno.makeTempDir({ prefix: "xt-ejabberd-" });
  const cleanup = () =>
    options.keepDir ? Promise.resolve() : Deno.remove(dir, { recursive: true });
  try {
    const [c2sPort, c2sDirectTlsPort, distPort] = freePorts(3);
    const id = randomId();
    const node = `xt-ejabberd-${id}@localhost`;
    const cookie = `xt${crypto.randomUUID().replaceAll("-", "")}`;
    const logPath = `${dir}/logs/ejabberd.log`;
    const configPath = `${dir}/ejabberd.yml`;
    await Deno.mkdir(`${dir}/logs`);
    await Deno.mkdir(`${dir}/spool`);
    // ejabberd must be able to read them as the user it runs as.
    await Deno.copyFile(`${TESTDATA}${certName}.pem`, `${dir}/cert.pem`);
    await Deno.copyFile(`${TESTDATA}${certName}.key`, `${dir}/cert.key`);
    await Deno.copyFile(`${TESTDATA}ca.pem`, `${dir}/ca.pem`);
    const yml = JSON.stringify; // JSON strings are valid YAML scalars
    const config = `# generated by tests/interop/_servers.ts
hosts:
  - ${DOMAIN}
loglevel: ${options.logLevel ?? "info"}
log_rotate_count: 0
certfiles:
  - ${yml(`${dir}/cert.pem`)}
  - ${yml(`${dir}/cert.key`)}
ca_file: ${yml(`${dir}/ca.pem`)}
auth_method: internal
auth_password_format: scram
listen:
  -
    port: ${c2sPort}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
    access: c2s
  -
    port: ${c2sDirectTlsPort}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    tls: true
    access: c2s
acl:
  local:
    user_regexp: ""
access_rules:
  c2s:
    allow: all
  local:
    allow: local
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
  mod_disco: {}
  mod_roster: {}
  mod_ping: {}
  mod_stream_mgmt: {}
`;
    await Deno.writeTextFile(configPath, config);

    // As root, drop to the ejabberd user (setpriv execs: PID stays beam's).
    let prefix: string[] = [];
    if (isRoot()) {
      const user = await lookupUser("ejabberd");
      if (user) {
        await chownR(dir, user.uid, user.gid);
        const setpriv = await requireBinary("setpriv", "util-linux");
        prefix = [
          setpriv,
          "--reuid=ejabberd",
          "--regid=ejabberd",
          "--init-groups",
        ];
      }
    }
    const env: Record<string, string> = {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: dir,
      LANG: "C.UTF-8",
      ERL_LIBS: erlLibs,
      ERL_INETRC: "/etc/ejabberd/inetrc", // maps "localhost" to 127.0.0.1
      ERL_CRASH_DUMP: `${dir}/logs/erl_crash.dump`,
      ERL_CRASH_DUMP_BYTES: "0",
      EJABBERD_CONFIG_PATH: configPath,
      EJABBERD_LOG_PATH: logPath,
      EJABBERD_PID_PATH: `${dir}/ejabberd.pid`,
    };
    try {
      await Deno.stat(env.ERL_INETRC);
    } catch {
      delete env.ERL_INETRC;
    }
    const distArgs = [
      "-setcookie",
      cookie,
      "-start_epmd",
      "false",
      "-erl_epmd_port",
      String(distPort),
      "-kernel",
      "inet_dist_use_interface",
      "{127,0,0,1}",
    ];
    const argv = [
      "-sname",
      node,
      ...distArgs,
      "+K",
      "true",
      "-noinput",
      "-mnesia",
      "dir",
      JSON.stringify(`${dir}/spool`),
      "-s",
      "ejabberd",
    ];

    const launcher = [...prefix, erl];
    const addUsers = async (users: Record<string, string>) => {
      const entries = Object.entries(users);
      if (entries.length === 0) return;
      const calls = entries.map(([user, password]) => {
        validateUser(user);
        return `rpc:call('${node}', ejabberd_auth, try_register, ` +
          `[<<${erlString(user)}>>, <<${erlString(DOMAIN)}>>, ` +
          `<<${erlString(password)}>>])`;
      });
      // What `ejabberdctl register` does, from a hidden client node that
      // does not listen itself (-dist_listen false); one VM for all users.
      const out = await run(launcher[0], [
        ...launcher.slice(1),
        "-sname",
        `xt-ctl-${randomId()}@localhost`,
        ...distArgs,
        "-dist_listen",
        "false",
        "-hidden",
        "-noinput",
        "-eval",
        `R = [${calls.join(", ")}], io:format("~p~n", [R]), ` +
        `halt(case lists:all(fun(X) -> X =:= ok end, R) of ` +
        `true -> 0; false -> 1 end).`,
      ], { env, clearEnv: true, cwd: dir }).catch((e) => {
        throw new Error(
          `ejabberd: registering ${entries.map(([u]) => u)}: ${e.message}`,
        );
      });
      if (!/^\[(ok(,\s*ok)*)?\]\s*$/.test(out.trim())) {
        throw new Error(`ejabberd: registering users: ${out}`);
      }
    };
    const addUser = (user: string, password: string) =>
      addUsers({ [user]: password });

    const t0 = performance.now();
    const proc = new Proc(
      launcher[0],
      [...launcher.slice(1), ...argv],
      env,
      dir,
    );
    const readLog = async () =>
      (await readIfExists(logPath)) + (await proc.output());
    let startupMs: number;
    try {
      await waitForPorts(
        proc,
        [c2sPort, c2sDirectTlsPort],
        timeoutMs,
        "ejabberd",
        readLog,
      );
      startupMs = Math.round(performance.now() - t0);
      await addUsers(options.users ?? DEFAULT_USERS);
    } catch (e) {
      await proc.stop();
      throw e;
    }

    let stopped: Promise<void> | null = null;
    const stop = () =>
      stopped ??= (async () => {
        await proc.stop();
        await cleanup();
      })();
    return {
      kind: "ejabberd",
      host: HOST,
      c2sPort,
      c2sDirectTlsPort,
      domain: DOMAIN,
      pid: proc.child.pid,
      logPath,
      dir,
      startupMs,
      addUser,
      readLog,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    if (!options.keepDir) await cleanup().catch(() => {});
    throw e;
  }
}
