/**
 * The default {@linkcode Resolver}: a small, strict DNS client speaking the
 * wire protocol (UDP, then TCP for truncated answers) to a given name
 * server or to the system's, or `Deno.resolveDns` where that is not
 * possible; a timeout per lookup.
 *
 * Which transport (`transport: "auto"`, the default):
 * - with `nameServer`: the wire client, if `--allow-net` already covers the
 *   server and the local socket; otherwise `Deno.resolveDns`;
 * - without: the wire client over the `nameserver` lines of
 *   `/etc/resolv.conf` (in order, the next one on a timeout or failure) if
 *   read permission for the file is already granted (checked with
 *   `Deno.permissions.querySync`, so no prompt ever appears), it has a
 *   usable line and `--allow-net` already covers those servers and the
 *   local socket; otherwise `Deno.resolveDns` with the system's
 *   configuration.
 *
 * `transport: "wire"` always uses the wire client (lookups fail with a
 * {@linkcode ResolveError} saying why when it cannot), `"deno"` always
 * `Deno.resolveDns`.
 *
 * What the two transports report, measured with Deno 2.9.6 against Knot
 * DNS and the test name server of `dns_resolver_test.ts`:
 *
 * | name server answer          | `Deno.resolveDns`                              | wire client                               |
 * | --------------------------- | ---------------------------------------------- | ----------------------------------------- |
 * | records                     | the records                                    | the records                               |
 * | NXDOMAIN (rcode 3)          | throws `Deno.errors.NotFound`                  | `[]`                                      |
 * | NODATA (rcode 0, no answer) | throws `Deno.errors.NotFound`                  | `[]`                                      |
 * | SERVFAIL (rcode 2)          | throws `Deno.errors.NotFound`                  | `ResolveError` (server failure, SERVFAIL) |
 * | REFUSED (rcode 5)           | throws `Deno.errors.NotFound`                  | `ResolveError` (query refused, REFUSED)   |
 * | truncated (TC)              | asks again over TCP                            | asks again over TCP                       |
 * | no answer                   | throws `Deno.errors.TimedOut` after about 15 s | `ResolveError` after `timeout`            |
 *
 * The wire client also rejects malformed answers with a `ResolveError`
 * naming the fault (see `_dns_wire.ts` for the rules), sends each query up
 * to three times within the time allowed, and drops datagrams from other
 * addresses or ports and with other ids.
 *
 * Through `Deno.resolveDns`, NotFound becomes `[]`: SERVFAIL and REFUSED
 * cannot be told apart from "no such records" there, so they count as no
 * records (and discovery may fall back to the domain). That is the
 * limitation of the `"deno"` transport and of the fallback.
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

import { isIP } from "node:net";
import {
  type LookupOptions,
  ResolveError,
  type Resolver,
  type SrvRecord,
} from "./resolver.ts";
import { hostToALabel } from "./_idna.ts";
import {
  DnsResponseError,
  encodeQuery,
  queryName,
  type WireRecord,
  type WireRecordType,
} from "./_dns_wire.ts";
import {
  describeServer,
  exchange,
  missingNetPermission,
  type NameServer,
} from "./_dns_transport.ts";
import { RESOLV_CONF, systemNameServers } from "./_resolv_conf.ts";

/** How {@linkcode dnsResolver} asks: see the module documentation. */
export type DnsTransport = "auto" | "wire" | "deno";

