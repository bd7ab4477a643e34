/**
 * Tiny scripted XMPP servers on loopback for the probe's end-to-end tests:
 * Direct TLS ({@linkcode directTlsServer}, over `listenDirectTls`), STARTTLS
 * ({@linkcode startTlsServer}, by hand with `tlsAccept`, able to offer no
 * STARTTLS, answer `<failure/>` or pipeline a stanza after `<proceed/>`),
 * and a TCP server that never says anything ({@linkcode silentServer}).
 * Each records what the client showed it (stream namespace, `to`, SNI,
 * ALPN) and closes everything it opened in `close()`.
 *
 * Test-only: it serves the public test keys of `tests/testdata/`.
 *
 * @module
 */

import { fromConn } from "../stream/conn_duplex.ts";
import type { Duplex } from "../stream/duplex.ts";
import { Element } from "../stream/element.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { starttlsElement, TLS_NS } from "../starttls/feature.ts";
import { listenDirectTls } from "../tls/direct_tls.ts";
import { type CertificateKey, tlsAccept } from "../tls/server.ts";

const TESTDATA = new URL("../tests/testdata/", import.meta.url);
const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";

/** PEM text of the test CA that signed every test certificate. */
export const TEST_CA: string = Deno.readTextFileSync(
  new URL("ca.pem", TESTDATA),
);

/**
 * A test certificate and key by base name: `"localhost"` (DNS names
 * `localhost`, `example.test`), `"other.test"` or `"target.test"`.
 *
 * @example
 * ```ts
 * import { testCertificate } from "./_probe_test_servers.ts";
 * console.log(testCertificate("other.test").cert.startsWith("-----BEGIN")); // true
 * ```
 *
 * @param name The base name in `tests/testdata/`.
 * @returns The certificate and its key.
 */
export function testCertificate(
  name: "localhost" | "other.test" | "target.test",
): CertificateKey {
  return {
    cert: Deno.readTextFileSync(new URL(`${name}.pem`, TESTDATA)),
    key: Deno.readTextFileSync(new URL(`${name}.key`, TESTDATA)),
  };
}

/** What one client connection showed the server. */
export interface SeenStream {
  /** The stream namespace of the client's header over TLS (or plaintext). */
  ns: string;
  /** The `to` of that header. */
  to: string | undefined;
  /** The SNI name, when TLS was reached. */
  sni: string | undefined;
  /** The ALPN protocol selected, when TLS was reached. */
  alpn: string | null | undefined;
}

/** A running test server. */
export interface TestServer extends AsyncDisposable {
  /** The loopback port. */
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Streams that reached the server's last step, in order. */
  readonly seen: SeenStream[];
  /** Stop listening, close every connection, wait for the handlers. */
  close(): Promise<void>;
}

/** Shared bookkeeping: live duplexes and handler promises. */
class _Tracker {
  live = new Set<{ close(): void }>();
  tasks = new Set<Promise<void>>();
  connections = 0;
  seen: SeenStream[] = [];

