/**
 * Target addresses: the IP addresses one connection candidate is dialled at.
 *
 * A candidate's `host` (an SRV target, a host-meta link host, or the domain
 * itself for the RFC 6120 fallback) is resolved to its A and AAAA addresses
 * with the injected {@linkcode Resolver}, both lookups in parallel, so a
 * custom name server applies to the whole discovery chain. Connections go to
 * these IPs, while SNI and the certificate check keep using the candidate's
 * `serverName` (the JID domain).
 *
 * Nothing is resolved when the candidate already carries addresses (`ips`,
 * from host-meta) or when `host` is an IP literal (`192.0.2.1`, `2001:db8::1`
 * or `[2001:db8::1]`).
 *
 * The addresses come back in the order of RFC 8305 §4: the preferred family
 * (IPv6 by default) first, then alternating families, so that a broken
 * family costs one attempt delay per address rather than all of its
 * addresses. Within a family the resolver's order is kept and duplicates are
 * dropped.
 *
 * Failures degrade: if only the A lookup or only the AAAA lookup fails (or
 * times out), the other family's addresses are used. When neither gives an
 * address, {@linkcode resolveAddresses} rejects with a
 * {@linkcode ResolveError} that names both reasons.
 *
 * {@linkcode resolveAddresses} awaits both lookups (up to `timeout`) before
 * it returns the list. RFC 8305 §3's early start on the first answer is up
 * to the caller: `options.onAnswer` reports each family's answer as it
 * arrives, and `race()` uses it to start dialling at once when the
 * preferred family answers, or a resolution delay after the other one.
 *
 * @module
 */

import type { Candidate } from "./candidate.ts";
import { dnsResolver } from "./dns_resolver.ts";
import { ResolveError } from "./resolver.ts";
import type { Resolver } from "./resolver.ts";

/** An IP address family: 4 for IPv4 (A records), 6 for IPv6 (AAAA records). */
export type AddressFamily = 4 | 6;

/** One IP address to dial. */
export interface TargetAddress {
  /**
   * The IP address, without brackets (`"192.0.2.1"`, `"2001:db8::1"`). Pass
   * it as `hostname` to `Deno.connect()`.
   */
  ip: string;
  /** The address family. */
  family: AddressFamily;
}

/**
 * Options for {@linkcode interleaveAddresses}.
 *
 * @example
 * ```ts
 * import type { InterleaveOptions } from "./addresses.ts";
 * const options: InterleaveOptions = { preferredFamily: 4 };
 * console.log(options.firstFamilyCount ?? 1); // 1
 * ```
 */
export interface InterleaveOptions {
  /**
   * The family to try first. RFC 8305 §4 prefers IPv6.
   *
   * @default {6}
   */
  preferredFamily?: AddressFamily;
  /**
   * How many addresses of the preferred family come before the first one of
   * the other family (RFC 8305's "First Address Family Count"). A positive
   * integer.
   *
   * @default {1}
   */
  firstFamilyCount?: number;
}

/**
 * One family's lookup, as {@linkcode ResolveAddressesOptions.onAnswer}
 * reports it.
 *
 * @example
 * ```ts
 * import type { FamilyAnswer } from "./addresses.ts";
 * const answer: FamilyAnswer = {
 *   family: 6,
 *   outcome: "answered",
 *   addresses: [{ ip: "2001:db8::1", family: 6 }],
 * };
 * console.log(answer.addresses.length); // 1
 * ```
 */
export interface FamilyAnswer {
  /** 4 for the A lookup, 6 for the AAAA lookup. */
  family: AddressFamily;
  /**
   * `"answered"`: the resolver answered, maybe with no records;
   * `"failed"`: it failed, timed out, or answered something that is not an
   * address of the family (`error` says why).
   */
  outcome: "answered" | "failed";
  /** The addresses, in the resolver's order; empty when failed or none. */
  addresses: TargetAddress[];
  /** Why the lookup failed; absent when it answered. */
  error?: unknown;
}

/**
 * Options for {@linkcode resolveAddresses}.
 *
 * @example
 * ```ts
 * import type { ResolveAddressesOptions } from "./addresses.ts";
 * const options: ResolveAddressesOptions = { timeout: 2000 };
 * console.log(options.preferredFamily ?? 6); // 6
 * ```
 */
