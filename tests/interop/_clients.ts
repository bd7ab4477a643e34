/**
 * Run real XMPP clients from Debian against a server on loopback, for the
 * interop tests of `serve()`: slixmpp (`/usr/bin/python3` with
 * python3-slixmpp) and go-sendxmpp. Each runs as a child process with a hard
 * timeout, is stopped by its PID (`ChildProcess.kill`), and leaves nothing
 * behind (go-sendxmpp's temporary `HOME` is removed).
 *
 * How each client is told where to go and whom to trust:
 *
 * - **slixmpp 1.8** (`ClientXMPP`): `connect((host, port), use_ssl=...)`;
 *   `use_ssl=True` is Direct TLS, `False` STARTTLS (with `force_starttls`,
 *   the default, it refuses to go on without TLS). The TLS name (SNI and
 *   the certificate check) is the connect host, so the host must be the
 *   XMPP domain (`localhost`, which resolves to 127.0.0.1; `use_ipv6 =
 *   False` skips `::1`). slixmpp resolves that host again with
 *   `default_port`, which must therefore be set to the port as well. The
 *   CA: `ca_certs = Path(ca.pem)`, which sets `CERT_REQUIRED` and adds the
 *   test CA to the default context (hostname checking stays on).
 * - **go-sendxmpp 0.5.x**: `-j HOST:PORT` (the server address; the TLS
 *   name is still the JID's domain), `-t` for Direct TLS (else STARTTLS),
 *   `-u`/`-p` for the account, the recipient as the argument and the
 *   message on stdin. It has no CA option; Go's `crypto/x509` reads the
 *   `SSL_CERT_FILE` environment variable on Linux, which is set to the test
 *   CA, so verification stays on (no `--no-tls-verify`). `HOME` points to an
 *   empty temporary directory so no user configuration is read.
 *
 * ```ts ignore
 * const bob = startSlixmpp({ jid: "bob@localhost", password: "secret", port, transport: "starttls" });
 * await bob.waitFor((e) => e.event === "online");
 * const sent = await runGoSendxmpp({ jid: "alice@localhost", password: "secret", port, transport: "directtls", to: "bob@localhost", message: "hi" });
 * console.log((await bob.waitFor((e) => e.event === "message")).body);
 * await bob.stop();
 * ```
 *
 * @module
 */

import { TESTDATA } from "./_servers.ts";

/** The Python that has python3-slixmpp (Debian's). */
export const PYTHON = "/usr/bin/python3";
/** The test CA the clients trust. */
export const CA_FILE: string = TESTDATA + "ca.pem";

/** How a client reaches the server. */
export interface ClientEndpoint {
  /** The server's port on 127.0.0.1. */
  port: number;
  /** STARTTLS or Direct TLS. */
  transport: "starttls" | "directtls";
}

/** Children not yet stopped; killed on unload if a test forgot them. */
const live = new Set<Deno.ChildProcess>();
let unloadHooked = false;
function track(child: Deno.ChildProcess): void {
  live.add(child);
  child.status.finally(() => live.delete(child));
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

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch { /* already exited */ }
}

