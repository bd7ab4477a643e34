/**
 * RFC 2782 ordering for host-meta candidates: ascending priority, and within
 * one priority a weighted random draw in which weight-0 entries keep the
 * small chance RFC 2782 gives them. Never a plain sort.
 *
 * @module
 */

/** Anything with RFC 2782 `priority` and `weight`. */
export interface Weighted {
  /** Lower first. */
  priority: number;
  /** Relative chance within one priority. */
  weight: number;
}

/**
 * Order entries as RFC 2782 says: ascending priority; within a priority,
 * repeatedly pick one at random with chance proportional to its weight
 * (weight-0 entries are placed first and win only when the draw is 0).
 *
 * @example
 * ```ts
 * import { rfc2782Order } from "./_host_meta_order.ts";
 * const order = rfc2782Order(
 *   [{ priority: 20, weight: 0 }, { priority: 10, weight: 5 }],
 *   () => 0.5,
 * );
 * console.log(order.map((e) => e.priority)); // [ 10, 20 ]
 * ```
 *
 * @param entries The entries; not modified.
 * @param random A uniform random number in `[0, 1)`, such as `Math.random`.
 * @returns A new array in RFC 2782 order.
 */
export function rfc2782Order<T extends Weighted>(
  entries: readonly T[],
  random: () => number,
): T[] {
  const byPriority = new Map<number, T[]>();
  for (const e of entries) {
    const group = byPriority.get(e.priority);
    if (group) group.push(e);
    else byPriority.set(e.priority, [e]);
  }
  const out: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Weight-0 entries first, otherwise in the order given.
    const group = byPriority.get(priority)!;
    const pending = [
      ...group.filter((e) => e.weight === 0),
      ...group.filter((e) => e.weight !== 0),
    ];
    while (pending.length > 0) {
      const total = pending.reduce((sum, e) => sum + e.weight, 0);
      // A uniform integer in [0, total], inclusive as RFC 2782 says.
      const r = Math.min(total, Math.floor(random() * (total + 1)));
      let running = 0;
      let pick = pending.length - 1;
      for (let i = 0; i < pending.length; i++) {
        running += pending[i].weight;
        if (running >= r) {
          pick = i;
          break;
        }
      }
      out.push(pending.splice(pick, 1)[0]);
    }
  }
  return out;
}
