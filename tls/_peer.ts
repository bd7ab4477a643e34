/**
 * The peer's certificate chain as `node:tls` reports it, turned into DER
 * and into the {@linkcode PeerCertificate} of `ConnectionInfo`.
 *
 * @module
 */

import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import type { PeerCertificate } from "../stream/duplex.ts";
import { parseCertificate } from "./_x509.ts";

/** Format a node certificate subject object as `"CN=a, O=b"`. */
function formatSubject(subject: unknown): string | undefined {
  if (subject === null || typeof subject !== "object") return undefined;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(subject as Record<string, unknown>)) {
    for (const value of Array.isArray(v) ? v : [v]) parts.push(`${k}=${value}`);
  }
  return parts.length > 0 ? parts.join(", ") : undefined;
}

/**
 * The DER certificates of the peer's chain (leaf first, then each issuer the
 * engine knows, up to the anchor), or `[]` if the peer sent none.
 */
export function peerChain(socket: TLSSocket): Uint8Array[] {
  let cert: DetailedPeerCertificate | undefined;
  try {
    cert = socket.getPeerCertificate(true) as DetailedPeerCertificate;
  } catch {
    return [];
  }
  const out: Uint8Array[] = [];
  const seen = new Set<unknown>();
  while (
    cert && typeof cert === "object" && !seen.has(cert) && out.length < 10
  ) {
    seen.add(cert);
    const raw = cert.raw as Uint8Array | undefined;
    if (!(raw instanceof Uint8Array) || raw.byteLength === 0) break;
    const der = new Uint8Array(raw);
    if (out.some((d) => sameBytes(d, der))) break;
    out.push(der);
    cert = cert.issuerCertificate;
  }
  return out;
}

/** Whether two byte arrays are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The leaf as a {@linkcode PeerCertificate}, or `undefined` without one. */
export function peerCertificate(
  socket: TLSSocket,
  leaf: Uint8Array | undefined,
): PeerCertificate | undefined {
  if (leaf === undefined) return undefined;
  const out: PeerCertificate = { raw: leaf };
  try {
    const cert = socket.getPeerCertificate(false);
    const subject = formatSubject(cert?.subject);
    if (subject !== undefined) out.subject = subject;
    if (typeof cert?.valid_to === "string") {
      const validTo = new Date(cert.valid_to);
      if (!Number.isNaN(validTo.getTime())) out.validTo = validTo;
    }
  } catch { /* details are optional */ }
  try {
    out.dnsNames = parseCertificate(leaf).dnsNames;
  } catch { /* a malformed leaf never got this far; keep raw */ }
  return out;
}
