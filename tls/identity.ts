/**
 * Server identity (RFC 6125, as RFC 6120 §13.7.2 and RFC 7590 apply it to
 * XMPP): is a certificate valid for the JID domain?
 *
 * The reference identifier is always the JID domain (as an A-label), never
 * the SRV target, a host-meta link host or an IP address. Presented
 * identifiers, in the order RFC 6125 §6 checks them:
 *
 * - DNS-ID (subjectAltName dNSName): compared case-insensitively as
 *   A-labels (U-labels on either side are converted first). A wildcard
 *   `*` is honoured only as the whole leftmost label, covers exactly one
 *   label, and needs at least two labels after it: `*.example.org`
 *   matches `chat.example.org` but not `example.org` or
 *   `a.b.example.org`; `x*.example.org`, `*x.example.org`,
 *   `chat.*.example.org`, `*.*.example.org` and `*.org` never match.
 *   There is no public suffix list, so `*.co.uk` is not refused (a CA must
 *   not issue it in the first place).
 * - SRV-ID (RFC 4985 SRVName otherName) for the service: `_xmpp-client.` or
 *   `_xmpps-client.` plus the domain (`-server` for s2s); no wildcards.
 * - XmppAddr (RFC 6120 §13.7.1.4) equal to the domain.
 * - CN-ID, only when the certificate has no subjectAltName extension at all
 *   (RFC 6125 §6.4.4; `commonName: false` turns this last resort off, as RFC
 *   9525 does). A CN is then matched like a DNS-ID.
 *
 * iPAddress entries are never compared with a domain.
 *
 * @module
 */

import { type CertificateFields, parseCertificate } from "./_x509.ts";
import { TlsError } from "./tls_error.ts";

/**
 * The identifiers a certificate presents (see {@linkcode presentedIdentifiers}).
 *
 * @example
 * ```ts
 * import type { PresentedIdentifiers } from "./identity.ts";
 * const ids: PresentedIdentifiers = {
 *   dnsNames: ["example.org", "*.example.org"],
 *   hasSubjectAltName: true,
 * };
 * console.log(ids.commonNames ?? []); // []
 * ```
 */
export interface PresentedIdentifiers {
  /** subjectAltName dNSName entries. */
  dnsNames: string[];
  /**
   * Whether the certificate has a subjectAltName extension (turns the CN
   * fallback off).
   *
   * @default {dnsNames.length > 0}
   */
  hasSubjectAltName?: boolean;
  /**
   * SRVName entries such as `_xmpp-client.example.org`.
   *
   * @default {[]}
   */
  srvNames?: string[];
  /**
   * XmppAddr entries.
   *
   * @default {[]}
   */
  xmppAddrs?: string[];
  /**
   * subjectAltName iPAddress entries (never matched against a domain).
   *
   * @default {[]}
   */
  ipAddresses?: string[];
  /**
   * The subject's commonName values.
   *
   * @default {[]}
   */
  commonNames?: string[];
}

/**
 * Options for {@linkcode verifyServerIdentity} and
 * {@linkcode matchServerIdentity}.
 *
 * @example
 * ```ts
 * import type { IdentityOptions } from "./identity.ts";
 * const options: IdentityOptions = { service: "xmpp-server" };
 * console.log(options.commonName ?? true); // true
 * ```
 */
export interface IdentityOptions {
  /**
   * The XMPP service, for SRV-ID matching: `"xmpp-client"` accepts
   * `_xmpp-client.` and `_xmpps-client.` SRV-IDs, `"xmpp-server"` the
   * `-server` ones.
   *
   * @default {"xmpp-client"}
   */
  service?: "xmpp-client" | "xmpp-server";
  /**
   * Fall back to the subject CN when the certificate has no subjectAltName
   * extension (RFC 6125 §6.4.4). `false` never looks at the CN (RFC 9525).
   *
   * @default {true}
   */
  commonName?: boolean;
}

/**
 * Which presented identifier matched.
 *
 * @example
 * ```ts
 * import { matchServerIdentity } from "./identity.ts";
 * const m = matchServerIdentity({ dnsNames: ["*.example.org"] }, "chat.example.org");
 * console.log(m?.type, m?.presented); // dns-id *.example.org
 * ```
 */
