/**
 * Whether this Deno can do QUIC, and a clear error when it cannot.
 *
 * Deno's QUIC API (`Deno.QuicEndpoint`, `Deno.connectQuic`) is unstable and
 * needs `--unstable-net`. The rest of the toolkit works without it.
 *
 * @module
 */

/**
 * Whether Deno's QUIC API is available in this process.
 *
 * @example
 * ```ts
 * import { quicSupported } from "./support.ts";
 * console.log(typeof quicSupported()); // "boolean"
 * ```
 *
 * @returns `true` when `Deno.QuicEndpoint` exists.
 */
export function quicSupported(): boolean {
  return typeof (Deno as { QuicEndpoint?: unknown }).QuicEndpoint ===
    "function";
}

/**
 * Throw a clear error unless QUIC is available. Every QUIC entry point calls
 * this first.
 *
 * @example
 * ```ts
 * import { assertQuicSupported } from "./support.ts";
 * try {
 *   assertQuicSupported();
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 *
 * @throws {Deno.errors.NotSupported} When Deno runs without `--unstable-net`.
 */
export function assertQuicSupported(): void {
  if (!quicSupported()) {
    throw new Deno.errors.NotSupported(
      'XMPP over QUIC needs Deno\'s unstable QUIC API: run with --unstable-net, or add "unstable": ["net"] to deno.json',
    );
  }
}
