/**
 * Endpoint discovery: from a JID domain to the ordered connection
 * candidates the racer dials (RFC 6120 §3.2, XEP-0368, RFC 2782).
 *
 * 1. The domain (or the domainpart of a JID) is converted to an A-label.
 * 2. Both SRV services, `_xmpp-client._tcp` (STARTTLS) and
 *    `_xmpps-client._tcp` (Direct TLS) — or the `-server` pair for s2s —
 *    are looked up at the same time, never one after the other.
 * 3. All usable records of both services go into ONE RFC 2782 order
 *    (XEP-0368: priorities and weights mixed across the services); the same
 *    host and port under both services stays as two candidates, one per
 *    transport.
 * 4. The `.` target: a lone `.` in `_xmpp-*` says the domain offers no XMPP
 *    service, so there is no fallback at all; a lone `.` in `_xmpps-*` only
 *    says there is no Direct TLS; a `.` among other records is skipped.
 *    Records with port 0 are skipped too.
 * 5. No records for either service (NXDOMAIN or NODATA): the RFC 6120
 *    §3.2.2 fallback, the domain itself on port 5222 (5269 for s2s) with
 *    STARTTLS. When records exist but none can be used, or every one fails
 *    when dialled, there is no fallback (RFC 6120 §3.2.1).
 * 6. One lookup failing (SERVFAIL, timeout) is survived when the other has
 *    usable records; otherwise {@linkcode DiscoveryError} names both.
 * 7. Opt-in extras: host-meta candidates from an injected source (merged
 *    into the same RFC 2782 order by default), and the XEP-0467 default QUIC
 *    endpoint, UDP 443 at the domain, which goes LAST, after every SRV,
 *    host-meta and fallback candidate.
 * 8. At most `maxCandidates` (default 32) are returned.
 *
 * Every candidate has `serverName` = the JID domain (A-label) for SNI and
 * the certificate check, never the SRV target, and `alpn` = `xmpp-client`
 * or `xmpp-server`.
 *
 * An SRV record that came with `addresses` (the target's A/AAAA records
 * from the additional section of the same DNS answer, see
 * {@linkcode SrvRecord.addresses}) gives a candidate whose `ips` are those
 * addresses, IPv6 and IPv4 as given (the racer interleaves the families),
 * so the racer dials them without a second lookup: one DNS round trip
 * instead of two. This is safe because the certificate is still checked
 * against the JID domain (`serverName`), so a wrong address cannot
 * impersonate the server.
 *
 * @example
 * ```ts
 * import { discover } from "./discover.ts";
 * import { memoryResolver } from "./memory_resolver.ts";
 *
 * const resolver = memoryResolver({
 *   "_xmpp-client._tcp.example.org": {
 *     srv: [{ priority: 10, weight: 1, port: 5222, target: "xmpp.example.org" }],
 *   },
 *   "_xmpps-client._tcp.example.org": {
 *     srv: [{ priority: 5, weight: 1, port: 443, target: "tls.example.org" }],
 *   },
 * });
 * const { candidates } = await discover("user@example.org", { resolver, seed: 1 });
 * for (const c of candidates) {
 *   console.log(c.transport, c.host, c.port, c.serverName);
 * }
 * // directtls tls.example.org 443 example.org
 * // starttls xmpp.example.org 5222 example.org
 * ```
 *
 * @module
 */

import { mergeHostMeta } from "./host_meta.ts";
import type { Candidate } from "./candidate.ts";
import { dnsResolver } from "./dns_resolver.ts";
import { ResolveError, type Resolver, type SrvRecord } from "./resolver.ts";
import { rfc2782Order, seededRandom } from "./rfc2782.ts";
import { serviceNames, type StreamKind } from "./services.ts";
import { hostToALabel, jidDomainToALabel } from "./_idna.ts";