export interface ResolveAddressesOptions extends InterleaveOptions {
  /**
   * The resolver for the A and AAAA lookups: pass the one discovery used,
   * so that a custom name server applies to the whole chain. Not used when
   * the candidate has `ips` or its `host` is an IP literal.
   *
   * @default {dnsResolver()}
   */
  resolver?: Resolver;
  /**
   * The longest the lookups may take, in milliseconds. A lookup still
   * pending then counts as failed (and the other family is used if it gave
   * addresses). `Infinity` waits as long as the resolver does.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Abort the lookups: the promise then rejects with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called once per family, as soon as that family's lookup answers or
   * fails (so before the promise settles), for RFC 8305 §3's early start.
   * Not called for a lookup cut short by `signal`, nor when nothing is
   * looked up (`ips`, IP literal). If it throws, the promise rejects with
   * that error.
   *
   * @default {undefined}
   */
  onAnswer?: (answer: FamilyAnswer) => void;
}

const DEFAULT_TIMEOUT = 10_000;

const IPV4 =
  /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Whether `text` is an IPv6 address (RFC 4291 text form, optional zone). */
function isIpv6(text: string): boolean {
  const zone = text.indexOf("%");
  if (zone !== -1) {
    if (zone === text.length - 1) return false;
    text = text.slice(0, zone);
  }
  let groups = 8;
  const lastColon = text.lastIndexOf(":");
  if (lastColon !== -1 && text.indexOf(".", lastColon) !== -1) {
    // An embedded IPv4 tail such as ::ffff:192.0.2.1 takes two groups.
    if (!IPV4.test(text.slice(lastColon + 1))) return false;
    text = text.slice(0, lastColon + 1) + "0";
    groups = 7;
  }
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const parts = (half: string) => half === "" ? [] : half.split(":");
  if (halves.length === 1) {
    const all = parts(text);
    return all.length === groups && all.every((g) => HEX_GROUP.test(g));
  }
  const [head, tail] = [parts(halves[0]), parts(halves[1])];
  return head.length + tail.length < groups &&
    [...head, ...tail].every((g) => HEX_GROUP.test(g));
}

/**
 * The family of an IP literal, or `undefined` if `text` is not one (such as
 * a host name). IPv6 may be bracketed and may carry a zone (`fe80::1%eth0`).
 *
 * @example
 * ```ts
 * import { ipFamily } from "./addresses.ts";
 * console.log(ipFamily("192.0.2.1")); // 4
 * console.log(ipFamily("[2001:db8::1]")); // 6
 * console.log(ipFamily("xmpp.example.org")); // undefined
 * ```
 *
 * @param text A host, as it appears in a candidate.
 * @returns `4`, `6` or `undefined`.
 */
export function ipFamily(text: string): AddressFamily | undefined {
  if (typeof text !== "string") return undefined;
  if (IPV4.test(text)) return 4;
  const bare = text.startsWith("[") && text.endsWith("]")
    ? text.slice(1, -1)
    : text;
  return isIpv6(bare) ? 6 : undefined;
}

/** `text` as a {@linkcode TargetAddress}, or `undefined` if not an IP. */
function toTarget(text: string): TargetAddress | undefined {
  const family = ipFamily(text);
  if (family === undefined) return undefined;
  const ip = text.startsWith("[") ? text.slice(1, -1) : text;
  return { ip, family };
}

function checkInterleaveOptions(
  options: InterleaveOptions,
): Required<InterleaveOptions> {
  const { preferredFamily = 6, firstFamilyCount = 1 } = options;
  if (preferredFamily !== 4 && preferredFamily !== 6) {
    throw new TypeError(
      `options.preferredFamily must be 4 or 6, got ${String(preferredFamily)}`,
    );
  }
  if (!Number.isInteger(firstFamilyCount) || firstFamilyCount < 1) {
    throw new RangeError(
      `options.firstFamilyCount must be a positive integer, got ${
        String(firstFamilyCount)
      }`,
    );
  }
  return { preferredFamily, firstFamilyCount };
}

/**
 * Order addresses as RFC 8305 §4 asks: `firstFamilyCount` addresses of the
 * preferred family, then one of the other family, then alternating one by
 * one; when one family runs out, the rest of the other follows. The order
 * within each family is kept and duplicates are dropped.
 *
 * @example
 * ```ts
 * import { interleaveAddresses } from "./addresses.ts";
 * const ordered = interleaveAddresses([
 *   { ip: "192.0.2.1", family: 4 },
 *   { ip: "192.0.2.2", family: 4 },
 *   { ip: "2001:db8::1", family: 6 },
 * ]);
 * console.log(ordered.map((a) => a.ip));
 * // ["2001:db8::1", "192.0.2.1", "192.0.2.2"]
 * ```
 *
 * @param addresses The addresses, in any family order.
 * @param options The preferred family and first family count.
 * @returns A new array in dialling order.
 * @throws {TypeError} For a preferred family other than 4 or 6.
 * @throws {RangeError} For a first family count that is not a positive integer.
 */
