/**
 * Channel binding data (RFC 5056) for the SCRAM `-PLUS` mechanisms: the
 * types of RFC 5929 and RFC 9266, and the injectable source that yields them.
 *
 * The TLS layer is the only place that knows the binding data, so it is
 * passed in as a {@linkcode ChannelBindingSource}: a function of the
 * connection that returns the data, or `null` when there is none (no TLS,
 * or an engine that does not expose it). Without a source, the `-PLUS`
 * mechanisms are neither offered (server) nor chosen (client).
 *
 * @module
 */

import type { ConnectionInfo } from "../stream/duplex.ts";

/**
 * A channel binding type: `tls-exporter` (RFC 9266, the one for TLS 1.3),
 * `tls-unique` (RFC 5929, TLS 1.2 only) or `tls-server-end-point` (RFC 5929,
 * a hash of the server certificate).
 */
export type ChannelBindingType =
  | "tls-exporter"
  | "tls-unique"
  | "tls-server-end-point";

/** Every channel binding type, in the order of preference. */
export const CHANNEL_BINDING_TYPES: readonly ChannelBindingType[] = [
  "tls-exporter",
  "tls-unique",
  "tls-server-end-point",
];

/**
 * The binding data of one connection.
 *
 * @example
 * ```ts
 * import type { ChannelBinding } from "./channel_binding.ts";
 *
 * const cb: ChannelBinding = { type: "tls-exporter", data: new Uint8Array(32) };
 * console.log(cb.type, cb.data.length); // "tls-exporter" 32
 * ```
 */
export interface ChannelBinding {
  /** The channel binding type. */
  type: ChannelBindingType;
  /** The binding data, such as the 32 bytes of the TLS exporter. */
  data: Uint8Array;
}

/**
 * Where channel binding data comes from: called with the connection's info,
 * returns the data or `null` when the connection has none.
 *
 * @example Fixed bytes, for tests
 * ```ts
 * import type { ChannelBindingSource } from "./channel_binding.ts";
 *
 * const fixed: ChannelBindingSource = (info) =>
 *   info.secure ? { type: "tls-exporter", data: new Uint8Array(32).fill(7) } : null;
 * console.log(fixed({ transport: "memory", secure: false })); // null
 * ```
 */
export type ChannelBindingSource = (
  info: ConnectionInfo,
) => ChannelBinding | null | Promise<ChannelBinding | null>;

/**
 * Check the binding data a source returned.
 *
 * @example
 * ```ts
 * import { checkChannelBinding } from "./channel_binding.ts";
 *
 * console.log(checkChannelBinding({ type: "tls-unique", data: new Uint8Array(12) }).type);
 * ```
 *
 * @param binding What a {@linkcode ChannelBindingSource} returned.
 * @returns The same binding.
 * @throws {TypeError} If the type is unknown or the data is not a non-empty
 * `Uint8Array` of at most 1024 bytes.
 */
export function checkChannelBinding(binding: ChannelBinding): ChannelBinding {
  if (
    typeof binding !== "object" || binding === null ||
    !CHANNEL_BINDING_TYPES.includes(binding.type)
  ) {
    throw new TypeError(
      `channel binding type must be one of ${
        CHANNEL_BINDING_TYPES.join(", ")
      }, got ${
        JSON.stringify((binding as Partial<ChannelBinding> | null)?.type)
      }`,
    );
  }
  if (
    !(binding.data instanceof Uint8Array) || binding.data.length === 0 ||
    binding.data.length > 1024
  ) {
    throw new TypeError(
      "channel binding data must be a Uint8Array of 1 to 1024 bytes",
    );
  }
  return binding;
}
