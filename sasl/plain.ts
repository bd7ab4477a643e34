/**
 * PLAIN (RFC 4616): the user name and password in the clear, so only ever
 * over a secure stream (the exchange in {@linkcode ./negotiate.ts} enforces
 * that on both sides). The server checks the password against the stored
 * SCRAM credential (it derives the StoredKey from the password and
 * compares), so no plaintext password or extra verifier is stored.
 *
 * @module
 */

import type { CredentialStore, ScramCredential } from "./credentials.ts";
import { DEFAULT_ITERATIONS } from "./credentials.ts";
import type {
  ClientMechanism,
  Identity,
  ServerMechanism,
  ServerStep,
} from "./mechanism.ts";
import { SaslError } from "./sasl_error.ts";
import { saslprep } from "./saslprep.ts";
import {
  keysFromSaltedPassword,
  saltedPassword,
  SCRAM_HASH_LENGTH,
  type ScramHash,
} from "./scram_keys.ts";
import { decodeUtf8, timingSafeEqual, utf8 } from "./_bytes.ts";

/** The longest authzid, authcid or password accepted, in bytes. */
const MAX_FIELD = 1024;

/** Options for {@linkcode PlainClient}. */
export interface PlainClientOptions {
  /** The user name (authcid); SASLprep is applied. */
  username: string;
  /** The password; SASLprep is applied. */
  password: string;
  /** The authorization identity to request, if any. */
  authzid?: string;
}

/**
 * The client side of PLAIN.
 *
 * @example
 * ```ts
 * import { PlainClient } from "./plain.ts";
 *
 * const plain = new PlainClient({ username: "alice", password: "secret" });
 * const initial = await plain.start();
 * console.log(JSON.stringify(new TextDecoder().decode(initial))); // "\u0000alice\u0000secret"
 * await plain.success(null);
 * ```
 */
export class PlainClient implements ClientMechanism {
  /** `"PLAIN"`. */
  readonly name = "PLAIN";
  readonly #message: Uint8Array;
  #started = false;

  /**
   * Make the client side of one exchange.
   *
   * @param options User name, password, authzid.
   * @throws {TypeError} If a field is empty (the authzid may be absent),
   * holds NUL or a character SASLprep prohibits, or is longer than 1024
   * bytes.
   */
  constructor(options: PlainClientOptions) {
    const authcid = saslprep(options?.username, { what: "user name" });
    const passwd = saslprep(options.password, { what: "password" });
    const authzid = options.authzid ?? "";
    if (options.authzid !== undefined && authzid.length === 0) {
      throw new TypeError("authzid must not be empty when given");
    }
    for (
      const [what, v] of [
        ["user name", authcid],
        ["password", passwd],
        ["authzid", authzid],
      ] as const
    ) {
      if (v.length === 0 && what !== "authzid") {
        throw new TypeError(`${what} must not be empty`);
      }
      if (v.includes("\0")) throw new TypeError(`${what} must not hold NUL`);
      if (utf8(v).length > MAX_FIELD) {
        throw new TypeError(`${what} is longer than ${MAX_FIELD} bytes`);
      }
    }
    this.#message = utf8(`${authzid}\0${authcid}\0${passwd}`);
  }

