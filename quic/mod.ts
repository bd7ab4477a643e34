/**
 * XMPP over QUIC (XEP-0467).
 *
 * Today this module checks that Deno's QUIC API is there (it needs
 * `--unstable-net`) and fails with a clear error when it is not; the
 * QUIC duplex adapter lives in `stream/`. The dialer, listener, 0-RTT and
 * migration are tracked in the `quic` issue.
 *
 * @example
 * ```ts
 * import { quicSupported } from "./mod.ts";
 * console.log(quicSupported() ? "QUIC available" : "run with --unstable-net");
 * ```
 *
 * @module
 */

export * from "./support.ts";
