/**
 * {@linkcode createQuicEndpoint}: a UDP socket for QUIC connections, to share
 * between dials. Sharing one endpoint is what makes 0-RTT possible (Deno
 * keeps session tickets per endpoint) and keeps one source port for all
 * connections.
 *
 * Measured with Deno 2.9.6: `QuicEndpoint.close()` does not free the UDP
 * port until the endpoint object is garbage-collected, so a port cannot be
 * bound again right after closing; bind port 0 where you can.
 *
 * @module
 */

import { assertQuicSupported } from "./support.ts";

/**
 * Options for {@linkcode createQuicEndpoint}.
 *
 * @example
 * ```ts
 * import type { QuicEndpointOptions } from "./endpoint.ts";
 * const options: QuicEndpointOptions = { hostname: "0.0.0.0" };
 * console.log(options.port ?? 0); // 0
 * ```
 */
export interface QuicEndpointOptions {
  /**
   * The local address to bind (`"::"` also reaches IPv4 peers on a
   * dual-stack host).
   *
   * @default {"::"}
   */
  hostname?: string;
  /**
   * The local UDP port; 0 picks a free one.
   *
   * @default {0}
   */
  port?: number;
}

/**
 * Create a QUIC endpoint (a bound UDP socket) to pass as `endpoint` to
 * `dialQuic` / `openQuicConnection`. Close it when done.
 *
 * @example One endpoint for every dial (not run: needs a server)
 * ```ts
 * import { createQuicEndpoint } from "./endpoint.ts";
 * import { openQuicConnection } from "./dial.ts";
 * import type { Candidate } from "../srv/candidate.ts";
 *
 * export async function twice(candidate: Candidate) {
 *   const endpoint = createQuicEndpoint();
 *   const first = await openQuicConnection(candidate, { endpoint });
 *   await first.close();
 *   // Same endpoint: the session ticket from `first` allows 0-RTT.
 *   const second = await openQuicConnection(candidate, { endpoint, zeroRtt: true });
 *   await second.close();
 *   endpoint.close();
 * }
 * ```
 *
 * @param options The local address and port.
 * @returns The endpoint.
 * @throws {Deno.errors.NotSupported} Without `--unstable-net`.
 * @throws {RangeError} If `port` is not an integer from 0 to 65535.
 */
export function createQuicEndpoint(
  options: QuicEndpointOptions = {},
): Deno.QuicEndpoint {
  assertQuicSupported();
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `port must be an integer from 0 to 65535, got ${port}`,
    );
  }
  return new Deno.QuicEndpoint({ hostname: options.hostname ?? "::", port });
}
