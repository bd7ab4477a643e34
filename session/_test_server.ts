/**
 * Test-only: a loopback XMPP server for the `connect()` tests, built from
 * the toolkit's real server pieces (`negotiateServer` with `startTlsServer`,
 * `saslServer`, `bindServer`; `listenDirectTls`), plus scripted misbehaving
 * servers for the refusal cases.
 *
 * Modes (for the STARTTLS port; the Direct TLS port is always real):
 * - `"normal"`: STARTTLS required, SCRAM/PLAIN against an in-memory store,
 *   resource binding, then stanzas are echoed until the client closes;
 * - `"no-starttls"`: plaintext features without STARTTLS (but with PLAIN,
 *   as a trap); everything the client sends afterwards is recorded;
 * - `"failure"`: answers `<starttls/>` with `<failure/>`;
 * - `"inject"`: answers `<starttls/>` with `<proceed/>` and a `<message/>`
 *   in the same write;
 * - `"silent"`: accepts TCP and never says anything.
 *
 * @module
 */

import { MemoryCredentialStore } from "../sasl/credentials.ts";
import { bindServer, saslServer } from "../sasl/stream_features.ts";
import { startTlsServer } from "../starttls/negotiator.ts";
import { fromConn } from "../stream/conn_duplex.ts";
import type { Duplex } from "../stream/duplex.ts";
import { negotiateServer } from "../stream/negotiate.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { listenDirectTls } from "../tls/direct_tls.ts";
import { tlsAccept } from "../tls/server.ts";

/** How the STARTTLS port behaves. */
export type TestServerMode =
  | "normal"
  | "no-starttls"
  | "failure"
  | "inject"
  | "silent";

/** Options for {@linkcode startTestServer}. */
export interface TestServerOptions {
  /** @default {"normal"} */
  mode?: TestServerMode;
  /** Base name of the certificate in `tests/testdata/`. @default {"localhost"} */
  cert?: string;
  /** The domain served. @default {"example.test"} */
  domain?: string;
  /** Accounts. @default {{ alice: "secret" }} */
  users?: Record<string, string>;
  /** The stream namespace served. @default {"jabber:client"} */
  ns?: string;
}

/** A running test server. */
export interface TestServer extends AsyncDisposable {
  /** The STARTTLS port (or the scripted one). */
  starttlsPort: number;
  /** The Direct TLS port. */
  directTlsPort: number;
  /** TCP connections accepted on the STARTTLS port. */
  connections: number;
  /** What scripted modes received after their features, per connection. */
  received: string[];
  /** Errors of server sessions (clients that went away, refusals). */
  errors: unknown[];
  /** Stop listening and close every session. */
  close(): Promise<void>;
}

const TESTDATA = new URL("../tests/testdata/", import.meta.url);
const enc = new TextEncoder();
const dec = new TextDecoder();
const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";

/** PEM text of the test CA. */
export function testCa(): string {
  return Deno.readTextFileSync(new URL("ca.pem", TESTDATA));
}

/**
 * Start the server on 127.0.0.1 (two free ports).
 *
 * @param options Mode, certificate, domain, users.
 * @returns The server; `close()` it.
 */
