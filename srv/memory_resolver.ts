/**
 * An in-memory {@linkcode Resolver} for tests: a zone given as an object,
 * names that fail (like SERVFAIL) or hang until aborted (like a timeout),
 * optional delays, and a log of every query with its start and end time, so
 * that a test can prove two lookups overlapped.
 *
 * Each record type of a name can also behave on its own (a
 * {@linkcode MemoryAnswer}): A answering while AAAA fails, hangs, is slower,
 * or is held until the test releases it, which is what testing RFC 8305
 * racing needs.
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

/**
 * How one record type of a name answers, when plain records are not enough:
 * per-type failures, hangs, delays and answers held until the test
 * releases them. Each field left out falls back to the name-wide field of
 * the same name in {@linkcode MemoryName} (for `fail`, `hang`, `delayMs`).
 *
 * In order: the lookup waits `delayMs`, then waits for `holdUntil`, then
 * hangs if `hang`, then fails if `fail`, then answers `records`.
 *
 * @example
 * ```ts
 * import { memoryResolver } from "./memory_resolver.ts";
 * const release = Promise.withResolvers<void>();
 * const resolver = memoryResolver({
 *   "xmpp.example.org": {
 *     a: { records: ["192.0.2.1"], delayMs: 5 },
 *     aaaa: { records: ["2001:db8::1"], holdUntil: release.promise },
 *   },
 * });
 * const aaaa = resolver.aaaa("xmpp.example.org");
 * console.log(await resolver.a("xmpp.example.org")); // ["192.0.2.1"]
 * release.resolve();
 * console.log(await aaaa); // ["2001:db8::1"]
 * ```
 */
export interface MemoryAnswer<T> {
  /**
   * The records.
   *
   * @default {[]} (NODATA)
   */
  records?: T[];
  /**
   * Reject with a {@linkcode ResolveError} carrying this reason (as a name
   * server's SERVFAIL would).
   *
   * @default {the name's `fail`}
   */
  fail?: string;
  /**
   * Never answer; reject with the signal's reason once the lookup's signal
   * aborts (as a lost UDP answer would). Without a signal the lookup never
   * settles, so always pass one with `hang`.
   *
   * @default {the name's `hang`}
   */
  hang?: boolean;
  /**
   * Answer (or fail, or start holding) after this many milliseconds.
   *
   * @default {the name's `delayMs`, else 0}
   */
  delayMs?: number;
  /**
   * Hold the answer until this promise settles, so that the test decides
   * when it arrives. If it rejects, the lookup rejects with its reason.
   * The promise is shared by every lookup of this name and type, and is
   * not copied with the zone.
   *
   * @default {undefined} (not held)
   */
  holdUntil?: PromiseLike<unknown>;
}

/**
 * What one name holds in a {@linkcode MemoryZone}. Each of `srv`, `a` and
 * `aaaa` is either the records or a {@linkcode MemoryAnswer} for that type
 * alone; `fail`, `hang` and `delayMs` here apply to every type that does
 * not set its own.
 */
