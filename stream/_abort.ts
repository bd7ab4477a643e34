/**
 * Waiting on a promise until a signal aborts.
 *
 * @module
 */

/**
 * Settle with `p`, or reject with `signal.reason` as soon as the signal
 * aborts, whichever comes first. `p` keeps running either way: an abandoned
 * rejection is marked handled (its outcome no longer matters).
 *
 * @example
 * ```ts
 * import { raceAbort } from "./_abort.ts";
 * const ac = new AbortController();
 * const p = raceAbort(new Promise(() => {}), ac.signal);
 * ac.abort(new Error("stop"));
 * await p.catch((e) => console.log(e.message)); // "stop"
 * ```
 *
 * @param p The promise to wait on.
 * @param signal Stops the waiting; none means wait for `p`.
 * @returns What `p` resolves to.
 */
export function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