export async function startTestServer(
  options: TestServerOptions = {},
): Promise<TestServer> {
  const mode = options.mode ?? "normal";
  const domain = options.domain ?? "example.test";
  const certName = options.cert ?? "localhost";
  const ns = options.ns ?? "jabber:client";
  const ck = {
    cert: Deno.readTextFileSync(new URL(`${certName}.pem`, TESTDATA)),
    key: Deno.readTextFileSync(new URL(`${certName}.key`, TESTDATA)),
  };
  const store = new MemoryCredentialStore({ iterations: 4096 });
  for (const [u, p] of Object.entries(options.users ?? { alice: "secret" })) {
    await store.setPassword(u, p);
  }
  const certificates = { [domain]: ck };
  const login = [saslServer({ store }), bindServer({ domain })];
  const tasks = new Set<Promise<void>>();
  const open = new Set<Duplex>();
  const errors: unknown[] = [];
  const received: string[] = [];
  const track = (p: Promise<void>) => {
    const t = p.catch((e) => {
      errors.push(e);
    });
    tasks.add(t);
    t.finally(() => tasks.delete(t));
  };

  /** A negotiated session: echo until the client closes. */
  const session = async (duplex: Duplex, secureFirst: boolean) => {
    open.add(duplex);
    try {
      const xs = await XmlStream.accept(duplex, {
        domains: [domain],
        ns,
        headerTimeout: 10_000,
      });
      const features = secureFirst ? login : [
        startTlsServer({
          upgrade: async (raw) => {
            const secure = await tlsAccept(raw, { certificates });
            open.add(secure);
            return secure;
          },
        }),
        ...login,
      ];
      const { stream, pending } = await negotiateServer(xs, {
        features: ns === "jabber:client"
          ? features
          : features.filter((f) => f.name === "starttls"),
      });
      if (pending) await stream.send(pending);
      for await (const el of stream) await stream.send(el);
      await stream.close({ timeout: 0 });
    } finally {
      duplex.close();
      open.delete(duplex);
    }
  };

  /** A scripted plaintext server. */
  const scripted = async (conn: Deno.Conn) => {
    const duplex = fromConn(conn);
    open.add(duplex);
    const reader = duplex.readable.getReader();
    const writer = duplex.writable.getWriter();
    let seen = "";
    const until = async (re: RegExp) => {
      while (!re.test(seen)) {
        const { value, done } = await reader.read();
        if (done) return false;
        seen += dec.decode(value);
      }
      return true;
    };
    try {
      if (mode === "silent") {
        await until(/(?!)/); // read until EOF, say nothing
        return;
      }
      if (!await until(/<stream:stream[^>]*>/)) return;
      const head =
        `<?xml version='1.0'?><stream:stream xmlns='${ns}' xmlns:stream='http://etherx.jabber.org/streams' from='${domain}' id='s1' version='1.0'>`;
      const offer = mode === "no-starttls"
        ? "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
        : `<starttls xmlns='${TLS_NS}'><required/></starttls>`;
      await writer.write(
        enc.encode(`${head}<stream:features>${offer}</stream:features>`),
      );
      const mark = seen.length;
      if (mode === "no-starttls") {
        await until(/(?!)/);
        received.push(seen.slice(mark));
        return;
      }
      if (!await until(/<starttls/)) return;
      received.push(seen.slice(mark));
      await writer.write(enc.encode(
        mode === "failure"
          ? `<failure xmlns='${TLS_NS}'/></stream:stream>`
          : `<proceed xmlns='${TLS_NS}'/><message from='admin@${domain}' to='alice@${domain}'><body>injected</body></message>`,
      ));
      await until(/(?!)/);
    } finally {
      reader.releaseLock();
      writer.releaseLock();
      duplex.close();
      open.delete(duplex);
    }
  };

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const direct = listenDirectTls({
    hostname: "127.0.0.1",
    port: 0,
    certificates,
    onError: (e) => errors.push(e),
  });
  const server: TestServer = {
    starttlsPort: (listener.addr as Deno.NetAddr).port,
    directTlsPort: direct.addr.port,
    connections: 0,
    received,
    errors,
    close() {
      return closing ??= shut();
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
  let closing: Promise<void> | undefined;
  const shut = async () => {
    listener.close();
    await direct.close();
    await Promise.all([loop, directLoop]);
    // Sessions whose client is gone end by themselves; give them a moment.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...tasks]),
      new Promise((r) => timer = setTimeout(r, 500)),
    ]);
    clearTimeout(timer);
    for (const d of open) d.close();
    while (tasks.size > 0) await Promise.all([...tasks]);
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        server.connections++;
        track(
          mode === "normal" ? session(fromConn(conn), false) : scripted(conn),
        );
      }
    } catch { /* closed */ }
  })();
  const directLoop = (async () => {
    try {
      for await (const duplex of direct) track(session(duplex, true));
    } catch { /* closed */ }
  })();
  return server;
}