export function interleaveAddresses(
  addresses: readonly TargetAddress[],
  options: InterleaveOptions = {},
): TargetAddress[] {
  const { preferredFamily, firstFamilyCount } = checkInterleaveOptions(
    options,
  );
  const seen = new Set<string>();
  const preferred: TargetAddress[] = [];
  const other: TargetAddress[] = [];
  for (const address of addresses) {
    const key = address.ip.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    (address.family === preferredFamily ? preferred : other).push(address);
  }
  const out = preferred.slice(0, firstFamilyCount);
  let p = out.length;
  let o = 0;
  while (p < preferred.length || o < other.length) {
    if (o < other.length) out.push(other[o++]);
    if (p < preferred.length) out.push(preferred[p++]);
  }
  return out;
}

/** One family's lookup result: addresses, or why there are none. */
type FamilyResult = { addresses: TargetAddress[] } | { error: unknown };

function reasonOf(error: unknown): string {
  return error instanceof ResolveError
    ? error.message.replace(/^.* failed: /, "")
    : error instanceof Error
    ? error.message
    : String(error);
}

/**
 * Resolve a candidate's `host` to the IP addresses to dial, in RFC 8305
 * order.
 *
 * - With `candidate.ips` (from host-meta), those addresses are used and
 *   nothing is looked up.
 * - With an IP literal `host`, that address is used.
 * - Otherwise A and AAAA are looked up in parallel with `options.resolver`
 *   (by default `dnsResolver()`, the system's name servers).
 *   If one family fails or times out, the other's addresses are used.
 *
 * @example Addresses from the candidate itself
 * ```ts
 * import { resolveAddresses } from "./addresses.ts";
 * const addresses = await resolveAddresses({
 *   host: "xmpp.example.org",
 *   ips: ["192.0.2.7", "2001:db8::7"],
 * });
 * console.log(addresses.map((a) => a.ip)); // ["2001:db8::7", "192.0.2.7"]
 * ```
 *
 * @example With a resolver
 * ```ts
 * import { resolveAddresses } from "./addresses.ts";
 * import type { Resolver } from "./resolver.ts";
 *
 * const resolver: Resolver = {
 *   srv: () => Promise.resolve([]),
 *   a: () => Promise.resolve(["192.0.2.1", "192.0.2.2"]),
 *   aaaa: () => Promise.resolve(["2001:db8::1"]),
 * };
 * const addresses = await resolveAddresses(
 *   { host: "xmpp.example.org" },
 *   { resolver, timeout: 2000 },
 * );
 * console.log(addresses.map((a) => `${a.family} ${a.ip}`));
 * // ["6 2001:db8::1", "4 192.0.2.1", "4 192.0.2.2"]
 * ```
 *
 * @example Each family as it arrives
 * ```ts
 * import { resolveAddresses } from "./addresses.ts";
 * import { memoryResolver } from "./memory_resolver.ts";
 *
 * const resolver = memoryResolver({
 *   "xmpp.example.org": {
 *     a: ["192.0.2.1"],
 *     aaaa: { records: ["2001:db8::1"], delayMs: 20 },
 *   },
 * });
 * const seen: string[] = [];
 * await resolveAddresses({ host: "xmpp.example.org" }, {
 *   resolver,
 *   onAnswer: ({ family, addresses }) =>
 *     seen.push(`${family}: ${addresses.map((a) => a.ip).join(" ")}`),
 * });
 * console.log(seen); // ["4: 192.0.2.1", "6: 2001:db8::1"]
 * ```
 *
 * @param candidate The candidate, or just its `host` and `ips`.
 * @param options The resolver, timeout, signal, `onAnswer` and interleaving
 * options.
 * @returns At least one address, in dialling order.
 * @throws {ResolveError} When neither family gives an address: both lookups
 * failed, timed out or found nothing. The message names both reasons.
 * @throws {TypeError} For an `ips` entry that is not an IP address, a
 * `resolver` that is not a {@linkcode Resolver}, or an `onAnswer` that is
 * not a function.
 * @throws {RangeError} For a bad `timeout` or `firstFamilyCount`.
 */