async function run(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** slixmpp's version, or `null` when python3-slixmpp is not installed. */
export function slixmppVersion(): Promise<string | null> {
  return run(PYTHON, ["-c", "import slixmpp; print(slixmpp.__version__)"]);
}

/** go-sendxmpp's version line, or `null` when it is not installed. */
export async function goSendxmppVersion(): Promise<string | null> {
  const out = await run("go-sendxmpp", ["--version"]);
  return out?.split("\n")[0] ?? null;
}

/** An event a slixmpp client printed (one JSON object per line). */
export interface SlixmppEvent {
  /** `online`, `message`, `sent`, `failed_auth`, `disconnected`, ... */
  event: string;
  [key: string]: string;
}

/** A running slixmpp client. */
export interface SlixmppClient {
  /** Its process id. */
  readonly pid: number;
  /** Everything it printed so far. */
  readonly events: readonly SlixmppEvent[];
  /** The first event matching `match`, waiting up to `timeoutMs`. */
  waitFor(
    match: (e: SlixmppEvent) => boolean,
    timeoutMs?: number,
  ): Promise<SlixmppEvent>;
  /** Send a chat message. */
  send(to: string, body: string): Promise<void>;
  /** Disconnect, wait for the exit (kill after 5 s); its stderr. */
  stop(): Promise<string>;
}

// The client: prints events as JSON lines, takes commands as JSON lines.
const SLIXMPP_SCRIPT = `
import sys, json, pathlib, threading, logging
import slixmpp
cfg = json.loads(sys.argv[1])
logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
def emit(**kw):
    print(json.dumps(kw), flush=True)
class Client(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(cfg["jid"], cfg["password"])
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", lambda *_: emit(event="failed_auth"))
        self.add_event_handler("disconnected", lambda *_: emit(event="disconnected"))
        self.add_event_handler("connection_failed", lambda e: emit(event="connection_failed", error=str(e)))
    async def on_start(self, _):
        self.send_presence()
        emit(event="online", jid=str(self.boundjid))
    def on_message(self, m):
        emit(event="message", **{"from": str(m["from"]), "to": str(m["to"]), "type": m["type"], "body": m["body"]})
c = Client()
c.ca_certs = pathlib.Path(cfg["ca"])
c.default_port = cfg["port"]
c.use_ipv6 = False
c.connect((c.boundjid.host, cfg["port"]), use_ssl=cfg["directtls"])
def handle(cmd):
    if "send" in cmd:
        c.send_message(mto=cmd["send"]["to"], mbody=cmd["send"]["body"], mtype="chat")
        emit(event="sent")
    if cmd.get("quit"):
        c.disconnect()
def read_stdin():
    for line in sys.stdin:
        c.loop.call_soon_threadsafe(handle, json.loads(line))
    c.loop.call_soon_threadsafe(handle, {"quit": True})
threading.Thread(target=read_stdin, daemon=True).start()
c.loop.run_until_complete(c.disconnected)
`;

/**
 * Start a slixmpp client that logs in, sends presence, prints what it
 * receives, and sends what it is told to.
 *
 * @param options The account, where to connect, and a hard timeout
 *   (default 30 s) after which it is killed.
 * @returns The running client.
 */
export function startSlixmpp(
  options: ClientEndpoint & {
    jid: string;
    password: string;
    timeoutMs?: number;
  },
): SlixmppClient {
  const child = new Deno.Command(PYTHON, {
    args: [
      "-c",
      SLIXMPP_SCRIPT,
      JSON.stringify({
        jid: options.jid,
        password: options.password,
        port: options.port,
        directtls: options.transport === "directtls",
        ca: CA_FILE,
      }),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  track(child);
  const hardTimer = setTimeout(() => kill(child), options.timeoutMs ?? 30_000);
  const events: SlixmppEvent[] = [];
  let changed = Promise.withResolvers<void>();
  const stdoutDone = (async () => {
    let buf = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          events.push(JSON.parse(line));
        } catch {
          events.push({ event: "stdout", line });
        }
        changed.resolve();
        changed = Promise.withResolvers<void>();
      }
    }
    changed.resolve();
  })();
  const stderrDone = new Response(child.stderr).text();
  const stdin = child.stdin.getWriter();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    clearTimeout(hardTimer);
    changed.resolve();
    return s;
  });
  const enc = new TextEncoder();
  return {
    pid: child.pid,
    events,
    async waitFor(match, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (exited) {
          throw new Error(
            `slixmpp (pid ${child.pid}) exited without the event; events: ${
              JSON.stringify(events)
            }; stderr: ${await stderrDone}`,
          );
        }
        const left = end - Date.now();
        if (left <= 0) {
          throw new Error(
            `slixmpp (pid ${child.pid}): no such event within ${timeoutMs} ms; events: ${
              JSON.stringify(events)
            }`,
          );
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          changed.promise,
          new Promise((r) => timer = setTimeout(r, left)),
        ]);
        clearTimeout(timer);
      }
    },
    async send(to, body) {
      await stdin.write(
        enc.encode(JSON.stringify({ send: { to, body } }) + "\n"),
      );
    },
    async stop() {
      try {
        await stdin.write(enc.encode(JSON.stringify({ quit: true }) + "\n"));
        await stdin.close();
      } catch { /* it exited already */ }
      const killer = setTimeout(() => kill(child), 5000);
      await status;
      clearTimeout(killer);
      await stdoutDone;
      return await stderrDone;
    },
  };
}

/** What a go-sendxmpp run produced. */
export interface GoSendxmppResult {
  /** The exit code (`null` if it was killed at the timeout). */
  code: number | null;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

/**
 * Send one message with go-sendxmpp and wait for it to exit.
 *
 * @param options The account, where to connect, the recipient, the
 *   message, and a hard timeout (default 20 s) after which it is killed.
 * @returns Its exit code and output.
 */
export async function runGoSendxmpp(
  options: ClientEndpoint & {
    jid: string;
    password: string;
    to: string;
    message: string;
    timeoutMs?: number;
  },
): Promise<GoSendxmppResult> {
  const home = await Deno.makeTempDir({ prefix: "go-sendxmpp-" });
  try {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const args = [
      "-u",
      options.jid,
      "-p",
      options.password,
      "-j",
      `127.0.0.1:${options.port}`,
      "--timeout",
      String(Math.max(1, Math.floor(timeoutMs / 2000))),
    ];
    if (options.transport === "directtls") args.push("-t");
    args.push(options.to);
    const child = new Deno.Command("go-sendxmpp", {
      args,
      env: { HOME: home, SSL_CERT_FILE: CA_FILE },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    track(child);
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      kill(child);
    }, timeoutMs);
    try {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(options.message + "\n"));
      await w.close();
    } catch { /* it exited early: its output says why */ }
    const out = await child.output();
    clearTimeout(timer);
    const dec = new TextDecoder();
    return {
      code: killed ? null : out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}
