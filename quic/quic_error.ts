/**
 * {@linkcode QuicError}: failures of the QUIC transport itself, as opposed
 * to TLS refusals (a wrong certificate, an ALPN mismatch, a handshake
 * timeout), which are `TlsError`s from `tls/` so that every transport
 * reports them the same way.
 *
 * @module
 */

/**
 * Why a QUIC operation failed.
 *
 * - `"refused"`: the server refused the connection before the handshake
 *   (it is at its connection limit or shutting down).
 * - `"stream-limit"`: the peer allows no more concurrent streams on this
 *   connection.
 * - `"closed"`: the connection is closed, by this side or by the peer
 *   (`closeCode` and `reason` tell which and why), or it was lost.
 *
 * @example
 * ```ts
 * import type { QuicErrorCode } from "./quic_error.ts";
 * const retryLater: QuicErrorCode[] = ["refused", "stream-limit"];
 * console.log(retryLater.includes("closed")); // false
 * ```
 */
export type QuicErrorCode = "refused" | "stream-limit" | "closed";

/**
 * Options for {@linkcode QuicError}.
 *
 * @example
 * ```ts
 * import type { QuicErrorOptions } from "./quic_error.ts";
 * const options: QuicErrorOptions = { closeCode: 0, reason: "bye" };
 * console.log(options.serverName ?? "unknown"); // "unknown"
 * ```
 */
export interface QuicErrorOptions {
  /**
   * The JID domain the connection is for (client) or the SNI name received
   * (server), when known.
   *
   * @default {undefined}
   */
  serverName?: string;
  /**
   * The application close code, when the connection was closed with one.
   *
   * @default {undefined}
   */
  closeCode?: number;
  /**
   * The close reason sent with it.
   *
   * @default {undefined}
   */
  reason?: string;
  /**
   * The underlying error from Deno, if any.
   *
   * @default {undefined}
   */
  cause?: unknown;
}

/**
 * A failure of a QUIC connection or stream.
 *
 * @example
 * ```ts
 * import { QuicError } from "./quic_error.ts";
 *
 * const e = new QuicError(
 *   "closed",
 *   "the server closed the QUIC connection: shutting down (code 0)",
 *   { closeCode: 0, reason: "shutting down", serverName: "example.org" },
 * );
 * console.log(e.name, e.code, e.closeCode); // QuicError closed 0
 * console.log(e instanceof Error); // true
 * ```
 */
export class QuicError extends Error {
  /** What failed. */
  readonly code: QuicErrorCode;
  /** The JID domain (client) or SNI name (server), when known. */
  readonly serverName: string | undefined;
  /** The application close code, when known. */
  readonly closeCode: number | undefined;
  /** The close reason, when known. */
  readonly reason: string | undefined;

  /**
   * Create a QUIC error.
   *
   * @param code What failed.
   * @param message What happened and what to do about it.
   * @param options Server name, close code and reason, cause.
   */
  constructor(
    code: QuicErrorCode,
    message: string,
    options: QuicErrorOptions = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "QuicError";
    this.code = code;
    this.serverName = options.serverName;
    this.closeCode = options.closeCode;
    this.reason = options.reason;
  }
}