export interface IdentityMatch {
  /** The identifier type. */
  type: "dns-id" | "srv-id" | "xmppaddr" | "cn-id";
  /** The presented identifier, as written in the certificate. */
  presented: string;
}

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^[0-9.]+$/;
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** A host name as a lower-case A-label, or `undefined` if it is not one. */
function toALabel(name: string): string | undefined {
  let n = name.endsWith(".") ? name.slice(0, -1) : name;
  if (n === "" || /[\s/:?#%\\[\]@<>^|*]/u.test(n)) return undefined;
  if (ASCII.test(n)) {
    n = n.toLowerCase();
  } else {
    try {
      n = new URL(`http://${n}/`).hostname;
    } catch {
      return undefined;
    }
  }
  if (n.length > 253) return undefined;
  for (const label of n.split(".")) {
    if (!LDH_LABEL.test(label)) return undefined;
  }
  return n;
}

/**
 * The reference identifier for `serverName`: the JID domain as a lower-case
 * A-label, without a trailing dot. U-labels are converted (UTS #46, as the
 * WHATWG URL parser does).
 *
 * @example
 * ```ts
 * import { normalizeServerName } from "./identity.ts";
 * console.log(normalizeServerName("Bücher.Example.")); // "xn--bcher-kva.example"
 * ```
 *
 * @param serverName The JID domain.
 * @returns Its A-label form.
 * @throws {TypeError} If it is not a string, is an IP address, or is not a
 *   valid host name.
 */
export function normalizeServerName(serverName: string): string {
  if (typeof serverName !== "string") {
    throw new TypeError(
      `serverName must be the JID domain as a string, got ${typeof serverName}`,
    );
  }
  const bare = serverName.replace(/^\[|\]$/g, "");
  if (IPV4.test(bare) || bare.includes(":")) {
    throw new TypeError(
      `serverName ${JSON.stringify(serverName)} is an IP address; ` +
        `pass the JID domain (the certificate is checked against it, never against an IP)`,
    );
  }
  const name = toALabel(serverName);
  if (name === undefined) {
    throw new TypeError(
      `serverName ${JSON.stringify(serverName)} is not a valid domain; ` +
        `pass the JID domain, such as "example.org"`,
    );
  }
  return name;
}

/**
 * Whether a presented DNS-ID (or a CN used as one) matches the reference
 * domain, with the RFC 6125 §6.4.3 wildcard rules described in the module
 * documentation.
 *
 * @example
 * ```ts
 * import { matchesDnsId } from "./identity.ts";
 * console.log(matchesDnsId("chat.example.org", "*.example.org")); // true
 * console.log(matchesDnsId("example.org", "*.example.org")); // false
 * console.log(matchesDnsId("chat.example.org", "c*.example.org")); // false
 * ```
 *
 * @param reference The JID domain (any case; U-labels are converted).
 * @param presented The identifier from the certificate.
 * @returns Whether they match.
 */
export function matchesDnsId(reference: string, presented: string): boolean {
  const ref = toALabel(reference);
  if (ref === undefined || typeof presented !== "string") return false;
  if (!presented.includes("*")) return toALabel(presented) === ref;
  const p = presented.endsWith(".") ? presented.slice(0, -1) : presented;
  const labels = p.split(".");
  // The wildcard is the whole leftmost label, and the only one.
  if (labels[0] !== "*") return false;
  const rest = labels.slice(1);
  // At least two labels after it: never *.org, never a bare *.
  if (rest.length < 2) return false;
  const restName = toALabel(rest.join("."));
  if (restName === undefined) return false;
  const refLabels = ref.split(".");
  // Exactly one label covered.
  if (refLabels.length !== rest.length + 1) return false;
  return refLabels.slice(1).join(".") === restName;
}

/**
 * The identifiers presented by a DER certificate.
 *
 * @example
 * ```ts
 * import { presentedIdentifiers } from "./identity.ts";
 *
 * const pem = await Deno.readTextFile(
 *   new URL("../tests/testdata/localhost.pem", import.meta.url),
 * );
 * const der = Uint8Array.from(
 *   atob(pem.replace(/-----[A-Z ]+-----|\s/g, "")),
 *   (c) => c.charCodeAt(0),
 * );
 * console.log(presentedIdentifiers(der).dnsNames); // [ "localhost", "example.test" ]
 * ```
 *
 * @param certDer One X.509 certificate in DER.
 * @returns Its DNS-IDs, SRV-IDs, XmppAddrs, IP addresses and CNs.
 * @throws {TypeError} If `certDer` is not a well-formed certificate.
 */
export function presentedIdentifiers(
  certDer: Uint8Array,
): Required<PresentedIdentifiers> {
  const f: CertificateFields = parseCertificate(certDer);
  return {
    dnsNames: f.dnsNames,
    hasSubjectAltName: f.hasSubjectAltName,
    srvNames: f.srvNames,
    xmppAddrs: f.xmppAddrs,
    ipAddresses: f.ipAddresses,
    commonNames: f.commonNames,
  };
}

/**
 * Find the presented identifier that makes a certificate valid for
 * `serverName`, or `undefined` if none does.
 *
 * @example
 * ```ts
 * import { matchServerIdentity } from "./identity.ts";
 *
 * // CN-ID is ignored when the certificate has a subjectAltName.
 * const ids = { dnsNames: ["other.example"], commonNames: ["example.org"] };
 * console.log(matchServerIdentity(ids, "example.org")); // undefined
 * console.log(
 *   matchServerIdentity({ dnsNames: [], srvNames: ["_xmpp-client.example.org"] }, "example.org")
 *     ?.type,
 * ); // "srv-id"
 * ```
 *
 * @param ids The presented identifiers.
 * @param serverName The JID domain.
 * @param options The service for SRV-IDs and the CN fallback.
 * @returns The match, or `undefined`.
 * @throws {TypeError} If `serverName` is not a valid domain (see
 *   {@linkcode normalizeServerName}).
 */
export function matchServerIdentity(
  ids: PresentedIdentifiers,
  serverName: string,
  options: IdentityOptions = {},
): IdentityMatch | undefined {
  const ref = normalizeServerName(serverName);
  const service = options.service ?? "xmpp-client";
  if (service !== "xmpp-client" && service !== "xmpp-server") {
    throw new TypeError(
      `service must be "xmpp-client" or "xmpp-server", got ${String(service)}`,
    );
  }
  for (const presented of ids.dnsNames) {
    if (matchesDnsId(ref, presented)) return { type: "dns-id", presented };
  }
  const suffix = service.slice("xmpp".length); // "-client" / "-server"
  for (const presented of ids.srvNames ?? []) {
    const dot = presented.indexOf(".");
    if (dot < 0) continue;
    const svc = presented.slice(0, dot).toLowerCase();
    if (svc !== `_xmpp${suffix}` && svc !== `_xmpps${suffix}`) continue;
    const name = presented.slice(dot + 1);
    if (!name.includes("*") && toALabel(name) === ref) {
      return { type: "srv-id", presented };
    }
  }
  for (const presented of ids.xmppAddrs ?? []) {
    if (!presented.includes("*") && toALabel(presented) === ref) {
      return { type: "xmppaddr", presented };
    }
  }
  const hasSan = ids.hasSubjectAltName ??
    (ids.dnsNames.length > 0 || (ids.srvNames?.length ?? 0) > 0 ||
      (ids.xmppAddrs?.length ?? 0) > 0 || (ids.ipAddresses?.length ?? 0) > 0);
  const cns = ids.commonNames ?? [];
  // RFC 6125 §6.4.4: only without any subjectAltName; one CN, unambiguous.
  if ((options.commonName ?? true) && !hasSan && cns.length === 1) {
    if (matchesDnsId(ref, cns[0])) return { type: "cn-id", presented: cns[0] };
  }
  return undefined;
}

function describe(ids: Required<PresentedIdentifiers>): string {
  const parts = [
    ...ids.dnsNames.map((n) => `DNS:${n}`),
    ...ids.srvNames.map((n) => `SRV:${n}`),
    ...ids.xmppAddrs.map((n) => `XmppAddr:${n}`),
    ...ids.ipAddresses.map((n) => `IP:${n}`),
  ];
  if (!ids.hasSubjectAltName) {
    parts.push(...ids.commonNames.map((n) => `CN=${n}`));
  }
  return parts.length > 0 ? parts.join(", ") : "no names at all";
}

/**
 * Check that a DER certificate is valid for the JID domain `serverName`,
 * returning the identifier that matched.
 *
 * @example
 * ```ts
 * import { verifyServerIdentity } from "./identity.ts";
 * import { TlsError } from "./tls_error.ts";
 *
 * const pem = await Deno.readTextFile(
 *   new URL("../tests/testdata/target.test.pem", import.meta.url),
 * );
 * const der = Uint8Array.from(
 *   atob(pem.replace(/-----[A-Z ]+-----|\s/g, "")),
 *   (c) => c.charCodeAt(0),
 * );
 * console.log(verifyServerIdentity(der, "xmpp.target.test").type); // "dns-id"
 * try {
 *   verifyServerIdentity(der, "target.test"); // the JID domain
 * } catch (e) {
 *   console.log((e as TlsError).code); // "name-mismatch"
 * }
 * ```
 *
 * @param certDer The peer's leaf certificate in DER.
 * @param serverName The JID domain.
 * @param options The service for SRV-IDs and the CN fallback.
 * @returns The match.
 * @throws {TlsError} `name-mismatch` if no presented identifier matches.
 * @throws {TypeError} If `serverName` is not a valid domain or `certDer` is
 *   not a certificate.
 */
export function verifyServerIdentity(
  certDer: Uint8Array,
  serverName: string,
  options: IdentityOptions = {},
): IdentityMatch {
  const ref = normalizeServerName(serverName);
  const ids = presentedIdentifiers(certDer);
  const match = matchServerIdentity(ids, ref, options);
  if (match !== undefined) return match;
  throw new TlsError(
    "name-mismatch",
    `the certificate presented for ${ref} is not valid for that domain ` +
      `(it names ${describe(ids)}); it is checked against the JID domain, ` +
      `never the SRV target or IP connected to: the server needs a certificate ` +
      `that names ${ref}`,
    { serverName: ref },
  );
}