/** The RFC 6120 §3.2.2 fallback port for client-to-server streams. */
export const FALLBACK_PORT_CLIENT = 5222;
/** The RFC 6120 §3.2.2 fallback port for server-to-server streams. */
export const FALLBACK_PORT_SERVER = 5269;
/** The XEP-0467 default QUIC port (UDP). */
export const QUIC_DEFAULT_PORT = 443;

/** Options of {@linkcode HostMetaSource.merge}. */
export interface MergeOptions {
  /** The random source of this discovery (seeded when `seed` was given). */
  random: () => number;
}

/**
 * Where {@linkcode discover} gets host-meta candidates from (XEP-0487,
 * XEP-0156), and how it merges them with the SRV candidates. This is the
 * integration point for `srv/host_meta.ts`; discovery itself fetches
 * nothing over HTTP.
 */
export interface HostMetaSource {
  /**
   * Fetch the host-meta candidates of a domain. Runs in parallel with the
   * SRV lookups. A rejection is recorded in {@linkcode Discovery.hostMeta}
   * and does not fail the discovery.
   *
   * @param domain The JID domain, as an A-label.
   * @param kind `"client"` or `"server"`.
   * @param signal Aborted when the discovery is aborted or times out.
   */
  fetch(
    domain: string,
    kind: StreamKind,
    signal: AbortSignal,
  ): Promise<Candidate[]>;
  /**
   * Merge the usable SRV candidates (not yet ordered) with the host-meta
   * candidates into the final order. Default {@linkcode mergeHostMeta}:
   * as XEP-0487 §2.2 says, a Host Meta 2 document replaces the legacy SRV
   * results (each set is ordered by RFC 2782; they are never mixed).
   * {@linkcode mergeByRfc2782} mixes both in one order instead.
   *
   * @param srv The SRV candidates, in the order the answers listed them.
   * @param hostMeta The candidates `fetch` returned.
   * @param options The random source to use.
   */
  merge?(
    srv: Candidate[],
    hostMeta: Candidate[],
    options: MergeOptions,
  ): Candidate[];
}

/** Options for {@linkcode discover}. */
export interface DiscoverOptions {
  /**
   * `"client"` (c2s: `_xmpp-client`/`_xmpps-client`, port 5222, ALPN
   * `xmpp-client`) or `"server"` (s2s: `_xmpp-server`/`_xmpps-server`,
   * port 5269, ALPN `xmpp-server`).
   *
   * @default {"client"}
   */
  kind?: StreamKind;
  /**
   * The resolver for the SRV lookups.
   *
   * @default {dnsResolver()}
   */
  resolver?: Resolver;
  /**
   * The random source for the RFC 2782 draw, a function giving numbers in
   * `[0, 1)`. Give this or `seed`, not both.
   *
   * @default {Math.random}
   */
  random?: () => number;
  /** Seed for a reproducible order: `random` becomes `seededRandom(seed)`. */
  seed?: number;
  /**
   * At most this many candidates are returned (the first ones in order).
   *
   * @default {32}
   */
  maxCandidates?: number;
  /**
   * Add the XEP-0467 default QUIC candidate, UDP 443 at the domain, when
   * discovery found no QUIC candidate. It goes after all other candidates
   * and counts toward `maxCandidates`. Not added when `_xmpp-*` declared
   * no service (`.`).
   *
   * @default {false}
   */
  quic?: boolean;
  /** Also ask host-meta (an HTTPS request, so opt-in). Default: no. */
  hostMeta?: HostMetaSource;
  /** Aborting it rejects the discovery with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Milliseconds the whole discovery may take. Lookups still pending then
   * count as failed (a timeout), like a lookup the resolver gave up on.
   *
   * @default {10000}
   */
  timeout?: number;
}

