/**
 * The one TLS policy every transport shares (RFC 7590), TLS over any duplex
 * on both sides, and Direct TLS (XEP-0368).
 *
 * - Policy ({@linkcode TLS_POLICY}): TLS 1.2 minimum, 1.3 preferred, no
 *   compression, ECDHE + AEAD suites only, system roots plus extra CAs
 *   ({@linkcode trustAnchors}), re-checked after each handshake
 *   ({@linkcode checkNegotiated}).
 * - Identity ({@linkcode verifyServerIdentity}): RFC 6125 against the JID
 *   domain only, with strict wildcard rules; SRV-ID and XmppAddr too.
 * - Pins ({@linkcode verifyPins}): SHA-256 SPKI pins on top of the checks.
 * - {@linkcode tlsConnect} / {@linkcode tlsAccept}: secure any `Duplex`
 *   as client or server (`node:tls` over a bridge), with SNI, ALPN,
 *   certificates per virtual host, client certificates, timeouts and
 *   AbortSignals. Every refusal is a {@linkcode TlsError} with a `code`.
 * - {@linkcode dialDirectTls} / {@linkcode listenDirectTls}: Direct TLS over
 *   TCP, with no-delay.
 * - {@linkcode alpnFor}: the ALPN protocol for a stream namespace.
 *
 * @example
 * ```ts
 * import { alpnFor, matchesDnsId, TLS_POLICY } from "./mod.ts";
 * console.log(alpnFor("jabber:client")); // "xmpp-client"
 * console.log(TLS_POLICY.minVersion); // "TLSv1.2"
 * console.log(matchesDnsId("chat.example.org", "*.example.org")); // true
 * ```
 *
 * @module
 */

export * from "./alpn.ts";
export * from "./tls_error.ts";
export * from "./policy.ts";
export * from "./identity.ts";
export * from "./pins.ts";
export * from "./client.ts";
export * from "./server.ts";
export * from "./direct_tls.ts";
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
export * from "./throwaway_ca.ts";
