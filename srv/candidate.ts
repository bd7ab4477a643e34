/**
 * A connection candidate: one way to reach an XMPP service, found by
 * discovery (SRV, host-meta, RFC 6120 fallback) and handed to the racer.
 *
 * @module
 */

/** How to connect to a candidate. */
export type CandidateTransport = "starttls" | "directtls" | "quic";

/** Where a candidate came from. */
export type CandidateSource =
  /** An `_xmpp-*` or `_xmpps-*` SRV record. */
  | "srv"
  /** RFC 6120 §3.2.2 fallback: no SRV records, so the domain itself. */
  | "fallback"
  /** A XEP-0487 host-meta2 or XEP-0156 host-meta link. */
  | "host-meta"
  /** XEP-0467's default QUIC port (UDP 443 at the domain), opted into. */
  | "quic-default";

/** One way to reach the service, in the order discovery ranked it. */
export interface Candidate {
  /** STARTTLS over TCP, Direct TLS over TCP, or QUIC. */
  transport: CandidateTransport;
  /** The host to connect to: an SRV target or link host (A-label), or an IP. */
  host: string;
  /** The port (TCP, or UDP for QUIC). */
  port: number;
  /**
   * The name for SNI and for the certificate check: always the JID domain as
   * an A-label, never the SRV target.
   */
  serverName: string;
  /** The ALPN protocol to offer: `xmpp-client` or `xmpp-server`. */
  alpn: "xmpp-client" | "xmpp-server";
  /** RFC 2782 priority (lower first); 0 when the source has none. */
  priority: number;
  /** RFC 2782 weight; 0 when the source has none. */
  weight: number;
  /** Where the candidate came from. */
  source: CandidateSource;
  /** Addresses to use instead of resolving `host`, when the source gave some (host-meta `ips`). */
  ips?: string[];
  /** Base64 SHA-256 SPKI pins from host-meta, when given. */
  pins?: string[];
}