/** Options for {@linkcode dnsResolver}. */
export interface DnsResolverOptions {
  /**
   * The name server to ask (UDP, then TCP for truncated answers). Default:
   * the system's (the `nameserver` lines of `resolv.conf`, or whatever
   * `Deno.resolveDns` uses).
   */
  nameServer?: {
    /** IPv4 or IPv6 address of the name server (no zone id). */
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
   * {@linkcode ResolveError}. With several system name servers, the time
   * left is shared evenly among those not yet asked.
   *
   * @default {5000}
   */
  timeout?: number;
  /**
   * `"wire"`: the wire client (can tell SERVFAIL and REFUSED from no
   * records); `"deno"`: `Deno.resolveDns` (cannot); `"auto"`: the wire
   * client when the name server is known and permissions are already
   * granted, else `Deno.resolveDns`.
   *
   * @default {"auto"}
   */
  transport?: DnsTransport;
  /**
   * The file with the system's name servers, read once per resolver (at its
   * first lookup) when no `nameServer` is given.
   *
   * @default {"/etc/resolv.conf"}
   */
  resolvConf?: string;
}

/**
 * Make a resolver (needs `--allow-net`). NXDOMAIN and NODATA give `[]`;
 * other failures a {@linkcode ResolveError} (see the module documentation
 * for what each transport can tell apart). An abort of the caller's signal
 * rejects with the signal's reason. Trailing dots are removed from SRV
 * targets, and targets are given as A-labels (lower case); the root target
 * is `"."`.
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
 * @param options Name server (default: the system's), per-lookup timeout
 *   (default 5000 ms), transport (default `"auto"`) and `resolv.conf` path
 *   (default `/etc/resolv.conf`).
 * @returns The resolver. Its lookups reject with a `TypeError` for a name
 *   that cannot be a DNS name (an empty label, a label over 63 bytes, over
 *   255 bytes in all).
 * @throws {TypeError} For a name server whose `ipAddr` is not an IP
 *   address, an unknown transport or a `resolvConf` that is not a string.
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
  const transport = options.transport ?? "auto";
  if (!["auto", "wire", "deno"].includes(transport)) {
    throw new TypeError(
      `transport must be "auto", "wire" or "deno", got ${
        JSON.stringify(String(transport))
      }`,
    );
  }
  const resolvConf = options.resolvConf ?? RESOLV_CONF;
  if (typeof resolvConf !== "string" || resolvConf === "") {
    throw new TypeError("resolvConf must be a file path string");
  }
  let nameServer: NameServer | undefined;
  if (options.nameServer !== undefined) {
    const { ipAddr, port = 53 } = options.nameServer;
    if (typeof ipAddr !== "string" || isIP(ipAddr) === 0) {
      throw new TypeError(
        `nameServer.ipAddr must be an IP address such as "127.0.0.1", got ${
          JSON.stringify(String(ipAddr))
        }`,
      );
    }
    if (ipAddr.includes("%")) {
      throw new TypeError(
        `nameServer.ipAddr must not have a zone id, got ${
          JSON.stringify(ipAddr)
        }`,
      );
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(
        `nameServer.port must be an integer in [1, 65535], got ${String(port)}`,
      );
    }
    nameServer = { ipAddr, port };
  }

  /** The name servers for the wire client, or why not (memoized). */
  let system: Promise<{ servers?: NameServer[]; reason?: string }> | undefined;
  function servers(): Promise<{ servers?: NameServer[]; reason?: string }> {
    if (nameServer) return Promise.resolve({ servers: [nameServer] });
    return system ??= systemNameServers(resolvConf);
  }

  /** The wire client's servers, or `undefined` for `Deno.resolveDns`. */
  async function route(
    name: string,
    type: WireRecordType,
  ): Promise<NameServer[] | undefined> {
    if (transport === "deno") return undefined;
    const found = await servers();
    if (transport === "wire") {
      if (!found.servers) {
        throw new ResolveError(name, type, `no name server: ${found.reason}`);
      }
      return found.servers;
    }
    const usable = found.servers?.filter((s) => !missingNetPermission(s));
    return usable?.length ? usable : undefined;
  }

  async function wire<T extends WireRecordType>(
    name: string,
    type: T,
    servers: NameServer[],
    caller: AbortSignal | undefined,
  ): Promise<WireRecord<T>[]> {
    const deadline = performance.now() + timeoutMs;
    const errors: DnsResponseError[] = [];
    for (let i = 0; i < servers.length; i++) {
      const left = i === 0 ? timeoutMs : deadline - performance.now();
      if (left <= 0) break;
      const query = encodeQuery(name, type);
      try {
        return await exchange(servers[i], query, {
          timeout: left / (servers.length - i),
          signal: caller,
        });
      } catch (e) {
        if (caller?.aborted) throw caller.reason;
        if (!(e instanceof DnsResponseError)) throw e;
        errors.push(e);
      }
    }
    if (errors.length === 1 && servers.length === 1) throw errors[0];
    const untried = servers.slice(errors.length).map(describeServer);
    const reasons = errors.map((e) => e.reason);
    if (untried.length) {
      reasons.push(`not asked within ${timeoutMs} ms: ${untried.join(", ")}`);
    }
    throw new ResolveError(name, type, reasons.join("; "), {
      cause: new AggregateError(errors, "every name server failed"),
    });
  }

  async function deno<T>(
    name: string,
    type: WireRecordType,
    caller: AbortSignal | undefined,
  ): Promise<T[]> {
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
      ? ` from ${describeServer(nameServer)}`
      : " from the system resolver";
  }

  async function lookup<T extends WireRecordType>(
    name: string,
    type: T,
    options: LookupOptions,
  ): Promise<WireRecord<T>[]> {
    const caller = options.signal;
    caller?.throwIfAborted();
    const asked = queryName(name);
    const via = await route(name, type);
    caller?.throwIfAborted();
    if (via) return await wire(asked, type, via, caller);
    if (type !== "SRV") return await deno<WireRecord<T>>(asked, type, caller);
    const records = await deno<Deno.SrvRecord>(asked, type, caller);
    return records.map((r) => ({
      priority: r.priority,
      weight: r.weight,
      port: r.port,
      target: hostToALabel(stripDot(r.target)),
    })) as WireRecord<T>[];
  }

  return {
    srv: (name, options = {}): Promise<SrvRecord[]> =>
      lookup(name, "SRV", options),
    a: (name, options = {}) => lookup(name, "A", options),
    aaaa: (name, options = {}) => lookup(name, "AAAA", options),
  };
}

/** `"host.example."` → `"host.example"`; `"."` and `""` stay as they are. */
function stripDot(target: string): string {
  return target.length > 1 && target.endsWith(".")
    ? target.slice(0, -1)
    : target;
}
