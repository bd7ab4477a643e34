/**
 * A counting limit for `serve()`: how many connections may be open, or
 * negotiating, at once. `tryAcquire()` refuses at the limit; `acquire()`
 * waits (abortably) for a slot.
 *
 * @module
 */

/**
 * A fixed number of slots.
 *
 * @example
 * ```ts
 * import { Slots } from "./_serve_slots.ts";
 *
 * const slots = new Slots(1);
 * console.log(slots.tryAcquire(), slots.tryAcquire()); // true false
 * const waiting = slots.acquire();
 * slots.release(); // hands the slot to the waiter
 * await waiting;
 * console.log(slots.used); // 1
 * ```
 */
export class Slots {
  /** The number of slots. */
  readonly max: number;
  #used = 0;
  #waiters: PromiseWithResolvers<void>[] = [];

  /**
   * Make a limit of `max` slots.
   *
   * @param max The number of slots, a positive integer.
   * @param name The option's name, for the error message.
   * @throws {RangeError} If `max` is not a positive integer.
   */
  constructor(max: number, name = "max") {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${max}`);
    }
    this.max = max;
  }

  /** Slots taken. */
  get used(): number {
    return this.#used;
  }

  /**
   * Take a slot if one is free.
   *
   * @returns Whether a slot was taken.
   */
  tryAcquire(): boolean {
    if (this.#used >= this.max) return false;
    this.#used++;
    return true;
  }

  /**
   * Take a slot, waiting for one to be released if none is free.
   *
   * @param signal Stops waiting (rejecting with its reason).
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve();
    const waiter = Promise.withResolvers<void>();
    this.#waiters.push(waiter);
    if (signal === undefined) return waiter.promise;
    const onAbort = () => {
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) {
        this.#waiters.splice(i, 1);
        waiter.reject(signal.reason);
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return waiter.promise.finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  }

  /** Give a slot back (to the longest waiter, if any). */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next.resolve(); // the slot passes on; `used` is unchanged
    else if (this.#used > 0) this.#used--;
  }
}