  /**
   * The initial response: `authzid NUL authcid NUL passwd`.
   *
   * @example
   * ```ts
   * import { PlainClient } from "./plain.ts";
   * const p = new PlainClient({ username: "u", password: "p", authzid: "admin" });
   * console.log((await p.start()).length); // 9
   * ```
   *
   * @returns The message.
   */
  start(): Promise<Uint8Array> {
    if (this.#started) {
      return Promise.reject(
        new SaslError("malformed-request", "the exchange has already started"),
      );
    }
    this.#started = true;
    return Promise.resolve(this.#message.slice());
  }

  /**
   * PLAIN has no challenges; an empty one (the server asking for the
   * initial response) is answered with it.
   *
   * @example
   * ```ts
   * import { PlainClient } from "./plain.ts";
   * const p = new PlainClient({ username: "u", password: "p" });
   * console.log((await p.challenge(new Uint8Array())).length); // 4
   * ```
   *
   * @param data The challenge.
   * @returns The message.
   * @throws {SaslError} `malformed-request` for a non-empty challenge.
   */
  challenge(data: Uint8Array): Promise<Uint8Array> {
    if (data.length === 0) {
      this.#started = true;
      return Promise.resolve(this.#message.slice());
    }
    return Promise.reject(
      new SaslError("malformed-request", "PLAIN has no challenges"),
    );
  }

  /**
   * Accept success (PLAIN cannot verify the server; TLS does).
   *
   * @example
   * ```ts
   * import { PlainClient } from "./plain.ts";
   * const p = new PlainClient({ username: "u", password: "p" });
   * await p.start();
   * await p.success(null);
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
          "unexpected PLAIN success (too early, or with additional data)",
        ),
      );
    }
    return Promise.resolve();
  }
}

/** Options for {@linkcode PlainServer}. */
export interface PlainServerOptions {
  /** Where credentials are looked up. */
  store: CredentialStore;
  /**
   * Decide whether the authenticated user may act as the authzid it
   * requested; called only after the password checked out, and only when
   * an authzid was sent.
   *
   * @default {authzid equals the user name}
   */
  authorize?: (identity: Identity) => boolean | Promise<boolean>;
}

/**
 * The server side of PLAIN, checking against SCRAM credentials (SHA-256
 * first, then SHA-1).
 *
 * @example
 * ```ts
 * import { MemoryCredentialStore } from "./credentials.ts";
 * import { PlainServer } from "./plain.ts";
 *
 * const store = new MemoryCredentialStore();
 * await store.setPassword("alice", "secret");
 * const step = await new PlainServer({ store }).step(new TextEncoder().encode("\0alice\0secret"));
 * console.log(step); // { success: { username: "alice" }, additionalData: null }
 * ```
 */
export class PlainServer implements ServerMechanism {
  /** `"PLAIN"`. */
  readonly name = "PLAIN";
  readonly #options: PlainServerOptions;
  #done = false;

  /**
   * Make the server side of one exchange.
   *
   * @param options The store and the authorization policy.
   * @throws {TypeError} If the store is not a credential store.
   */
  constructor(options: PlainServerOptions) {
    if (typeof options?.store?.scram !== "function") {
      throw new TypeError("store must be a CredentialStore");
    }
    this.#options = options;
  }

  /**
   * Check the `authzid NUL authcid NUL passwd` message.
   *
   * @example
   * ```ts
   * import { MemoryCredentialStore } from "./credentials.ts";
   * import { PlainServer } from "./plain.ts";
   * const step = await new PlainServer({ store: new MemoryCredentialStore() })
   *   .step(new TextEncoder().encode("no NULs here"));
   * console.log(step); // { failure: "malformed-request", text: "PLAIN message must be authzid NUL authcid NUL passwd" }
   * ```
   *
   * @param response The message, or `null` (then an empty challenge asks
   * for it).
   * @returns Success, failure, or the empty challenge.
   */
  async step(response: Uint8Array | null): Promise<ServerStep> {
    if (this.#done) {
      return { failure: "malformed-request", text: "the exchange is over" };
    }
    if (response === null) return { challenge: new Uint8Array() };
    this.#done = true;
    try {
      return await this.#check(response);
    } catch (e) {
      if (e instanceof SaslError) return { failure: e.condition, text: e.text };
      return {
        failure: "temporary-auth-failure",
        text: "the credential store or the authorization check failed",
      };
    }
  }

  async #check(response: Uint8Array): Promise<ServerStep> {
    if (response.length > 3 * MAX_FIELD + 2) {
      throw new SaslError("malformed-request", "PLAIN message too long");
    }
    const text = decodeUtf8(response);
    if (text === null) {
      throw new SaslError("malformed-request", "PLAIN message is not UTF-8");
    }
    const parts = text.split("\0");
    if (parts.length !== 3) {
      throw new SaslError(
        "malformed-request",
        "PLAIN message must be authzid NUL authcid NUL passwd",
      );
    }
    const [authzid, rawUser, rawPassword] = parts;
    let username: string;
    let password: string;
    try {
      username = saslprep(rawUser, { what: "user name" });
      password = saslprep(rawPassword, { what: "password" });
    } catch (e) {
      throw new SaslError("malformed-request", (e as Error).message);
    }
    if (username.length === 0 || password.length === 0) {
      throw new SaslError(
        "malformed-request",
        "empty user name or password",
      );
    }
    for (const f of parts) {
      if (utf8(f).length > MAX_FIELD) {
        throw new SaslError(
          "malformed-request",
          `PLAIN field longer than ${MAX_FIELD} bytes`,
        );
      }
    }
    const store = this.#options.store;
    let cred: ScramCredential | null = null;
    for (const hash of ["SHA-256", "SHA-1"] as ScramHash[]) {
      try {
        cred = await store.scram(username, hash);
      } catch (e) {
        if (e instanceof SaslError) throw e;
        throw new SaslError(
          "temporary-auth-failure",
          "the credential store failed",
          { cause: e },
        );
      }
      if (cred !== null) break;
    }
    if (
      cred !== null &&
      cred.storedKey?.length !== SCRAM_HASH_LENGTH[cred.hash]
    ) {
      throw new SaslError(
        "temporary-auth-failure",
        "the stored credential is malformed",
      );
    }
    // Derive even for an unknown user, so that both take as long.
    const params = cred ?? {
      hash: "SHA-256" as const,
      salt: new Uint8Array(16),
      iterations: store.iterations ?? DEFAULT_ITERATIONS,
    };
    const keys = await keysFromSaltedPassword(
      await saltedPassword(password, params),
      params.hash,
    );
    const ok = cred !== null && timingSafeEqual(keys.storedKey, cred.storedKey);
    if (!ok) {
      throw new SaslError("not-authorized", "wrong user name or password");
    }
    const identity: Identity = { username: cred!.username ?? username };
    if (authzid !== "") identity.authzid = authzid;
    const authorize = this.#options.authorize ??
      ((id: Identity) => id.authzid === id.username);
    if (identity.authzid !== undefined && !(await authorize(identity))) {
      throw new SaslError(
        "invalid-authzid",
        `${identity.username} may not act as ${identity.authzid}`,
      );
    }
    return { success: identity, additionalData: null };
  }
}
