/**
 * The one error type for TLS failures: {@linkcode TlsError}, with a
 * machine-readable {@linkcode TlsErrorCode} and a message that says what
 * happened and what to do about it.
 *
 * @module
 */

/**
 * Why a TLS connection was refused or failed.
 *
 * - `"untrusted-certificate"`: the peer's chain does not lead to a trust
 *   anchor (or is malformed, self-signed, not for TLS use).
 * - `"certificate-expired"`: a certificate in the chain is expired or not yet
 *   valid.
 * - `"name-mismatch"`: the certificate is not valid for the JID domain.
 * - `"pin-mismatch"`: no certificate in the chain has one of the required
 *   SPKI pins.
 * - `"certificate-required"`: the server requires a client certificate and
 *   none was sent.
 * - `"alpn-mismatch"`: the peer selected, or only offers, a different ALPN
 *   protocol.
 * - `"alpn-missing"`: the peer selected no ALPN protocol and one is required.
 * - `"protocol-version"`: the peer only speaks TLS older than 1.2.
 * - `"cipher-not-allowed"`: the negotiated cipher suite is not in the policy.
 * - `"unknown-server-name"`: (server) no certificate for the SNI name sent.
 * - `"handshake-timeout"`: the handshake did not finish in time.
 * - `"handshake-failed"`: anything else: no common cipher suite, an alert,
 *   the connection closed during the handshake.
 *
 * @example
 * ```ts
 * import type { TlsErrorCode } from "./tls_error.ts";
 * const retryable: TlsErrorCode[] = ["handshake-timeout", "handshake-failed"];
 * console.log(retryable.includes("name-mismatch")); // false
 * ```
 */
export type TlsErrorCode =
  | "untrusted-certificate"
  | "certificate-expired"
  | "name-mismatch"
  | "pin-mismatch"
  | "certificate-required"
  | "alpn-mismatch"
  | "alpn-missing"
  | "protocol-version"
  | "cipher-not-allowed"
  | "unknown-server-name"
  | "handshake-timeout"
  | "handshake-failed";

/**
 * Options for {@linkcode TlsError}.
 *
 * @example
 * ```ts
 * import type { TlsErrorOptions } from "./tls_error.ts";
 * const options: TlsErrorOptions = { serverName: "example.org" };
 * console.log(options.cause ?? "no cause"); // "no cause"
 * ```
 */
export interface TlsErrorOptions {
  /**
   * The JID domain the connection was for (client side) or the SNI name
   * received (server side), when known.
   *
   * @default {undefined}
   */
  serverName?: string;
  /**
   * The underlying error (from the TLS engine), if any.
   *
   * @default {undefined}
   */
  cause?: unknown;
}

/**
 * A refused or failed TLS connection.
 *
 * Every refusal of the TLS policy (RFC 7590) surfaces as this error, with a
 * {@linkcode TlsErrorCode} to branch on and a message meant for the person
 * running the program: what was wrong and what to do about it.
 *
 * @example
 * ```ts
 * import { TlsError } from "./tls_error.ts";
 *
 * const e = new TlsError(
 *   "name-mismatch",
 *   "the certificate of example.org is for other.example",
 *   { serverName: "example.org" },
 * );
 * console.log(e.name, e.code, e.serverName); // TlsError name-mismatch example.org
 * console.log(e instanceof Error); // true
 * ```
 */
export class TlsError extends Error {
  /** Why the connection failed. */
  readonly code: TlsErrorCode;
  /** The JID domain (client) or SNI name (server), when known. */
  readonly serverName: string | undefined;

  /**
   * Create a TLS error.
   *
   * @param code Why the connection failed.
   * @param message What happened and what to do about it.
   * @param options The server name and the underlying error.
   */
  constructor(
    code: TlsErrorCode,
    message: string,
    options: TlsErrorOptions = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "TlsError";
    this.code = code;
    this.serverName = options.serverName;
  }
}