export interface MemoryName {
  /**
   * SRV records, or how SRV answers. Absent: NODATA for SRV. A record's
   * `addresses` (as if from the additional section) are returned as given.
   */
  srv?: SrvRecord[] | MemoryAnswer<SrvRecord>;
  /** IPv4 addresses, or how A answers. Absent: NODATA for A. */
  a?: string[] | MemoryAnswer<string>;
  /** IPv6 addresses, or how AAAA answers. Absent: NODATA for AAAA. */
  aaaa?: string[] | MemoryAnswer<string>;
  /**
   * Every lookup of this name rejects with a {@linkcode ResolveError}
   * carrying this reason (as a name server's SERVFAIL would).
   *
   * @default {undefined}
   */
  fail?: string;
  /**
   * Every lookup of this name never answers; it rejects with the signal's
   * reason once the lookup's signal aborts (as a lost UDP answer would).
   * Without a signal it never settles, so always pass one with `hang`.
   *
   * @default {false}
   */
  hang?: boolean;
  /**
   * Answer (or fail) after this many milliseconds.
   *
   * @default {0}
   */
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
  /** The lookup's signal, if it had one (a test can check it was aborted). */
  signal?: AbortSignal;
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

/** One record type of one name, checked and copied. */
interface _TypeAnswer<T> {
  records: T[];
  fail?: string;
  hang: boolean;
  delayMs: number;
  holdUntil?: PromiseLike<unknown>;
}

type _Type = MemoryQuery["type"];
type _Entry = {
  SRV: _TypeAnswer<SrvRecord>;
  A: _TypeAnswer<string>;
  AAAA: _TypeAnswer<string>;
};

/**
 * Make an in-memory resolver. The zone is copied, so later changes to the
 * object do not affect it (a `holdUntil` promise is kept as is); records
 * are copied on every answer.
 *
 * @example A name that hangs
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
 * @example Per-type failures, hangs and delays
 * ```ts
 * import { memoryResolver } from "./memory_resolver.ts";
 * const resolver = memoryResolver({
 *   "v4.example": { a: { records: ["192.0.2.1"], delayMs: 5 }, aaaa: { hang: true } },
 *   "v6.example": { a: { fail: "server failure" }, aaaa: ["2001:db8::1"] },
 * });
 * console.log(await resolver.a("v4.example")); // ["192.0.2.1"]
 * console.log(await resolver.aaaa("v6.example")); // ["2001:db8::1"]
 * const error = await resolver.a("v6.example").catch((e) => e);
 * console.log(error.message); // "A lookup of v6.example failed: server failure"
 * const hung = await resolver.aaaa("v4.example", {
 *   signal: AbortSignal.timeout(10),
 * }).catch((e) => e);
 * console.log(hung.name); // "TimeoutError"
 * ```
 *
 * @param zone Names and their records, failures, hangs, delays and holds.
 * @returns The resolver; its `queries` log starts empty.
 * @throws {TypeError} For a zone that is not an object, a name entry that
 *   is not an object, a type that is neither an array nor an object, a
 *   `fail` that is not a string, or a `holdUntil` that is not a promise.
 * @throws {RangeError} For a `delayMs` that is not a finite number ≥ 0.
 */
export function memoryResolver(zone: MemoryZone): MemoryResolver {
  if (typeof zone !== "object" || zone === null || Array.isArray(zone)) {
    throw new TypeError(
      "zone must be an object mapping names to { srv, a, aaaa, fail, hang, delayMs }",
    );
  }
  const names = new Map<string, _Entry>();
  for (const [name, entry] of Object.entries(zone)) {
    names.set(normalize(name), _checkEntry(name, entry));
  }
  const queries: MemoryQuery[] = [];

  async function lookup<T>(
    rawName: string,
    type: _Type,
    options: LookupOptions,
  ): Promise<T[]> {
    const name = normalize(rawName);
    const signal = options.signal;
    const query: MemoryQuery = { name, type, start: performance.now() };
    if (signal !== undefined) query.signal = signal;
    queries.push(query);
    const settle = (outcome: MemoryQuery["outcome"]) => {
      query.end = performance.now();
      query.outcome = outcome;
    };
    try {
      signal?.throwIfAborted();
      const answer = names.get(name)?.[type] as _TypeAnswer<T> | undefined;
      if (answer === undefined) {
        settle("answer");
        return [];
      }
      if (answer.delayMs > 0) await sleep(answer.delayMs, signal);
      if (answer.holdUntil !== undefined) {
        await _held(answer.holdUntil, signal);
      }
      if (answer.hang) await sleep(Infinity, signal);
      if (answer.fail !== undefined) {
        settle("error");
        throw new ResolveError(name, type, answer.fail);
      }
      settle("answer");
      return structuredClone(answer.records);
    } catch (e) {
      if (query.outcome === undefined) {
        settle(signal?.aborted && e === signal.reason ? "aborted" : "error");
      }
      throw e;
    }
  }

  return {
    queries,
    count(name?: string, type?: _Type): number {
      const n = name === undefined ? undefined : normalize(name);
      return queries.filter((q) =>
        (n === undefined || q.name === n) &&
        (type === undefined || q.type === type)
      ).length;
    },
    srv: (name, options = {}) => lookup(name, "SRV", options),
    a: (name, options = {}) => lookup(name, "A", options),
    aaaa: (name, options = {}) => lookup(name, "AAAA", options),
  };
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

function _checkEntry(name: string, entry: unknown): _Entry {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new TypeError(
      `zone entry for ${name} must be an object such as { a: ["192.0.2.1"] }`,
    );
  }
  const e = entry as MemoryName;
  const base = _checkAnswer(name, "", e, {
    records: [],
    hang: false,
    delayMs: 0,
  });
  const type = <T>(key: "srv" | "a" | "aaaa"): _TypeAnswer<T> => {
    const value = e[key];
    if (value === undefined) return { ...base, records: [] };
    if (Array.isArray(value)) {
      return { ...base, records: structuredClone(value) as T[] };
    }
    if (typeof value !== "object" || value === null) {
      throw new TypeError(
        `zone entry for ${name}: ${key} must be an array of records or an object such as { records: [...], fail: "server failure" }`,
      );
    }
    const answer = _checkAnswer(
      name,
      `${key}.`,
      value as MemoryAnswer<unknown>,
      base,
    );
    return answer as _TypeAnswer<T>;
  };
  return { SRV: type("srv"), A: type("a"), AAAA: type("aaaa") };
}

/** Check the failure, hang, delay and hold fields; inherit missing ones. */
function _checkAnswer(
  name: string,
  prefix: string,
  value: MemoryAnswer<unknown>,
  inherited: _TypeAnswer<unknown>,
): _TypeAnswer<unknown> {
  const where = `zone entry for ${name}: ${prefix}`;
  const {
    records,
    fail = inherited.fail,
    hang = inherited.hang,
    delayMs = inherited.delayMs,
    holdUntil = inherited.holdUntil,
  } = value;
  if (records !== undefined && !Array.isArray(records)) {
    throw new TypeError(`${where}records must be an array`);
  }
  if (fail !== undefined && typeof fail !== "string") {
    throw new TypeError(`${where}fail must be a string (the failure reason)`);
  }
  if (
    typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0
  ) {
    throw new RangeError(
      `${where}delayMs must be a finite number of milliseconds ≥ 0, got ${
        String(delayMs)
      }`,
    );
  }
  if (
    holdUntil !== undefined &&
    typeof (holdUntil as PromiseLike<unknown>)?.then !== "function"
  ) {
    throw new TypeError(`${where}holdUntil must be a promise`);
  }
  const out: _TypeAnswer<unknown> = {
    records: records === undefined ? [] : structuredClone(records),
    hang: Boolean(hang),
    delayMs,
  };
  if (fail !== undefined) out.fail = fail;
  if (holdUntil !== undefined) out.holdUntil = holdUntil;
  return out;
}

/** Wait for a hold to be released, rejecting with the signal's reason. */
function _held(
  hold: PromiseLike<unknown>,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => signal?.removeEventListener("abort", onAbort);
    Promise.resolve(hold).then(() => {
      done();
      resolve();
    }, (error) => {
      done();
      reject(error);
    });
  });
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
