/**
 * The error type for SASL failures: an RFC 6120 §6.5 failure condition, who
 * detected it, and the peer's text.
 *
 * @module
 */

/** The SASL namespace (RFC 6120 §6.4). */
export const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";

/** Every defined SASL failure condition of RFC 6120 §6.5, in order. */
export const SASL_FAILURE_CONDITIONS = [
  "aborted",
  "account-disabled",
  "credentials-expired",
  "encryption-required",
  "incorrect-encoding",
  "invalid-authzid",
  "invalid-mechanism",
  "malformed-request",
  "mechanism-too-weak",
  "not-authorized",
  "temporary-auth-failure",
] as const;

/** One RFC 6120 §6.5 SASL failure condition. */
export type SaslFailureCondition = typeof SASL_FAILURE_CONDITIONS[number];

/** Options for {@linkcode SaslError}. */
export interface SaslErrorOptions {
  /**
   * `"remote"` when the peer sent `<failure/>`, `"local"` when this side
   * found the problem (a bad server signature, a malformed challenge, a
   * mechanism this side refuses).
   *
   * @default {"local"}
   */
  origin?: "local" | "remote";
  /** The `<text/>` of a received `<failure/>`, or the text to send. */
  text?: string;
  /** The underlying cause, if any. */
  cause?: unknown;
}

/**
 * A failed SASL exchange, with its RFC 6120 §6.5 condition.
 *
 * @example
 * ```ts
 * import { SaslError } from "./sasl_error.ts";
 *
 * const err = new SaslError("not-authorized", "wrong password", { origin: "remote" });
 * console.log(err.condition, err.origin); // "not-authorized" "remote"
 * console.log(err instanceof Error); // true
 * ```
 */
export class SaslError extends Error {
  /** The RFC 6120 §6.5 condition. */
  readonly condition: SaslFailureCondition;
  /** `"remote"` if the peer sent `<failure/>`, `"local"` if found here. */
  readonly origin: "local" | "remote";
  /** The `<text/>` of a received failure, or the text to send with ours. */
  readonly text?: string;

  /**
   * Make a SASL error.
   *
   * @param condition The RFC 6120 §6.5 condition.
   * @param message What went wrong and what to do about it.
   * @param options Origin, text and cause.
   */
  constructor(
    condition: SaslFailureCondition,
    message?: string,
    options: SaslErrorOptions = {},
  ) {
    const origin = options.origin ?? "local";
    const detail = message ?? options.text;
    super(
      origin === "remote"
        ? `peer refused authentication <${condition}/>${
          detail ? `: ${detail}` : ""
        }`
        : `authentication failed <${condition}/>${detail ? `: ${detail}` : ""}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "SaslError";
    this.condition = condition;
    this.origin = origin;
    this.text = options.text ?? (origin === "local" ? message : undefined);
  }
}

/**
 * Whether a string is a defined RFC 6120 §6.5 SASL failure condition.
 *
 * @example
 * ```ts
 * import { isSaslFailureCondition } from "./sasl_error.ts";
 * console.log(isSaslFailureCondition("not-authorized")); // true
 * console.log(isSaslFailureCondition("bad-request")); // false
 * ```
 *
 * @param value The candidate condition name.
 * @returns `true` when `value` is one of {@linkcode SASL_FAILURE_CONDITIONS}.
 */
export function isSaslFailureCondition(
  value: string,
): value is SaslFailureCondition {
  return (SASL_FAILURE_CONDITIONS as readonly string[]).includes(value);
}
