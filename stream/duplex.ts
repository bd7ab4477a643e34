/**
 * The duplex contract: what every transport yields and every layer consumes.
 *
 * A {@linkcode Duplex} is a WHATWG byte-stream pair plus `close()` and a
 * description of the connection. `Deno.Conn`, QUIC bidirectional streams,
 * node `Duplex` sockets and in-memory pairs are all adapted to it, so any
 * layer (TLS, an XML stream, an XTLS tunnel) can run over any transport.
 *
 * @module
 */

/** How the bytes of a duplex travel. */
export type TransportKind =
  | "tcp"
  | "tls"
  | "quic"
  | "memory"
  | "xtls"
  | "other";

/** Where an end of a connection is. */
export interface Address {
  /** `"tcp"`, `"udp"` or `"unix"`, as `Deno.Addr` names them. */
  transport: string;
  /** IP address, host name or socket path. */
  hostname: string;
  /** Port number (0 where none applies). */
  port: number;
}

/** A peer certificate, as far as the transport can tell. */
export interface PeerCertificate {
  /** The DER encoding of the leaf certificate. */
  raw: Uint8Array;
  /** The subject, as the TLS engine prints it, if known. */
  subject?: string;
  /** The DNS names from subjectAltName, if known. */
  dnsNames?: string[];
  /** Not-after time, if known. */
  validTo?: Date;
}

/** What is known about the connection under a {@linkcode Duplex}. */
export interface ConnectionInfo {
  /** The kind of transport. */
  transport: TransportKind;
  /** Whether the bytes are protected by TLS (or QUIC's TLS). */
  secure: boolean;
  /** The negotiated ALPN protocol, or `null` if none was negotiated. */
  alpn?: string | null;
  /** The server name sent (client) or received (server) in SNI. */
  serverName?: string;
  /** The negotiated TLS version, such as `"TLSv1.3"`, if known. */
  tlsVersion?: string;
  /** The negotiated cipher suite, if known. */
  cipher?: string;
  /** The peer's certificate where the engine exposes it. */
  peerCertificate?: PeerCertificate;
  /** The local address, where it applies. */
  localAddr?: Address;
  /** The remote address, where it applies. */
  remoteAddr?: Address;
}

/**
 * A bidirectional byte stream with connection details: the one shape every
 * transport in this toolkit yields and every layer consumes.
 *
 * @example An in-memory duplex pair
 * ```ts
 * import { memoryPair } from "./memory_duplex.ts";
 *
 * const [a, b] = memoryPair();
 * const w = a.writable.getWriter();
 * await w.write(new TextEncoder().encode("hello"));
 * const r = b.readable.getReader();
 * const { value } = await r.read();
 * console.log(new TextDecoder().decode(value)); // "hello"
 * a.close();
 * b.close();
 * ```
 */
export interface Duplex {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  readonly writable: WritableStream<Uint8Array>;
  /** What is known about this connection. */
  readonly info: ConnectionInfo;
  /**
   * Close the connection in both directions, releasing its resources. Safe to
   * call more than once.
   */
  close(): void;
}
