/**
 * Verify a client certificate chain against the server's client CAs.
 *
 * Deno 2.9.6's `node:tls` server requests and receives client certificates
 * but does not verify them: a self-signed certificate from nowhere is
 * accepted with `authorized: false` and no `authorizationError` (measured).
 * So the server checks the chain here: a path from the leaf through the
 * certificates the engine reports to one of the client CAs, each signature
 * verified, each certificate valid now, issuers marked as CAs, and the leaf
 * allowed for client authentication (extendedKeyUsage, if present). Proof
 * of possession of the leaf's key is the engine's CertificateVerify check.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { parseCertificate } from "./_x509.ts";
import { sameBytes } from "./_peer.ts";
import { TlsError } from "./tls_error.ts";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EKU = "2.5.29.37.0";
const MAX_DEPTH = 6;

interface Cert {
  der: Uint8Array;
  x509: X509Certificate;
}

function load(der: Uint8Array): Cert | undefined {
  try {
    return { der, x509: new X509Certificate(der) };
  } catch {
    return undefined;
  }
}

function validNow(c: Cert, now: number): boolean {
  return new Date(c.x509.validFrom).getTime() <= now &&
    now <= new Date(c.x509.validTo).getTime();
}

function issued(child: Cert, issuer: Cert): boolean {
  try {
    return child.x509.checkIssued(issuer.x509) &&
      child.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

function isCa(c: Cert): boolean {
  try {
    return parseCertificate(c.der).isCa;
  } catch {
    return false;
  }
}

/**
 * Check that `chain` (leaf first) leads to one of `anchors`.
 *
 * @throws {TlsError} `untrusted-certificate` or `certificate-expired`.
 */
export function verifyClientChain(
  chain: readonly Uint8Array[],
  anchors: readonly Uint8Array[],
): void {
  const fail = (
    code: "untrusted-certificate" | "certificate-expired",
    why: string,
  ) =>
    new TlsError(
      code,
      `the client certificate was refused: ${why}; the client must use a ` +
        `certificate issued by one of this server's client CAs (clientCa)`,
    );
  const leaf = chain[0] === undefined ? undefined : load(chain[0]);
  if (leaf === undefined) {
    throw fail("untrusted-certificate", "it is malformed");
  }
  const now = Date.now();
  let eku: string[] | undefined;
  try {
    eku = parseCertificate(leaf.der).extendedKeyUsage;
  } catch {
    throw fail("untrusted-certificate", "it is malformed");
  }
  if (
    eku !== undefined && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)
  ) {
    throw fail(
      "untrusted-certificate",
      "its extendedKeyUsage does not allow client authentication",
    );
  }
  const roots = anchors.map(load).filter((c): c is Cert => c !== undefined);
  const pool = chain.slice(1).map(load).filter((c): c is Cert =>
    c !== undefined
  );
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (!validNow(current, now)) {
      throw fail(
        "certificate-expired",
        `${
          current.x509.subject.replace(/\n/g, ", ")
        } is expired or not yet valid`,
      );
    }
    if (roots.some((r) => sameBytes(r.der, current.der))) return;
    const root = roots.find((r) => issued(current, r));
    if (root !== undefined) {
      if (!validNow(root, now)) {
        throw fail("certificate-expired", "the issuing CA is expired");
      }
      return;
    }
    const next = pool.find((c) =>
      c !== current && isCa(c) && issued(current, c)
    );
    if (next === undefined) break;
    current = next;
  }
  throw fail(
    "untrusted-certificate",
    "it does not chain to a trusted client CA",
  );
}