  run(work: () => Promise<void>): void {
    const task = work().catch(() => {}).finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  async closeAll(): Promise<void> {
    for (const d of this.live) d.close();
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }
}

/** The features a server offers once the stream is secure. */
function _secureFeatures(): Element[] {
  return [
    new Element("mechanisms", SASL_NS, {}, [
      new Element("mechanism", SASL_NS, {}, ["SCRAM-SHA-1"]),
      new Element("mechanism", SASL_NS, {}, ["PLAIN"]),
    ]),
  ];
}

/** Serve the secure stream: features, then wait for the client's close. */
async function _serveSecure(
  t: _Tracker,
  duplex: Duplex,
  ns: string,
): Promise<void> {
  t.live.add(duplex);
  const xs = await XmlStream.accept(duplex, { ns, headerTimeout: 5000 });
  t.seen.push({
    ns: xs.peerHeader.ns,
    to: xs.peerHeader.to,
    sni: duplex.info.serverName,
    alpn: duplex.info.alpn,
  });
  await xs.sendFeatures(_secureFeatures());
  while ((await xs.read()) !== null) { /* ignore stanzas */ }
  await xs.close({ timeout: 500 });
}

/** Options of {@linkcode directTlsServer}. */
export interface DirectTlsServerOptions {
  /** The certificate served whatever the SNI name. */
  cert: CertificateKey;
  /**
   * The stream namespace expected.
   *
   * @default {"jabber:client"}
   */
  ns?: string;
}

/**
 * A Direct TLS server on 127.0.0.1 serving one certificate for any SNI
 * name, then a stream with SASL features.
 *
 * @example
 * ```ts
 * import { directTlsServer, testCertificate } from "./_probe_test_servers.ts";
 * await using server = directTlsServer({ cert: testCertificate("localhost") });
 * console.log(server.port > 0); // true
 * ```
 *
 * @param options The certificate and namespace.
 * @returns The running server.
 */
export function directTlsServer(options: DirectTlsServerOptions): TestServer {
  const t = new _Tracker();
  const ns = options.ns ?? "jabber:client";
  const listener = listenDirectTls({
    hostname: "127.0.0.1",
    port: 0,
    certificates: () => options.cert,
    timeout: 5000,
    onError: () => {
      t.connections++;
    },
  });
  const loop = (async () => {
    try {
      for await (const duplex of listener) {
        t.connections++;
        t.run(() => _serveSecure(t, duplex, ns));
      }
    } catch { /* closed */ }
  })();
  const close = async () => {
    await listener.close();
    await loop;
    await t.closeAll();
  };
  return {
    port: listener.addr.port,
    get connections() {
      return t.connections;
    },
    seen: t.seen,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Options of {@linkcode startTlsServer}. */
export interface StartTlsServerOptions {
  /** The certificate served after `<proceed/>`, whatever the SNI name. */
  cert: CertificateKey;
  /**
   * What the plaintext features offer.
   *
   * @default {"required"}
   */
  offer?: "required" | "optional" | "none";
  /**
   * The answer to `<starttls/>`: `<proceed/>`, `<failure/>`, or
   * `<proceed/>` with a `<message/>` in the same write (an injection).
   *
   * @default {"proceed"}
   */
  answer?: "proceed" | "failure" | "inject";
  /**
   * The stream namespace.
   *
   * @default {"jabber:client"}
   */
  ns?: string;
}

/**
 * A STARTTLS server on 127.0.0.1, scripted by `options`.
 *
 * @example
 * ```ts
 * import { startTlsServer, testCertificate } from "./_probe_test_servers.ts";
 * await using server = startTlsServer({ cert: testCertificate("localhost"), offer: "none" });
 * console.log(server.connections); // 0
 * ```
 *
 * @param options The certificate, offer, answer and namespace.
 * @returns The running server.
 */
export function startTlsServer(options: StartTlsServerOptions): TestServer {
  const t = new _Tracker();
  const ns = options.ns ?? "jabber:client";
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handle = async (conn: Deno.TcpConn) => {
    const raw = fromConn(conn);
    t.live.add(raw);
    const xs = await XmlStream.accept(raw, { ns, headerTimeout: 5000 });
    const offer = options.offer ?? "required";
    if (offer === "none") {
      t.seen.push({
        ns: xs.peerHeader.ns,
        to: xs.peerHeader.to,
        sni: undefined,
        alpn: undefined,
      });
      await xs.sendFeatures(_secureFeatures());
      while ((await xs.read()) !== null) { /* ignore */ }
      await xs.close({ timeout: 500 });
      return;
    }
    await xs.sendFeatures([
      starttlsElement({ required: offer === "required" }),
    ]);
    const request = await xs.read();
    if (!request?.is("starttls", TLS_NS)) {
      await xs.close({ timeout: 0 });
      return;
    }
    const answer = options.answer ?? "proceed";
    if (answer === "failure") {
      await xs.send(new Element("failure", TLS_NS));
      await xs.close({ timeout: 500 });
      return;
    }
    if (answer === "inject") {
      await xs.send([
        new Element("proceed", TLS_NS),
        new Element("message", ns, { to: "victim@example.test" }, [
          new Element("body", ns, {}, ["injected"]),
        ]),
      ]);
      while ((await xs.read().catch(() => null)) !== null) { /* wait */ }
      raw.close();
      return;
    }
    await xs.send(new Element("proceed", TLS_NS));
    const secure = await tlsAccept(xs.detach(), {
      certificates: () => options.cert,
      timeout: 5000,
    });
    await _serveSecure(t, secure, ns);
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        t.connections++;
        t.run(() => handle(conn));
      }
    } catch { /* closed */ }
  })();
  const close = async () => {
    listener.close();
    await loop;
    await t.closeAll();
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return t.connections;
    },
    seen: t.seen,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A TCP server on 127.0.0.1 that accepts and then never sends a byte, for
 * timeouts.
 *
 * @example
 * ```ts
 * import { silentServer } from "./_probe_test_servers.ts";
 * await using server = silentServer();
 * console.log(server.seen); // []
 * ```
 *
 * @returns The running server.
 */
export function silentServer(): TestServer {
  const t = new _Tracker();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        t.connections++;
        t.live.add({
          close: () => {
            try {
              conn.close();
            } catch { /* closed already */ }
          },
        });
        t.run(async () => {
          const buf = new Uint8Array(1024);
          while ((await conn.read(buf).catch(() => null)) !== null) {
            /* drain */
          }
        });
      }
    } catch { /* closed */ }
  })();
  const close = async () => {
    listener.close();
    await loop;
    await t.closeAll();
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return t.connections;
    },
    seen: t.seen,
    close,
    [Symbol.asyncDispose]: close,
  };
}
