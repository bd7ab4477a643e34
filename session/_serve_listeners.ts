/**
 * The listeners behind `serve()`, one per endpoint, behind one small
 * interface: `accept()` hands out a duplex ready for the XML stream.
 *
 * - `"starttls"`: plain TCP (`Deno.listen`); each connection gets no-delay
 *   and is handed out at once (TLS comes later, through STARTTLS).
 * - `"directtls"`: `listenDirectTls` (XEP-0368); connections are handed out
 *   once their TLS handshake succeeded, under the server's TLS options.
 * - `"quic"`: `listenQuic` (XEP-0467, needs `--unstable-net`); each
 *   bidirectional stream a client opens is handed out as its own duplex,
 *   already secure. Deno's QUIC serves one certificate per listener: the
 *   endpoint's `certificate`, else the TLS options' default certificate,
 *   else the only one configured.
 *
 * @module
 */

import { fromConn } from "../stream/conn_duplex.ts";
import type { Duplex } from "../stream/duplex.ts";
import { listenQuic } from "../quic/listen.ts";
import { listenDirectTls } from "../tls/direct_tls.ts";
import type { CertificateKey, TlsAcceptOptions } from "../tls/server.ts";
import type { TlsError } from "../tls/tls_error.ts";
import type { ServeAddr, ServeListen } from "./serve.ts";

/** TCP read size, as the Direct TLS listener uses (bench/tls.ts). */
const READ_SIZE = 65536;

/** One listening endpoint. */
export interface EndpointListener {
  /** Where it listens, with the actual port. */
  readonly addr: ServeAddr;
  /**
   * The next connection, ready for `XmlStream.accept`.
   *
   * @throws {Deno.errors.BadResource} Once the listener is closed.
   */
  accept(): Promise<Duplex>;
  /** Stop listening and drop connections not yet handed out. Idempotent. */
  close(): Promise<void>;
}

/** Options for {@linkcode listenEndpoint}. */
export interface ListenEndpointOptions {
  /** The TLS server options (certificates, SNI policy, ALPN, timeout). */
  tls: Omit<TlsAcceptOptions, "signal">;
  /** Direct TLS handshakes in flight (or waiting to be accepted) at most. */
  maxHandshakes: number;
  /** Called for each failed Direct TLS handshake. */
  onTlsError: (error: TlsError | Error, remoteAddr: Deno.NetAddr) => void;
  /** The domains served (QUIC checks SNI against them). */
  domains?: readonly string[];
}

/** The one certificate a QUIC listener can serve. */
function quicCertificate(
  spec: ServeListen,
  tls: Omit<TlsAcceptOptions, "signal">,
): CertificateKey {
  if (spec.certificate) return spec.certificate;
  if (tls.defaultCertificate) return tls.defaultCertificate;
  const certs = tls.certificates;
  if (typeof certs === "object" && certs !== null) {
    const all = Object.values(certs);
    if (all.length === 1) return all[0];
  }
  throw new TypeError(
    "a QUIC endpoint serves one certificate (Deno cannot choose one per SNI name): " +
      "give the endpoint a certificate naming every domain, or set tls.defaultCertificate",
  );
}

function netAddr(addr: Deno.Addr): Deno.NetAddr {
  return addr as Deno.NetAddr;
}

class TcpEndpoint implements EndpointListener {
  readonly addr: ServeAddr;
  #listener: Deno.TcpListener;
  #closed = false;

  constructor(spec: ServeListen) {
    this.#listener = Deno.listen({
      hostname: spec.hostname ?? "0.0.0.0",
      port: spec.port,
      transport: "tcp",
    });
    const a = netAddr(this.#listener.addr);
    this.addr = { transport: "starttls", hostname: a.hostname, port: a.port };
  }

  async accept(): Promise<Duplex> {
    const conn = await this.#listener.accept();
    if (this.#closed) {
      conn.close();
      throw new Deno.errors.BadResource("the listener is closed");
    }
    return fromConn(conn, { noDelay: true, readSize: READ_SIZE });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#listener.close();
      } catch { /* already closed */ }
    }
    return Promise.resolve();
  }
}

/**
 * Listen on one endpoint.
 *
 * @example
 * ```ts
 * import { listenEndpoint } from "./_serve_listeners.ts";
 *
 * const l = listenEndpoint({ transport: "starttls", hostname: "127.0.0.1", port: 0 }, {
 *   tls: { certificates: {} },
 *   maxHandshakes: 8,
 *   onTlsError: () => {},
 * });
 * console.log(l.addr.transport, l.addr.port > 0); // "starttls" true
 * await l.close();
 * ```
 *
 * @param spec The transport, address and port (0 for any free port).
 * @param options TLS options, the handshake limit, the error callback.
 * @returns The listener.
 * @throws {TypeError} For an unknown transport or invalid TLS options.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 */
export function listenEndpoint(
  spec: ServeListen,
  options: ListenEndpointOptions,
): EndpointListener {
  switch (spec.transport) {
    case "starttls":
      return new TcpEndpoint(spec);
    case "directtls": {
      const l = listenDirectTls({
        ...options.tls,
        hostname: spec.hostname ?? "0.0.0.0",
        port: spec.port,
        maxHandshakes: options.maxHandshakes,
        onError: options.onTlsError,
      });
      return {
        addr: {
          transport: "directtls",
          hostname: l.addr.hostname,
          port: l.addr.port,
        },
        accept: () => l.accept(),
        close: () => l.close(),
      };
    }
    case "quic": {
      const l = listenQuic({
        hostname: spec.hostname ?? "0.0.0.0",
        port: spec.port,
        certificate: quicCertificate(spec, options.tls),
        domains: options.domains,
        alpn: options.tls.alpn === undefined || options.tls.alpn === null
          ? ["xmpp-client"]
          : typeof options.tls.alpn === "string"
          ? [options.tls.alpn]
          : [...options.tls.alpn],
        timeout: options.tls.timeout,
        onError: (e, remote) =>
          options.onTlsError(
            e,
            remote ?? { transport: "udp", hostname: "", port: 0 },
          ),
      });
      return {
        addr: {
          transport: "quic",
          hostname: l.addr.hostname,
          port: l.addr.port,
        },
        accept: () => l.accept(),
        close: () => l.close(),
      };
    }
    default:
      throw new TypeError(
        `unknown transport ${
          JSON.stringify(spec.transport)
        }: use "starttls", ` +
          `"directtls" or "quic"`,
      );
  }
}
