/**
 * An in-memory {@linkcode Resolver} for tests: a zone given as an object,
 * names that fail (like SERVFAIL) or hang until aborted (like a timeout),
 * optional delays, and a log of every query with its start and end time, so
 * that a test can prove two lookups overlapped.
 *
 * @example
 * ```ts
 * import { memoryResolver } from "./memory_resolver.ts";
 * const resolver = memoryResolver({
 *   "_xmpp-client._tcp.example.org": {
 *     srv: [{ priority: 0, weight: 0, port: 5222, target: "xmpp.example.org" }],
 *   },
 *   "xmpp.example.org": { a: ["192.0.2.1"], aaaa: ["2001:db8::1"] },
 *   "_xmpps-client._tcp.example.org": { fail: "server failure" },
 * });
 * console.log(await resolver.srv("_xmpp-client._tcp.example.org"));
 * console.log(await resolver.a("nowhere.example.org")); // [] (NXDOMAIN)
 * console.log(resolver.queries.length); // 2
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

/** What one name holds in a {@linkcode MemoryZone}. */
export interface MemoryName {
  /** SRV records. Absent: NODATA for SRV. */
  srv?: SrvRecord[];
  /** IPv4 addresses. Absent: NODATA for A. */
  a?: string[];
  /** IPv6 addresses. Absent: NODATA for AAAA. */
  aaaa?: string[];
  /**
   * Every lookup of this name rejects with a {@linkcode ResolveError}
   * carrying this reason (as a name server's SERVFAIL would).
   */
  fail?: string;
  /**
   * Every lookup of this name never answers; it rejects with the signal's
   * reason once the lookup's signal aborts (as a lost UDP answer would).
   * Without a signal it never settles, so always pass one with `hang`.
   */
  hang?: boolean;
  /** Answer (or fail) after this many milliseconds. Default 0. */
  delayMs?: number;
}

/**
 * A zone: names (case-insensitive, a trailing dot ignored) and what they
 * hold. A name that is absent does not exist (NXDOMAIN); a name present
 * without the asked type has no data (NODATA). Both answer `[]`.
 */
export type MemoryZone = Record<string, MemoryName>;

/** One query a {@linkcode MemoryResolver} received. */
export interface MemoryQuery {
  /** The name asked, normalized (lower case, no trailing dot). */
  name: string;
  /** `"SRV"`, `"A"` or `"AAAA"`. */
  type: "SRV" | "A" | "AAAA";
  /** `performance.now()` when the query started. */
  start: number;
  /** `performance.now()` when it settled; `undefined` while pending. */
  end?: number;
  /** How it settled: `"answer"` (records or `[]`), `"error"`, `"aborted"`. */
  outcome?: "answer" | "error" | "aborted";
}

/** A {@linkcode Resolver} over a {@linkcode MemoryZone}, with a query log. */
export interface MemoryResolver extends Resolver {
  /** Every query so far, in the order they started. */
  readonly queries: readonly MemoryQuery[];
  /**
   * How many queries matched a name and type (either may be omitted).
   *
   * @param name A name (normalized like the zone's); all names if omitted.
   * @param type A record type; all types if omitted.
   */
  count(name?: string, type?: MemoryQuery["type"]): number;
}

/**
 * Make an in-memory resolver. The zone is copied, so later changes to the
 * object do not affect it; records are copied on every answer.
 *
 * @example
 * ```ts
 * import { memoryResolver } from "./memory_resolver.ts";
 * const resolver = memoryResolver({
 *   "_xmpp-client._tcp.slow.example": { hang: true },
 * });
 * try {
 *   await resolver.srv("_xmpp-client._tcp.slow.example", {
 *     signal: AbortSignal.timeout(10),
 *   });
 * } catch (e) {
 *   console.log((e as Error).name); // "TimeoutError"
 * }
 * ```
 *
 * @param zone Names and their records, failures, hangs and delays.
 * @returns The resolver; its `queries` log starts empty.
 * @throws {TypeError} For a zone that is not an object, or a name entry
 *   that is not an object.
 */
export function memoryResolver(zone: MemoryZone): MemoryResolver {
  if (typeof zone !== "object" || zone === null || Array.isArray(zone)) {
    throw new TypeError(
      "zone must be an object mapping names to { srv, a, aaaa, fail, hang, delayMs }",
    );
  }
  const names = new Map<string, MemoryName>();
  for (const [name, entry] of Object.entries(zone)) {
    if (typeof entry !== "object" || entry === null) {
      throw new TypeError(
        `zone entry for ${name} must be an object such as { srv: [...] }`,
      );
    }
    names.set(normalize(name), structuredClone(entry));
  }
  const queries: MemoryQuery[] = [];

  async function lookup<T>(
    rawName: string,
    type: MemoryQuery["type"],
    pick: (entry: MemoryName) => T[] | undefined,
    options: LookupOptions,
  ): Promise<T[]> {
    const name = normalize(rawName);
    const query: MemoryQuery = { name, type, start: performance.now() };
    queries.push(query);
    const settle = (outcome: MemoryQuery["outcome"]) => {
      query.end = performance.now();
      query.outcome = outcome;
    };
    const signal = options.signal;
    try {
      signal?.throwIfAborted();
      const entry = names.get(name);
      if (entry?.delayMs) await sleep(entry.delayMs, signal);
      if (entry?.hang) await sleep(Infinity, signal);
      if (entry?.fail !== undefined) {
        settle("error");
        throw new ResolveError(name, type, entry.fail);
      }
      settle("answer");
      return structuredClone(entry ? pick(entry) ?? [] : []);
    } catch (e) {
      if (query.outcome === undefined) settle("aborted");
      throw e;
    }
  }

  return {
    queries,
    count(name?: string, type?: MemoryQuery["type"]): number {
      const n = name === undefined ? undefined : normalize(name);
      return queries.filter((q) =>
        (n === undefined || q.name === n) &&
        (type === undefined || q.type === type)
      ).length;
    },
    srv: (name, options = {}) => lookup(name, "SRV", (e) => e.srv, options),
    a: (name, options = {}) => lookup(name, "A", (e) => e.a, options),
    aaaa: (name, options = {}) => lookup(name, "AAAA", (e) => e.aaaa, options),
  };
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** Wait `ms` (forever for `Infinity`), rejecting with the signal's reason. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms)
      : undefined;
    function onAbort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