/** How one SRV service lookup went. */
export interface ServiceLookup {
  /** The service, such as `_xmpps-client._tcp`. */
  service: string;
  /** The name looked up, such as `_xmpps-client._tcp.example.org`. */
  name: string;
  /** The transport its records mean. */
  transport: "starttls" | "directtls";
  /**
   * - `"records"`: it has records (some may have been skipped);
   * - `"unavailable"`: every record has the target `.` (no such service);
   * - `"empty"`: NXDOMAIN or NODATA;
   * - `"error"`: the lookup failed; see `error`.
   */
  status: "records" | "unavailable" | "empty" | "error";
  /** The records as answered, in answer order; `[]` unless `"records"` or `"unavailable"`. */
  records: SrvRecord[];
  /** Why the lookup failed, for `"error"`: usually a {@linkcode ResolveError}. */
  error?: Error;
  /** Milliseconds the lookup took. */
  ms: number;
}

/** A record that did not become a candidate, and why. */
export interface SkippedRecord {
  /** The service it came from, such as `_xmpp-client._tcp`. */
  service: string;
  /** The record. */
  record: SrvRecord;
  /** `"no-service"` for the target `.`, `"port-0"` for port 0. */
  reason: "no-service" | "port-0";
}

/** How the host-meta fetch went (present when host-meta was asked). */
export interface HostMetaOutcome {
  /** `"candidates"`, `"empty"` or `"error"`. */
  status: "candidates" | "empty" | "error";
  /** What `fetch` returned; `[]` on error. */
  candidates: Candidate[];
  /** Why the fetch failed, for `"error"`. */
  error?: Error;
}

/** The result of {@linkcode discover}. */
export interface Discovery {
  /** The JID domain as an A-label (the SNI name of every candidate). */
  domain: string;
  /** The stream kind discovered for. */
  kind: StreamKind;
  /** The candidates, in the order to dial them; never empty. */
  candidates: Candidate[];
  /** Both SRV lookups, for tools that show them. */
  lookups: {
    /** `_xmpp-client._tcp` or `_xmpp-server._tcp`. */
    starttls: ServiceLookup;
    /** `_xmpps-client._tcp` or `_xmpps-server._tcp`. */
    directTls: ServiceLookup;
  };
  /** Records that were skipped (target `.` among others, port 0). */
  skipped: SkippedRecord[];
  /** How many candidates were cut off by `maxCandidates`. */
  overCap: number;
  /** The host-meta outcome, when `hostMeta` was given. */
  hostMeta?: HostMetaOutcome;
}

/** Why {@linkcode discover} found nothing to connect to. */
export type DiscoveryErrorCode =
  /** `_xmpp-*` has the target `.` and nothing else is usable. */
  | "no-service"
  /** A lookup failed and the other gave nothing usable. */
  | "lookup-failed"
  /** Records exist, but each has the target `.` or port 0. */
  | "no-usable-records";

/**
 * Discovery found no candidate. `lookups` shows both SRV lookups; when any
 * failed, `cause` is an `AggregateError` of their errors.
 *
 * @example
 * ```ts
 * import { discover, DiscoveryError } from "./discover.ts";
 * import { memoryResolver } from "./memory_resolver.ts";
 *
 * const resolver = memoryResolver({
 *   "_xmpp-client._tcp.example.org": { fail: "server failure" },
 *   "_xmpps-client._tcp.example.org": { fail: "server failure" },
 * });
 * try {
 *   await discover("example.org", { resolver });
 * } catch (e) {
 *   if (e instanceof DiscoveryError) console.log(e.code); // "lookup-failed"
 * }
 * ```
 */
export class DiscoveryError extends Error {
  /** What went wrong. */
  readonly code: DiscoveryErrorCode;
  /** The JID domain as an A-label. */
  readonly domain: string;
  /** Both SRV lookups. */
  readonly lookups: Discovery["lookups"];

