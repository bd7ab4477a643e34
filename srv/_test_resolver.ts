/**
 * An in-memory {@linkcode Resolver} for tests: answers from a zone object,
 * with optional delays, failures and lookups that never answer, and a log
 * of every query.
 *
 * @module
 */

import { ResolveError } from "./resolver.ts";
import type { LookupOptions, Resolver, SrvRecord } from "./resolver.ts";

/**
 * One answer: the records, an error to reject with, `"hang"` for a lookup
 * that only ends when its signal aborts, a promise of the records (the
 * test decides when the answer arrives), or a delayed answer.
 */
export type TestAnswer<T> =
  | T[]
  | Error
  | "hang"
  | Promise<T[]>
  | { delay: number; answer: T[] | Error };

/** The records of one name. A missing type answers `[]` (NODATA). */
export interface TestRecords {
  /** SRV records. */
  srv?: TestAnswer<SrvRecord>;
  /** IPv4 addresses. */
  a?: TestAnswer<string>;
  /** IPv6 addresses. */
  aaaa?: TestAnswer<string>;
}

/**
 * A zone: names (without a trailing dot) to records. A missing name answers
 * `[]` (NXDOMAIN).
 */
export type TestZone = Record<string, TestRecords>;

/**
 * A server failure, as a real resolver would report it.
 *
 * @example
 * ```ts
 * import { servfail } from "./_test_resolver.ts";
 * console.log(servfail("example.org", "A").message);
 * // "A lookup of example.org failed: server failure"
 * ```
 *
 * @param name The name.
 * @param type The record type.
 * @returns The error.
 */
export function servfail(name: string, type: string): ResolveError {
  return new ResolveError(name, type, "server failure");
}

/**
 * A resolver answering from a {@linkcode TestZone}.
 *
 * @example
 * ```ts
 * import { TestResolver } from "./_test_resolver.ts";
 * const resolver = new TestResolver({ "xmpp.example.org": { a: ["192.0.2.1"] } });
 * console.log(await resolver.a("xmpp.example.org")); // ["192.0.2.1"]
 * console.log(resolver.queries); // ["A xmpp.example.org"]
 * ```
 */
export class TestResolver implements Resolver {
  /** Every query, as `"TYPE name"`, in the order asked. */
  readonly queries: string[] = [];
  /** The signals of the lookups, in the order asked. */
  readonly signals: (AbortSignal | undefined)[] = [];
  #zone: TestZone;

  /**
   * Make a resolver.
   *
   * @param zone The records to answer from.
   */
  constructor(zone: TestZone) {
    this.#zone = zone;
  }

  /** SRV lookup. */
  srv(name: string, options?: LookupOptions): Promise<SrvRecord[]> {
    return this.#answer("SRV", name, this.#zone[name]?.srv, options);
  }

  /** A lookup. */
  a(name: string, options?: LookupOptions): Promise<string[]> {
    return this.#answer("A", name, this.#zone[name]?.a, options);
  }

  /** AAAA lookup. */
  aaaa(name: string, options?: LookupOptions): Promise<string[]> {
    return this.#answer("AAAA", name, this.#zone[name]?.aaaa, options);
  }

  #answer<T>(
    type: string,
    name: string,
    answer: TestAnswer<T> | undefined,
    options: LookupOptions = {},
  ): Promise<T[]> {
    this.queries.push(`${type} ${name}`);
    this.signals.push(options.signal);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const settle = (a: T[] | Error) =>
      a instanceof Error ? Promise.reject(a) : Promise.resolve([...a]);
    if (answer === undefined) return Promise.resolve([]);
    if (Array.isArray(answer) || answer instanceof Error) return settle(answer);
    return new Promise<T[]>((resolve, reject) => {
      const done = () => signal?.removeEventListener("abort", onAbort);
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (answer instanceof Promise) {
        answer.then((records) => {
          done();
          resolve([...records]);
        }, (error) => {
          done();
          reject(error);
        });
      } else if (answer !== "hang") {
        timer = setTimeout(() => {
          done();
          settle(answer.answer).then(resolve, reject);
        }, answer.delay);
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
