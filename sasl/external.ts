/**
 * EXTERNAL (RFC 4422 Appendix A): authentication by something outside
 * SASL, in XMPP a client certificate the TLS layer verified (XEP-0178).
 * The client only names the authorization identity it wants (or none, sent
 * as `=`); the server asks an injected check who the TLS layer
 * authenticated.
 *
 * @module
 */

import type {
  ClientMechanism,
  Identity,
  ServerMechanism,
  ServerStep,
} from "./mechanism.ts";
import { SaslError } from "./sasl_error.ts";
import { decodeUtf8, utf8 } from "./_bytes.ts";

/** The longest authzid accepted, in bytes (a JID's maximum, RFC 7622). */
const MAX_AUTHZID = 3071;

/** Options for {@linkcode ExternalClient}. */
export interface ExternalClientOptions {
  /**
   * The authorization identity to request; none lets the server derive it
   * from the certificate.
   */
  authzid?: string;
}

/**
 * The client side of EXTERNAL.
 *
 * @example
 * ```ts
 * import { ExternalClient } from "./external.ts";
 *
 * const ext = new ExternalClient();
 * console.log((await ext.start()).length); // 0: sent as "="
 * await ext.success(null);
 * ```
 */
export class ExternalClient implements ClientMechanism {
  /** `"EXTERNAL"`. */
  readonly name = "EXTERNAL";
  readonly #authzid: Uint8Array;
  #started = false;

  /**
   * Make the client side of one exchange.
   *
   * @param options The authzid to request.
   * @throws {TypeError} If the authzid is empty, holds NUL or is longer
   * than 3071 bytes.
   */
  constructor(options: ExternalClientOptions = {}) {
    const authzid = options.authzid;
    if (authzid !== undefined) {
      if (typeof authzid !== "string" || authzid.length === 0) {
        throw new TypeError("authzid must be a non-empty string when given");
      }
      if (authzid.includes("\0")) {
        throw new TypeError("authzid must not hold NUL");
      }
      if (utf8(authzid).length > MAX_AUTHZID) {
        throw new TypeError(`authzid is longer than ${MAX_AUTHZID} bytes`);
      }
    }
    this.#authzid = utf8(authzid ?? "");
  }

  /**
   * The initial response: the authzid, or empty.
   *
   * @example
   * ```ts
   * import { ExternalClient } from "./external.ts";
   * const ext = new ExternalClient({ authzid: "alice@example.org" });
   * console.log(new TextDecoder().decode(await ext.start())); // "alice@example.org"
   * ```
   *
   * @returns The authzid bytes.
   */
  start(): Promise<Uint8Array> {
    this.#started = true;
    return Promise.resolve(this.#authzid.slice());
  }

  /**
   * Only an empty challenge (asking for the initial response) is valid.
   *
   * @example
   * ```ts
   * import { ExternalClient } from "./external.ts";
   * console.log((await new ExternalClient().challenge(new Uint8Array())).length); // 0
   * ```
   *
   * @param data The challenge.
   * @returns The authzid bytes.
   * @throws {SaslError} `malformed-request` for a non-empty challenge.
   */
  challenge(data: Uint8Array): Promise<Uint8Array> {
    if (data.length === 0) return this.start();
    return Promise.reject(
      new SaslError("malformed-request", "EXTERNAL has no challenges"),
    );
  }

  /**
   * Accept success.
   *
   * @example
   * ```ts
   * import { ExternalClient } from "./external.ts";
   * const ext = new ExternalClient();
   * await ext.start();
   * await ext.success(null);
   * ```
   *
   * @param additionalData Must be absent or empty.
   * @throws {SaslError} `malformed-request` for success before the initial
   * response or with additional data.
   */
  success(additionalData: Uint8Array | null): Promise<void> {
    if (!this.#started || (additionalData !== null && additionalData.length)) {
      return Promise.reject(
        new SaslError(
          "malformed-request",
          "unexpected EXTERNAL success (too early, or with additional data)",
        ),
      );
    }
    return Promise.resolve();
  }
}

/** Options for {@linkcode ExternalServer}. */
export interface ExternalServerOptions {
  /**
   * The user the TLS layer authenticated (from the client certificate), or
   * `null` if none.
   */
  identity: string | null;
  /**
   * Decide whether the user may act as the authzid it requested; called
   * only when an authzid was sent.
   *
   * @default {authzid equals the identity}
   */
  authorize?: (identity: Identity) => boolean | Promise<boolean>;
}

/**
 * The server side of EXTERNAL.
 *
 * @example
 * ```ts
 * import { ExternalServer } from "./external.ts";
 *
 * const ext = new ExternalServer({ identity: "alice" });
 * console.log(await ext.step(new Uint8Array())); // { success: { username: "alice" }, additionalData: null }
 * ```
 */
export class ExternalServer implements ServerMechanism {
  /** `"EXTERNAL"`. */
  readonly name = "EXTERNAL";
  readonly #options: ExternalServerOptions;
  #done = false;

  /**
   * Make the server side of one exchange.
   *
   * @param options The identity the TLS layer authenticated, the policy.
   * @throws {TypeError} If the identity is neither a non-empty string nor
   * `null`.
   */
  constructor(options: ExternalServerOptions) {
    const id = options?.identity;
    if (id !== null && (typeof id !== "string" || id.length === 0)) {
      throw new TypeError("identity must be a non-empty string or null");
    }
    this.#options = options;
  }

  /**
   * Check the authzid against the externally authenticated identity.
   *
   * @example
   * ```ts
   * import { ExternalServer } from "./external.ts";
   * const step = await new ExternalServer({ identity: null }).step(new Uint8Array());
   * if ("failure" in step) console.log(step.failure); // "not-authorized"
   * ```
   *
   * @param response The authzid bytes, or `null` (then an empty challenge
   * asks for them).
   * @returns Success, failure, or the empty challenge.
   */
  async step(response: Uint8Array | null): Promise<ServerStep> {
    if (this.#done) {
      return { failure: "malformed-request", text: "the exchange is over" };
    }
    if (response === null) return { challenge: new Uint8Array() };
    this.#done = true;
    if (response.length > MAX_AUTHZID) {
      return { failure: "malformed-request", text: "authzid too long" };
    }
    const authzid = decodeUtf8(response);
    if (authzid === null || authzid.includes("\0")) {
      return {
        failure: "malformed-request",
        text: "authzid is not UTF-8 without NUL",
      };
    }
    const username = this.#options.identity;
    if (username === null) {
      return {
        failure: "not-authorized",
        text: "no client certificate was authenticated on this connection",
      };
    }
    const identity: Identity = { username };
    if (authzid !== "") identity.authzid = authzid;
    const authorize = this.#options.authorize ??
      ((id: Identity) => id.authzid === id.username);
    try {
      if (identity.authzid !== undefined && !(await authorize(identity))) {
        return {
          failure: "invalid-authzid",
          text: `${username} may not act as ${authzid}`,
        };
      }
    } catch {
      return {
        failure: "temporary-auth-failure",
        text: "the authorization check failed",
      };
    }
    return { success: identity, additionalData: null };
  }
}