  /**
   * Make a discovery error. The message is built from the code and the
   * lookups.
   *
   * @param domain The JID domain (A-label).
   * @param lookups Both lookups.
   * @param options The code.
   */
  constructor(
    domain: string,
    lookups: Discovery["lookups"],
    options: { code: DiscoveryErrorCode },
  ) {
    const errors = [lookups.starttls, lookups.directTls]
      .map((l) => l.error)
      .filter((e): e is Error => e !== undefined);
    super(
      describe(domain, lookups, options.code),
      errors.length > 0
        ? { cause: new AggregateError(errors, "SRV lookups failed") }
        : {},
    );
    this.name = "DiscoveryError";
    this.code = options.code;
    this.domain = domain;
    this.lookups = lookups;
  }
}

function describe(
  domain: string,
  lookups: Discovery["lookups"],
  code: DiscoveryErrorCode,
): string {
  const each = [lookups.starttls, lookups.directTls].map((l) =>
    `${l.name}: ${outcomeText(l)}`
  ).join("; ");
  switch (code) {
    case "no-service":
      return `${domain} declares no XMPP service (${each}); ` +
        `check the domain name, or connect to a known host and port directly`;
    case "lookup-failed":
      return `cannot discover the XMPP service of ${domain}: ${each}; ` +
        `check the network and the name server, or retry later`;
    case "no-usable-records":
      return `${domain} publishes SRV records, but none can be used ` +
        `(${each}); its DNS needs fixing, or connect to a known host and port directly`;
  }
}

function outcomeText(l: ServiceLookup): string {
  switch (l.status) {
    case "error":
      return `lookup failed (${l.error?.message})`;
    case "empty":
      return "no records";
    case "unavailable":
      return 'target "." (service not offered)';
    case "records": {
      const usable = l.records.filter((r) => !isRoot(r.target) && r.port !== 0)
        .length;
      return `${l.records.length} record(s), ${usable} usable`;
    }
  }
}

/**
 * An alternative {@linkcode HostMetaSource.merge}: one RFC 2782 order over
 * the SRV and host-meta candidates together (priorities and weights mixed,
 * as XEP-0368 mixes the two SRV services). The default is
 * {@linkcode mergeHostMeta}, which follows XEP-0487 §2.2 instead.
 *
 * @example
 * ```ts
 * import { mergeByRfc2782 } from "./discover.ts";
 * import { seededRandom } from "./rfc2782.ts";
 * import type { Candidate } from "./candidate.ts";
 *
 * const base = {
 *   serverName: "example.org",
 *   alpn: "xmpp-client",
 *   weight: 0,
 * } as const;
 * const srv: Candidate[] = [
 *   { ...base, transport: "starttls", host: "a.example.org", port: 5222, priority: 10, source: "srv" },
 * ];
 * const links: Candidate[] = [
 *   { ...base, transport: "quic", host: "q.example.org", port: 443, priority: 5, source: "host-meta" },
 * ];
 * const merged = mergeByRfc2782(srv, links, { random: seededRandom(1) });
 * console.log(merged.map((c) => c.transport)); // ["quic", "starttls"]
 * ```
 *
 * @param srv The SRV candidates.
 * @param hostMeta The host-meta candidates.
 * @param options The random source.
 * @returns Both, in one RFC 2782 order.
 */
export function mergeByRfc2782(
  srv: Candidate[],
  hostMeta: Candidate[],
  options: MergeOptions,
): Candidate[] {
  return rfc2782Order([...srv, ...hostMeta], { random: options.random });
}

