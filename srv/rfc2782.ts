/**
 * The RFC 2782 connection order for SRV records (and anything else with a
 * priority and a weight): ascending priority, and within one priority a
 * weighted random draw, exactly as RFC 2782 ("The format of the SRV RR",
 * Weight) describes. Never a plain sort by weight.
 *
 * Also a small seedable pseudo-random generator, so that tests (and tools
 * that want reproducible output) can fix the draw.
 *
 * @example
 * ```ts
 * import { rfc2782Order, seededRandom } from "./rfc2782.ts";
 * const order = rfc2782Order([
 *   { priority: 20, weight: 0, port: 5222, target: "backup.example.org" },
 *   { priority: 10, weight: 60, port: 5222, target: "a.example.org" },
 *   { priority: 10, weight: 40, port: 5223, target: "b.example.org" },
 * ], { random: seededRandom(1) });
 * console.log(order.map((r) => r.target));
 * // a and b in a weighted random order, then backup
 * ```
 *
 * @module
 */

/** Anything RFC 2782 can order: an SRV record, a candidate, a link. */
export interface Weighted {
  /** Lower is tried first. */
  priority: number;
  /** Relative chance within one priority; 0 keeps a small chance. */
  weight: number;
}

/** Options for {@linkcode rfc2782Order}. */
export interface Rfc2782Options {
  /**
   * A uniform random number in `[0, 1)`, like `Math.random` (the default).
   * Pass {@linkcode seededRandom} for a reproducible order.
   */
  random?: () => number;
}

/**
 * Order records as RFC 2782 says: ascending priority; within one priority,
 * repeatedly take the records not yet ordered, put those with weight 0
 * first (otherwise keeping their given order), compute the running sum of
 * the weights, draw a uniform integer `r` in `[0, sum]` (inclusive), and
 * move the first record whose running sum is `>= r` to the result.
 *
 * So a record of weight 0 is picked first only when `r` is 0 (a chance of
 * `1 / (sum + 1)`), and when all weights are 0 the given order is kept
 * (as in RFC 2782; DNS servers usually rotate their answers).
 *
 * The input is not changed. Priorities and weights must be integers in
 * `[0, 65535]`, as in an SRV record.
 *
 * @example
 * ```ts
 * import { rfc2782Order, seededRandom } from "./rfc2782.ts";
 * const random = seededRandom(42);
 * const records = [
 *   { priority: 1, weight: 1, target: "rare" },
 *   { priority: 1, weight: 99, target: "common" },
 * ];
 * const first = rfc2782Order(records, { random })[0].target;
 * console.log(first); // usually "common"
 * ```
 *
 * @param records The records to order.
 * @param options The random source; default `Math.random`.
 * @returns A new array: the records in connection order.
 * @throws {RangeError} For a priority or weight that is not an integer in
 *   `[0, 65535]`.
 * @throws {TypeError} If `options.random` is not a function.
 * @throws {RangeError} If `options.random` returns a number outside
 *   `[0, 1)`.
 */
export function rfc2782Order<T extends Weighted>(
  records: readonly T[],
  options: Rfc2782Options = {},
): T[] {
  const random = options.random ?? Math.random;
  if (typeof random !== "function") {
    throw new TypeError(
      "options.random must be a function returning a number in [0, 1), " +
        "such as Math.random or seededRandom(seed)",
    );
  }
  for (const r of records) {
    checkField(r.priority, "priority");
    checkField(r.weight, "weight");
  }
  const byPriority = new Map<number, T[]>();
  for (const r of records) {
    const group = byPriority.get(r.priority);
    if (group) group.push(r);
    else byPriority.set(r.priority, [r]);
  }
  const out: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = byPriority.get(priority)!;
    // Weight-0 records at the beginning, the rest in their given order.
    const left = [
      ...group.filter((r) => r.weight === 0),
      ...group.filter((r) => r.weight !== 0),
    ];
    while (left.length > 0) {
      const sum = left.reduce((s, r) => s + r.weight, 0);
      const pick = drawInclusive(sum, random);
      let running = 0;
      let index = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        running += left[i].weight;
        if (running >= pick) {
          index = i;
          break;
        }
      }
      out.push(left[index]);
      left.splice(index, 1);
    }
  }
  return out;
}

/**
 * A seedable pseudo-random generator (mulberry32: 32-bit state, good enough
 * for ordering and for tests, not for cryptography). The same seed always
 * gives the same sequence.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./rfc2782.ts";
 * const a = seededRandom(7);
 * const b = seededRandom(7);
 * console.log(a() === b()); // true
 * ```
 *
 * @param seed Any integer; only its low 32 bits are used.
 * @returns A function giving numbers in `[0, 1)`, like `Math.random`.
 * @throws {TypeError} If the seed is not a safe integer.
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) {
    throw new TypeError(
      `seed must be an integer, got ${String(seed)}; pass e.g. seededRandom(1)`,
    );
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in `[0, sum]`, from a uniform number in `[0, 1)`. */
function drawInclusive(sum: number, random: () => number): number {
  const x = random();
  if (!(x >= 0 && x < 1)) {
    throw new RangeError(
      `options.random returned ${x}; it must return a number in [0, 1)`,
    );
  }
  return Math.floor(x * (sum + 1));
}

function checkField(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(
      `SRV ${field} must be an integer in [0, 65535], got ${String(value)}`,
    );
  }
}
