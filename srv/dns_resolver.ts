/**
 * The default {@linkcode Resolver}: `Deno.resolveDns`, optionally against a
 * given name server, with a timeout per lookup.
 *
 * What `Deno.resolveDns` (Deno 2.9.6) reports, measured against Knot DNS:
 *
 * | name server answer          | `Deno.resolveDns`                              | this resolver                    |
 * | --------------------------- | ---------------------------------------------- | -------------------------------- |
 * | records                     | the records                                    | the records                      |
 * | NXDOMAIN (rcode 3)          | throws `Deno.errors.NotFound`                  | `[]`                             |
 * | NODATA (rcode 0, no answer) | throws `Deno.errors.NotFound`                  | `[]`                             |
 * | SERVFAIL (rcode 2)          | throws `Deno.errors.NotFound`                  | `[]` (see below)                 |
 * | REFUSED (rcode 5)           | throws `Deno.errors.NotFound`                  | `[]` (see below)                 |
 * | no answer                   | throws `Deno.errors.TimedOut` after about 15 s | `ResolveError` after `timeout` |
 *
 * Deno gives the same error, with the same message, for all four negative
 * answers, so SERVFAIL and REFUSED cannot be told apart from "no such
 * records" here and count as `[]`. Timeouts, aborts by the per-lookup
 * timeout, unreachable name servers and any other error become a
 * {@linkcode ResolveError} whose `cause` is the original error.
 *
 * @example
 * ```ts
 * import { dnsResolver } from "./dns_resolver.ts";
 *
 * // Needs the network (and --allow-net), so it is only defined here.
 * export async function showSrv(): Promise<void> {
 *   const resolver = dnsResolver({
 *     nameServer: { ipAddr: "9.9.9.9", port: 53 },
 *     timeout: 3000,
 *   });
 *   console.log(await resolver.srv("_xmpp-client._tcp.jabber.org"));
 * }
 * ```
 *
 * @module
 */

import {
  type LookupOptions,
  ResolveError,
  type Resolver,
  type SrvRecord,
} from "./resolver.ts";
import { hostToALabel } from "./_idna.ts";

/** Options for {@linkcode dnsResolver}. */
export interface DnsResolverOptions {
  /**
   * The name server to ask (UDP, then TCP for truncated answers). Default:
   * the system's resolvers (`/etc/resolv.conf` and the like).
   */
  nameServer?: {
    /** IPv4 or IPv6 address of the name server. */
    ipAddr: string;
    /**
     * Its port.
     *
     * @default {53}
     */
    port?: number;
  };
  /**
   * Milliseconds one lookup may take before it fails with a
   * {@linkcode ResolveError}.
   *
   * @default {5000}
   */
  timeout?: number;
}

/**
 * Make a resolver that uses `Deno.resolveDns` (needs `--allow-net`).
 * NXDOMAIN and NODATA give `[]`; other failures a {@linkcode ResolveError}
 * (see the module documentation for what Deno can tell apart). An abort of
 * the caller's signal rejects with the signal's reason. Trailing dots are
 * removed from SRV targets, and targets are given as A-labels (Deno shows
 * IDN labels as Unicode: `xmpp.bücher.example`); the root target stays
 * `"."`.
 *
 * @example
 * ```ts
 * import { dnsResolver } from "./dns_resolver.ts";
 * const resolver = dnsResolver({ timeout: 2000 });
 *
 * // Needs the network, so it is only defined here.
 * export async function addressesOf(host: string): Promise<string[]> {
 *   const [v4, v6] = await Promise.all([resolver.a(host), resolver.aaaa(host)]);
 *   return [...v6, ...v4];
 * }
 * ```
 *
 * @param options Name server (default: the system's) and per-lookup timeout
 *   (default 5000 ms).
 * @returns The resolver.
 * @throws {TypeError} For a name server without a string `ipAddr`.
 * @throws {RangeError} For a timeout that is not a positive number, or a
 *   port outside `[1, 65535]`.
 */
export function dnsResolver(options: DnsResolverOptions = {}): Resolver {
  const timeoutMs = options.timeout ?? 5000;
  if (!(typeof timeoutMs === "number" && timeoutMs > 0)) {
    throw new RangeError(
      `timeout must be a positive number of milliseconds, got ${
        String(timeoutMs)
      }`,
    );
  }
  let nameServer: { ipAddr: string; port: number } | undefined;
  if (options.nameServer !== undefined) {
    const { ipAddr, port = 53 } = options.nameServer;
    if (typeof ipAddr !== "string" || ipAddr === "") {
      throw new TypeError(
        'nameServer.ipAddr must be an IP address string such as "127.0.0.1"',
      );
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(
        `nameServer.port must be an integer in [1, 65535], got ${String(port)}`,
      );
    }
    nameServer = { ipAddr, port };
  }

  async function query<T>(
    name: string,
    type: "SRV" | "A" | "AAAA",
    options: LookupOptions,
  ): Promise<T[]> {
    const caller = options.signal;
    caller?.throwIfAborted();
    const timer = AbortSignal.timeout(timeoutMs);
    const signal = caller ? AbortSignal.any([caller, timer]) : timer;
    try {
      // The overloads of Deno.resolveDns are per record type.
      const resolve = Deno.resolveDns as (
        query: string,
        recordType: string,
        options?: Deno.ResolveDnsOptions,
      ) => Promise<T[]>;
      return await resolve(name, type, { nameServer, signal });
    } catch (e) {
      if (caller?.aborted) throw caller.reason;
      if (e instanceof Deno.errors.NotFound) return [];
      if (timer.aborted) {
        throw new ResolveError(
          name,
          type,
          `no answer within ${timeoutMs} ms${where()}`,
          { cause: e },
        );
      }
      if (e instanceof Deno.errors.TimedOut) {
        throw new ResolveError(name, type, `no answer${where()}`, {
          cause: e,
        });
      }
      throw new ResolveError(
        name,
        type,
        `${e instanceof Error ? e.message : String(e)}${where()}`,
        { cause: e },
      );
    }
  }

  function where(): string {
    return nameServer
      ? ` from ${nameServer.ipAddr} port ${nameServer.port}`
      : " from the system resolver";
  }

  return {
    async srv(name, options = {}): Promise<SrvRecord[]> {
      const records = await query<Deno.SrvRecord>(name, "SRV", options);
      return records.map((r) => ({
        priority: r.priority,
        weight: r.weight,
        port: r.port,
        target: hostToALabel(stripDot(r.target)),
      }));
    },
    a: (name, options = {}) => query<string>(name, "A", options),
    aaaa: (name, options = {}) => query<string>(name, "AAAA", options),
  };
}

/** `"host.example."` → `"host.example"`; `"."` and `""` stay as they are. */
function stripDot(target: string): string {
  return target.length > 1 && target.endsWith(".")
    ? target.slice(0, -1)
    : target;
}
