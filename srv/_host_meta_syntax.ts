/**
 * Syntax checks host-meta parsing needs: DNS domain names (to A-labels), IP
 * address literals, and strict base64 of SHA-256 digests.
 *
 * @module
 */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4_PART = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4 = new RegExp(`^${IPV4_PART}(\\.${IPV4_PART}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
/** Characters that must not appear in a bare domain name we hand to `URL`. */
const NOT_IN_DOMAIN = /[\s/\\?#@:[\]%]/u;

/**
 * Convert a DNS domain name (U-labels allowed) to lower-case A-labels, with
 * one trailing dot removed.
 *
 * Only LDH host names are accepted: no IP literals, ports, paths,
 * underscores, empty labels, labels over 63 octets or names over 253.
 *
 * @example
 * ```ts
 * import { toALabel } from "./_host_meta_syntax.ts";
 * console.log(toALabel("Bücher.Example.", "domain")); // "xn--bcher-kva.example"
 * ```
 *
 * @param name The name.
 * @param what What the name is, for the error message.
 * @returns The name as A-labels.
 * @throws {TypeError} If `name` is not a string or not a valid DNS name.
 */
export function toALabel(name: string, what: string): string {
  if (typeof name !== "string") {
    throw new TypeError(`${what} must be a string, got ${typeof name}`);
  }
  const bad = (why: string): never => {
    throw new TypeError(
      `${what} ${JSON.stringify(name)} is not a valid domain name: ${why}`,
    );
  };
  let s = name.endsWith(".") ? name.slice(0, -1) : name;
  if (s === "") bad("empty");
  if (NOT_IN_DOMAIN.test(s)) {
    bad("it contains a character not allowed in a domain name");
  }
  if (isIpLiteral(s)) bad("it is an IP address");
  try {
    s = new URL(`https://${s}/`).hostname;
  } catch {
    bad("IDNA conversion failed");
  }
  if (isIpLiteral(s) || s.startsWith("[")) bad("it is an IP address");
  if (s.length > 253) bad("longer than 253 octets");
  for (const label of s.split(".")) {
    if (!LABEL.test(label)) bad(`invalid label ${JSON.stringify(label)}`);
  }
  if (/^[0-9]+$/.test(s.slice(s.lastIndexOf(".") + 1))) {
    bad("the last label is numeric");
  }
  return s;
}

/**
 * Whether `s` is an IPv4 dotted quad or an IPv6 literal (without brackets
 * or zone).
 *
 * @example
 * ```ts
 * import { isIpLiteral } from "./_host_meta_syntax.ts";
 * console.log(isIpLiteral("192.0.2.1"), isIpLiteral("2001:db8::1")); // true true
 * ```
 *
 * @param s Any string.
 * @returns `true` for an IP address literal.
 */
export function isIpLiteral(s: string): boolean {
  return IPV4.test(s) || isIpv6(s);
}

function isIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45 || !s.includes(":")) return false;
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const groups = (part: string): string[] | null => {
    if (part === "") return [];
    const g = part.split(":");
    return g.some((x) => x === "") ? null : g;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return false;
  const all = [...head, ...tail];
  let count = all.length;
  // An embedded IPv4 address may only be the last group, and counts as two.
  for (let i = 0; i < all.length; i++) {
    if (HEX_GROUP.test(all[i])) continue;
    if (i === all.length - 1 && IPV4.test(all[i])) {
      count++;
      continue;
    }
    return false;
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}

/**
 * Check an IP address literal from a host-meta `ips` list and return its
 * canonical text (IPv6 compressed and lower-case, RFC 5952 style).
 *
 * @example
 * ```ts
 * import { canonicalIp } from "./_host_meta_syntax.ts";
 * console.log(canonicalIp("FD00:0:0::1")); // "fd00::1"
 * ```
 *
 * @param s The address text.
 * @returns The canonical address.
 * @throws {TypeError} If `s` is not an IPv4 dotted quad or IPv6 literal
 * (brackets, zones, ports, leading zeros in IPv4 parts are refused), or is
 * an unspecified address (`0.0.0.0/8`, `::`), which some systems would
 * treat as this host.
 */
export function canonicalIp(s: string): string {
  if (typeof s !== "string") {
    throw new TypeError(`IP address must be a string, got ${typeof s}`);
  }
  if (IPV4.test(s)) {
    if (s.startsWith("0.")) {
      throw new TypeError(`IP address ${s} is unspecified (0.0.0.0/8)`);
    }
    return s;
  }
  if (!isIpv6(s)) {
    throw new TypeError(
      `${JSON.stringify(s)} is not an IPv4 or IPv6 address literal`,
    );
  }
  const canonical = new URL(`https://[${s}]/`).hostname.slice(1, -1);
  if (canonical === "::") {
    throw new TypeError(`IP address ${s} is the unspecified address`);
  }
  return canonical;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Decode canonical, padded, standard-alphabet base64 (RFC 4648 §4). No
 * whitespace, no URL-safe alphabet, no missing padding, no non-zero pad bits.
 *
 * @example
 * ```ts
 * import { decodeBase64Strict } from "./_host_meta_syntax.ts";
 * console.log(decodeBase64Strict("AQID")); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 *
 * @param s The base64 text.
 * @returns The bytes.
 * @throws {TypeError} If `s` is not canonical base64.
 */
export function decodeBase64Strict(s: string): Uint8Array {
  if (typeof s !== "string") {
    throw new TypeError(`base64 must be a string, got ${typeof s}`);
  }
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new TypeError(`${JSON.stringify(s)} is not padded standard base64`);
  }
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const v = [0, 1, 2, 3].map((k) =>
      s[i + k] === "=" ? 0 : B64.indexOf(s[i + k])
    );
    const n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    const bytes = [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
    const take = i + 4 === s.length ? 3 - pad : 3;
    for (let k = 0; k < take; k++) out[o++] = bytes[k];
    if (i + 4 === s.length && pad > 0 && bytes.slice(take).some((b) => b)) {
      throw new TypeError(
        `${JSON.stringify(s)} is not canonical base64 (non-zero padding bits)`,
      );
    }
  }
  return out;
}

/**
 * Encode bytes as padded standard base64.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "./_host_meta_syntax.ts";
 * console.log(encodeBase64(new Uint8Array([1, 2, 3]))); // "AQID"
 * ```
 *
 * @param bytes The bytes.
 * @returns The base64 text.
 */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) |
      (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
    s += i + 2 < bytes.length ? B64[n & 63] : "=";
  }
  return s;
}
