/**
 * The resolver interface discovery and racing use, so that a custom name
 * server (or an in-memory zone in tests) applies to the whole chain: SRV
 * lookups and the A/AAAA lookups of their targets.
 *
 * @module
 */

/** One SRV record (RFC 2782). */
export interface SrvRecord {
  /** Lower is tried first. */
  priority: number;
  /** Relative chance within one priority. */
  weight: number;
  /** The port. */
  port: number;
  /** The target host name, without a trailing dot; `"."` or `""` means "no service". */
  target: string;
  /**
   * IPv4 and IPv6 addresses of `target` that came in the same DNS answer's
   * additional section (RFC 2782 lets clients use them), in the order
   * given; absent when there were none. Discovery dials them without
   * looking `target` up again. The certificate is still checked against
   * the JID domain, so a wrong address cannot impersonate the server.
   */
  addresses?: string[];
}

/** Options for one lookup. */
export interface LookupOptions {
  /** Abort the lookup. */
  signal?: AbortSignal;
}

/**
 * DNS lookups. Each method resolves to the records, or to `[]` when the name
 * does not exist (NXDOMAIN) or has no records of that type (NODATA). Any
 * other failure (SERVFAIL, timeout, refused) rejects with a
 * {@linkcode ResolveError}.
 */
export interface Resolver {
  /** SRV records of a name such as `_xmpp-client._tcp.example.org`. */
  srv(name: string, options?: LookupOptions): Promise<SrvRecord[]>;
  /** IPv4 addresses of a host name. */
  a(name: string, options?: LookupOptions): Promise<string[]>;
  /** IPv6 addresses of a host name. */
  aaaa(name: string, options?: LookupOptions): Promise<string[]>;
}

/**
 * A lookup that failed for a reason other than "no such records".
 *
 * @example
 * ```ts
 * import { ResolveError } from "./resolver.ts";
 * const e = new ResolveError("_xmpp-client._tcp.example.org", "SRV", "server failure");
 * console.log(e.message); // "SRV lookup of _xmpp-client._tcp.example.org failed: server failure"
 * ```
 */
export class ResolveError extends Error {
  /** The name looked up. */
  readonly query: string;
  /** The record type. */
  readonly recordType: string;

  /**
   * Make a resolve error.
   *
   * @param query The name looked up.
   * @param recordType `"SRV"`, `"A"` or `"AAAA"`.
   * @param reason What went wrong.
   * @param options The underlying cause.
   */
  constructor(
    query: string,
    recordType: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${recordType} lookup of ${query} failed: ${reason}`, options);
    this.name = "ResolveError";
    this.query = query;
    this.recordType = recordType;
  }
}
