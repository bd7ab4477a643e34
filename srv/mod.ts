/**
 * Endpoint discovery: turning a JID domain into connection candidates.
 *
 * - {@linkcode discover}: both SRV services at once (`_xmpp-client._tcp`
 *   and `_xmpps-client._tcp`, or the `-server` pair), merged into one RFC
 *   2782 order as XEP-0368 asks, with the `.` target rules, the RFC 6120
 *   fallback, opt-in QUIC and host-meta hooks; every candidate carries the
 *   JID domain as its SNI name.
 * - {@linkcode rfc2782Order} and {@linkcode seededRandom}: the weighted
 *   order on its own, reproducible when seeded.
 * - Resolvers: {@linkcode dnsResolver} (a strict DNS wire client over UDP
 *   and TCP that tells SERVFAIL from "no records", with the system's name
 *   servers or an explicit one, per-lookup timeout; falls back to
 *   `Deno.resolveDns` when it cannot) and {@linkcode memoryResolver} (an
 *   in-memory zone for tests, with per-type failures, hangs and held
 *   answers).
 * - Host-meta (opt-in): {@linkcode fetchHostMeta}, {@linkcode parseHostMeta}
 *   and {@linkcode createHostMetaSource} for XEP-0487 host-meta2 (and
 *   XEP-0156 links), HTTPS only, size-limited and strict; a Host Meta 2
 *   document replaces SRV results as XEP-0487 §2.2 says
 *   ({@linkcode mergeHostMeta}); {@linkcode spkiSha256} computes pins.
 * - Racing: {@linkcode race} dials the ordered candidates RFC 8305 style
 *   (attempt delay, per-attempt timeout, abort, every loser closed), each
 *   candidate's A and AAAA addresses interleaved
 *   ({@linkcode resolveAddresses}) by the same resolver.
 * - {@linkcode serviceNames}, the `Candidate` and `Resolver` contracts.
 *
 * @example
 * ```ts
 * import { discover, memoryResolver, serviceNames } from "./mod.ts";
 * console.log(serviceNames("server").directTls); // "_xmpps-server._tcp"
 *
 * const resolver = memoryResolver({}); // no SRV records at all
 * const { candidates } = await discover("example.org", { resolver });
 * console.log(candidates[0].port, candidates[0].source); // 5222 "fallback"
 * ```
 *
 * @module
 */

export * from "./services.ts";
export * from "./candidate.ts";
export * from "./resolver.ts";
export * from "./rfc2782.ts";
export * from "./dns_resolver.ts";
export * from "./memory_resolver.ts";
export * from "./discover.ts";
export * from "./host_meta.ts";
export * from "./addresses.ts";
export * from "./race.ts";
