/**
 * Checks shared by the option parsers of this module.
 *
 * @module
 */

/** The default handshake timeout in milliseconds (client and server). */
export const DEFAULT_TIMEOUT = 10_000;

/** A positive finite number of milliseconds, or a `RangeError`. */
export function checkTimeout(value: unknown, name: string): number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `${name} must be a positive number of milliseconds, got ${value}`,
    );
  }
  return value;
}

/** A non-negative finite byte count, or a `RangeError`. */
export function checkHighWaterMark(value: unknown): number {
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `highWaterMark must be a non-negative finite number, got ${value}`,
    );
  }
  return value;
}