export async function resolveAddresses(
  candidate: Pick<Candidate, "host" | "ips">,
  options: ResolveAddressesOptions = {},
): Promise<TargetAddress[]> {
  const interleave = checkInterleaveOptions(options);
  const { timeout = DEFAULT_TIMEOUT, signal } = options;
  if (typeof timeout !== "number" || !(timeout > 0)) {
    throw new RangeError(
      `options.timeout must be a positive number of milliseconds (or Infinity), got ${
        String(timeout)
      }`,
    );
  }
  const onAnswer = options.onAnswer;
  if (onAnswer !== undefined && typeof onAnswer !== "function") {
    throw new TypeError(
      `options.onAnswer must be a function (answer) => void, got ${typeof onAnswer}`,
    );
  }
  signal?.throwIfAborted();

  if (candidate.ips !== undefined && candidate.ips.length > 0) {
    const targets = candidate.ips.map((ip) => {
      const target = toTarget(ip);
      if (target === undefined) {
        throw new TypeError(
          `candidate.ips for ${candidate.host} contains ${
            JSON.stringify(ip)
          }, which is not an IP address: drop it from the host-meta link`,
        );
      }
      return target;
    });
    return interleaveAddresses(targets, interleave);
  }

  const host = candidate.host;
  if (typeof host !== "string" || host === "") {
    throw new TypeError("candidate.host must be a non-empty host name or IP");
  }
  const literal = toTarget(host);
  if (literal !== undefined) return [literal];

  const resolver = options.resolver ?? dnsResolver();
  if (
    typeof resolver?.a !== "function" || typeof resolver.aaaa !== "function"
  ) {
    throw new TypeError(
      "options.resolver must implement Resolver (srv, a, aaaa); use dnsResolver() or memoryResolver(zone)",
    );
  }

  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = Promise.withResolvers<never>();
  stop.promise.catch(() => {});
  const onAbort = () => {
    controller.abort(signal!.reason);
    stop.reject(signal!.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  if (Number.isFinite(timeout)) {
    timer = setTimeout(() => {
      const error = new DOMException(
        `no answer within ${timeout} ms: raise options.timeout or check the name server`,
        "TimeoutError",
      );
      controller.abort(error);
      stop.reject(error);
    }, timeout);
  }

  let settled = false;
  const lookup = async (family: AddressFamily): Promise<FamilyResult> => {
    const result = await lookupFamily(family);
    // Not after the promise settled (when the other onAnswer threw).
    if (!settled) {
      onAnswer?.(
        "error" in result
          ? { family, outcome: "failed", addresses: [], error: result.error }
          : { family, outcome: "answered", addresses: result.addresses },
      );
    }
    return result;
  };
  const lookupFamily = async (
    family: AddressFamily,
  ): Promise<FamilyResult> => {
    const type = family === 4 ? "A" : "AAAA";
    try {
      const query = family === 4
        ? resolver.a(host, { signal: controller.signal })
        : resolver.aaaa(host, { signal: controller.signal });
      const ips = await Promise.race([query, stop.promise]);
      const addresses = ips.map((ip) => {
        const target = toTarget(ip);
        if (target === undefined || target.family !== family) {
          throw new TypeError(
            `the resolver's ${type} answer for ${host} contains ${
              JSON.stringify(ip)
            }, which is not an IPv${family} address: fix the Resolver`,
          );
        }
        return target;
      });
      return { addresses };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return { error };
    }
  };

  try {
    const [a, aaaa] = await Promise.all([lookup(4), lookup(6)]);
    const found = [a, aaaa].flatMap((r) => "addresses" in r ? r.addresses : []);
    if (found.length > 0) return interleaveAddresses(found, interleave);
    const describe = (r: FamilyResult) =>
      "error" in r ? reasonOf(r.error) : "no such records";
    const errors = [a, aaaa].flatMap((r) => "error" in r ? [r.error] : []);
    throw new ResolveError(
      host,
      "A and AAAA",
      `A: ${describe(a)}; AAAA: ${describe(aaaa)}. Check the name, the DNS ` +
        "server in use, or the SRV target",
      errors.length > 0
        ? { cause: new AggregateError(errors, "the failed lookups") }
        : {},
    );
  } finally {
    settled = true;
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    controller.abort();
  }
}
