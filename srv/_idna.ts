/**
 * The JID domain as an A-label, for DNS and SNI: the domainpart of a bare
 * domain or a full JID, converted with UTS #46 (the WHATWG URL host parser,
 * nontransitional, as browsers do) and checked to be a DNS host name.
 *
 * @module
 */

/** Characters that end or break a host in a URL, or are not in a domain. */
const FORBIDDEN = /[\s/:?#%\\[\]@<>^|]/u;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^[0-9.]+$/;

/**
 * The A-label form of the domain of `input`, which is either a domain
 * (`"example.org"`, `"Bücher.example"`) or a JID (`"user@example.org"`,
 * `"user@example.org/resource"`, `"example.org/resource"`): the
 * domainpart is what is between the `@` (if any) and the first `/` (if
 * any). One trailing dot is removed (RFC 7622 §3.2). The result is lower
 * case.
 *
 * @param input A domain or a JID.
 * @returns The domain as an A-label, such as `"xn--bcher-kva.example"`.
 * @throws {TypeError} If there is no domain, it is an IP address, or it
 *   is not a valid internationalized host name.
 */
export function jidDomainToALabel(input: string): string {
  if (typeof input !== "string") {
    throw new TypeError(
      `domain must be a string such as "example.org", got ${typeof input}`,
    );
  }
  const slash = input.indexOf("/");
  const bare = slash === -1 ? input : input.slice(0, slash);
  const at = bare.indexOf("@");
  let domain = at === -1 ? bare : bare.slice(at + 1);
  if (domain.endsWith(".")) domain = domain.slice(0, -1);
  const bad = (why: string) =>
    new TypeError(
      `invalid XMPP domain ${JSON.stringify(input)}: ${why}; ` +
        `pass a domain such as "example.org" or a JID such as "user@example.org"`,
    );
  if (domain === "") throw bad("the domain is empty");
  if (FORBIDDEN.test(domain)) {
    throw bad("it contains a character not allowed in a domain");
  }
  let host: string;
  try {
    host = new URL(`http://${domain}/`).hostname;
  } catch {
    throw bad("it is not a valid internationalized domain name");
  }
  if (IPV4.test(host)) {
    throw new TypeError(
      `${JSON.stringify(input)} is an IP address, which has no SRV records; ` +
        `connect to it directly instead of discovering it`,
    );
  }
  if (host.length > 253) throw bad("it is longer than 253 characters");
  for (const label of host.split(".")) {
    if (!LDH_LABEL.test(label)) {
      throw bad(
        `label ${JSON.stringify(label)} is not a host name label ` +
          `(letters, digits and inner hyphens, 1 to 63 characters)`,
      );
    }
  }
  return host;
}

/**
 * A host name from DNS (an SRV target, a link host) in A-label form: ASCII
 * names are only lower-cased; names with non-ASCII characters (resolvers
 * such as Deno's show IDN labels as Unicode) are converted with UTS #46.
 * A name that cannot be converted is returned lower-cased as it is, so that
 * connecting to it fails later with a clear error rather than here.
 *
 * @param host A host name, without a trailing dot.
 * @returns The A-label form.
 */
export function hostToALabel(host: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(host)) return host.toLowerCase();
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return host.toLowerCase();
  }
}