/**
 * Discover the connection candidates of an XMPP domain. See the module
 * documentation for the rules.
 *
 * Accepts a domain or a JID: the domainpart (between `@` and the first
 * `/`) is used, so `"user@example.org/phone"` discovers `example.org`.
 * Internationalized domains are converted to A-labels (UTS #46).
 *
 * @example
 * ```ts
 * import { discover } from "./discover.ts";
 *
 * // Uses the system's DNS, so it is only defined here.
 * export async function show(jid: string): Promise<void> {
 *   const d = await discover(jid, { quic: true, timeout: 5000 });
 *   for (const c of d.candidates) {
 *     console.log(`${c.transport} ${c.host}:${c.port} (${c.source})`);
 *   }
 * }
 * ```
 *
 * @param domain A domain (`"example.org"`, `"Bücher.example"`) or a JID.
 * @param options Kind, resolver, randomness, limits, opt-ins, abort.
 * @returns The candidates, both lookups and what was skipped.
 * @throws {TypeError} For an invalid domain or IP address, an invalid
 *   kind, both `random` and `seed`, or a resolver or host-meta source that
 *   is not one.
 * @throws {RangeError} For a `maxCandidates` or `timeout` out of range.
 * @throws {DiscoveryError} (rejects) When nothing can be connected to.
 */
