/**
 * XMPP over QUIC (XEP-0467) on Deno's QUIC API.
 *
 * - {@linkcode dialQuic} / {@linkcode openQuicConnection}: connect to a
 *   `quic` candidate (UDP 443 by default), SNI = the JID domain, ALPN
 *   `xmpp-client` / `xmpp-server` required, never STARTTLS; opt-in 0-RTT
 *   with only the stream header in early data.
 * - {@linkcode QuicConnection}: several independent XML streams over one
 *   connection, opened by either side.
 * - {@linkcode listenQuic}: accept connections and hand out each stream a
 *   client opens as a `Duplex`, with the shape of the Direct TLS listener.
 * - {@linkcode createQuicEndpoint}: one UDP endpoint shared by dials (0-RTT
 *   needs it).
 * - {@linkcode QuicError}: transport failures (TLS refusals are `TlsError`s).
 *
 * Deno's QUIC API needs `--unstable-net`. Without it this module still
 * imports (nothing touches `Deno.QuicEndpoint` or `Deno.connectQuic` at load
 * time) and every entry point throws `Deno.errors.NotSupported` naming the
 * flag ({@linkcode assertQuicSupported}).
 *
 * @example
 * ```ts
 * import { quicSupported } from "./mod.ts";
 * console.log(quicSupported() ? "QUIC available" : "run with --unstable-net");
 * ```
 *
 * @module
 */

export * from "./support.ts";
export * from "./quic_error.ts";
export * from "./endpoint.ts";
export * from "./connection.ts";
export * from "./dial.ts";
export * from "./listen.ts";
// The contracts this module's functions take and return.
export type {
  Address,
  ConnectionInfo,
  Duplex,
  PeerCertificate,
  TransportKind,
} from "../stream/duplex.ts";
export type {
  Candidate,
  CandidateSource,
  CandidateTransport,
} from "../srv/candidate.ts";
export type { CertificateKey } from "../tls/server.ts";
export type { TrustOptions } from "../tls/policy.ts";
