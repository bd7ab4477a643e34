/**
 * The one error type for XMPP protocol failures: a stream error carrying an
 * RFC 6120 §4.9.3 condition.
 *
 * @module
 */

/** The stream error namespace (RFC 6120 §4.9.2). */
export const STREAM_ERROR_NS = "urn:ietf:params:xml:ns:xmpp-streams";

/** Every defined stream error condition of RFC 6120 §4.9.3, in order. */
export const STREAM_ERROR_CONDITIONS = [
  "bad-format",
  "bad-namespace-prefix",
  "conflict",
  "connection-timeout",
  "host-gone",
  "host-unknown",
  "improper-addressing",
  "internal-server-error",
  "invalid-from",
  "invalid-namespace",
  "invalid-xml",
  "not-authorized",
  "not-well-formed",
  "policy-violation",
  "remote-connection-failed",
  "reset",
  "resource-constraint",
  "restricted-xml",
  "see-other-host",
  "system-shutdown",
  "undefined-condition",
  "unsupported-encoding",
  "unsupported-feature",
  "unsupported-stanza-type",
  "unsupported-version",
] as const;

/** One RFC 6120 §4.9.3 stream error condition. */
export type StreamErrorCondition = typeof STREAM_ERROR_CONDITIONS[number];

/** Options for {@linkcode StreamError}. */
export interface StreamErrorOptions {
  /**
   * Who raised the error: `"local"` when this side detected the failure (and
   * should send it), `"remote"` when the peer sent `<stream:error/>`.
   *
   * @default {"local"}
   */
  origin?: "local" | "remote";
  /** Human-readable text carried in the `<text/>` child. */
  text?: string;
  /** For `see-other-host`: the alternate host the peer named. */
  seeOtherHost?: string;
  /** The underlying cause, if any. */
  cause?: unknown;
}

/**
 * A protocol failure with its RFC 6120 stream error condition.
 *
 * Thrown by the parser for bad input (`not-well-formed`, `restricted-xml`,
 * `policy-violation`, `unsupported-encoding`, ...) and by the XML stream when
 * the peer sends `<stream:error/>` (then {@linkcode StreamError.origin} is
 * `"remote"`).
 *
 * @example Catching a stream error
 * ```ts
 * import { StreamError } from "./stream_error.ts";
 *
 * const err = new StreamError("policy-violation", "stanza larger than 262144 bytes");
 * console.log(err.condition); // "policy-violation"
 * console.log(err instanceof Error); // true
 * ```
 */
export class StreamError extends Error {
  /** The RFC 6120 condition. */
  readonly condition: StreamErrorCondition;
  /** `"local"` if detected here, `"remote"` if received from the peer. */
  readonly origin: "local" | "remote";
  /** The `<text/>` of a received error, or the text to send. */
  readonly text?: string;
  /** For `see-other-host`, the alternate host. */
  readonly seeOtherHost?: string;

  /**
   * Make a stream error.
   *
   * @param condition The RFC 6120 §4.9.3 condition.
   * @param message What went wrong and what to do about it.
   * @param options Origin, text and cause.
   */
  constructor(
    condition: StreamErrorCondition,
    message?: string,
    options: StreamErrorOptions = {},
  ) {
    const origin = options.origin ?? "local";
    const detail = message ?? options.text;
    super(
      origin === "remote"
        ? `peer sent stream error <${condition}/>${detail ? `: ${detail}` : ""}`
        : `stream error <${condition}/>${detail ? `: ${detail}` : ""}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "StreamError";
    this.condition = condition;
    this.origin = origin;
    this.text = options.text ?? (origin === "local" ? message : undefined);
    this.seeOtherHost = options.seeOtherHost;
  }
}

/**
 * Whether a string is a defined RFC 6120 stream error condition.
 *
 * @example
 * ```ts
 * import { isStreamErrorCondition } from "./stream_error.ts";
 * console.log(isStreamErrorCondition("host-unknown")); // true
 * console.log(isStreamErrorCondition("nope")); // false
 * ```
 *
 * @param value The candidate condition name.
 * @returns `true` when `value` is one of {@linkcode STREAM_ERROR_CONDITIONS}.
 */
export function isStreamErrorCondition(
  value: string,
): value is StreamErrorCondition {
  return (STREAM_ERROR_CONDITIONS as readonly string[]).includes(value);
}