export async function discover(
  domain: string,
  options: DiscoverOptions = {},
): Promise<Discovery> {
  const aLabel = jidDomainToALabel(domain);
  const kind = options.kind ?? "client";
  const services = serviceNames(kind);
  const maxCandidates = options.maxCandidates ?? 32;
  if (!Number.isInteger(maxCandidates) || maxCandidates < 1) {
    throw new RangeError(
      `maxCandidates must be a positive integer, got ${String(maxCandidates)}`,
    );
  }
  const timeout = options.timeout ?? 10_000;
  if (!(typeof timeout === "number" && timeout > 0)) {
    throw new RangeError(
      `timeout must be a positive number of milliseconds, got ${
        String(timeout)
      }`,
    );
  }
  if (options.random !== undefined && options.seed !== undefined) {
    throw new TypeError(
      "pass either random or seed, not both (seed makes random = seededRandom(seed))",
    );
  }
  if (options.random !== undefined && typeof options.random !== "function") {
    throw new TypeError(
      "random must be a function returning a number in [0, 1), like Math.random",
    );
  }
  const random = options.random ??
    (options.seed !== undefined ? seededRandom(options.seed) : Math.random);
  const resolver = options.resolver ?? dnsResolver();
  if (typeof resolver?.srv !== "function") {
    throw new TypeError(
      "resolver must implement Resolver (srv, a, aaaa); use dnsResolver() or memoryResolver(zone)",
    );
  }
  const hostMeta = options.hostMeta;
  if (hostMeta !== undefined && typeof hostMeta?.fetch !== "function") {
    throw new TypeError(
      "hostMeta must have a fetch(domain, kind, signal) method returning candidates",
    );
  }
  const caller = options.signal;
  caller?.throwIfAborted();
  const timer = AbortSignal.timeout(timeout);
  const signal = caller ? AbortSignal.any([caller, timer]) : timer;
  const alpn = kind === "client" ? "xmpp-client" : "xmpp-server";

  const lookup = async (
    service: string,
    transport: ServiceLookup["transport"],
  ): Promise<ServiceLookup> => {
    const name = `${service}.${aLabel}`;
    const start = performance.now();
    const done = (
      status: ServiceLookup["status"],
      records: SrvRecord[],
      error?: Error,
    ): ServiceLookup => ({
      service,
      name,
      transport,
      status,
      records,
      ...(error ? { error } : {}),
      ms: performance.now() - start,
    });
    try {
      const records = await resolver.srv(name, { signal });
      if (records.length === 0) return done("empty", []);
      const status = records.every((r) => isRoot(r.target))
        ? "unavailable"
        : "records";
      return done(status, records);
    } catch (e) {
      if (caller?.aborted) throw caller.reason;
      let error: Error;
      if (e instanceof ResolveError) error = e;
      else if (timer.aborted) {
        error = new ResolveError(
          name,
          "SRV",
          `no answer within the discovery timeout of ${timeout} ms`,
          { cause: e },
        );
      } else {
        error = new ResolveError(
          name,
          "SRV",
          e instanceof Error ? e.message : String(e),
          { cause: e },
        );
      }
      return done("error", [], error);
    }
  };

  const hostMetaFetch = hostMeta
    ? Promise.resolve()
      .then(() => hostMeta.fetch(aLabel, kind, signal))
      .then(
        (candidates): HostMetaOutcome => {
          if (!Array.isArray(candidates)) {
            return {
              status: "error",
              candidates: [],
              error: new TypeError(
                "hostMeta.fetch must resolve to an array of candidates",
              ),
            };
          }
          return {
            status: candidates.length > 0 ? "candidates" : "empty",
            candidates,
          };
        },
        (e): HostMetaOutcome => ({
          status: "error",
          candidates: [],
          error: e instanceof Error ? e : new Error(String(e)),
        }),
      )
    : undefined;

  // Both lookups (and host-meta) at once, never one after the other.
  const [starttls, directTls, hostMetaOutcome] = await Promise.all([
    lookup(services.starttls, "starttls"),
    lookup(services.directTls, "directtls"),
    hostMetaFetch,
  ]);
  caller?.throwIfAborted();
  const lookups = { starttls, directTls };

  const skipped: SkippedRecord[] = [];
  const srvCandidates: Candidate[] = [];
  for (const l of [starttls, directTls]) {
    if (l.status !== "records") continue;
    for (const record of l.records) {
      if (isRoot(record.target)) {
        skipped.push({ service: l.service, record, reason: "no-service" });
      } else if (record.port === 0) {
        skipped.push({ service: l.service, record, reason: "port-0" });
      } else {
        srvCandidates.push({
          transport: l.transport,
          host: hostToALabel(record.target.replace(/\.$/, "")),
          port: record.port,
          serverName: aLabel,
          alpn,
          priority: record.priority,
          weight: record.weight,
          source: "srv",
          ...(Array.isArray(record.addresses) && record.addresses.length > 0
            ? { ips: [...record.addresses] }
            : {}),
        });
      }
    }
  }

  const candidates = hostMeta
    ? (hostMeta.merge ?? mergeHostMeta)(
      srvCandidates,
      hostMetaOutcome?.candidates ?? [],
      { random },
    )
    : rfc2782Order(srvCandidates, { random });

  const noService = starttls.status === "unavailable";
  // RFC 6120 §3.2.2: no SRV records at all (a "." for Direct TLS only says
  // there is no Direct TLS), and no lookup failed.
  // Host-meta endpoints count as records found.
  const noRecords = starttls.status === "empty" &&
    (directTls.status === "empty" || directTls.status === "unavailable") &&
    !(hostMetaOutcome?.candidates.length);
  if (noRecords) {
    candidates.push({
      transport: "starttls",
      host: aLabel,
      port: kind === "client" ? FALLBACK_PORT_CLIENT : FALLBACK_PORT_SERVER,
      serverName: aLabel,
      alpn,
      priority: 0,
      weight: 0,
      source: "fallback",
    });
  }

  if (candidates.length === 0) {
    const failed = starttls.status === "error" || directTls.status === "error";
    const code: DiscoveryErrorCode = noService && !failed
      ? "no-service"
      : failed
      ? "lookup-failed"
      : "no-usable-records";
    throw new DiscoveryError(aLabel, lookups, { code });
  }

  if (
    options.quic && !noService &&
    !candidates.some((c) => c.transport === "quic")
  ) {
    candidates.push({
      transport: "quic",
      host: aLabel,
      port: QUIC_DEFAULT_PORT,
      serverName: aLabel,
      alpn,
      priority: 0,
      weight: 0,
      source: "quic-default",
    });
  }

  const overCap = Math.max(0, candidates.length - maxCandidates);
  return {
    domain: aLabel,
    kind,
    candidates: candidates.slice(0, maxCandidates),
    lookups,
    skipped,
    overCap,
    ...(hostMetaOutcome ? { hostMeta: hostMetaOutcome } : {}),
  };
}

function isRoot(target: string): boolean {
  return target === "." || target === "";
}
