/**
 * The client side of SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677),
 * with or without channel binding (`-PLUS`).
 *
 * @module
 */

import { type ChannelBinding, checkChannelBinding } from "./channel_binding.ts";
import type { ClientMechanism } from "./mechanism.ts";
import { SaslError } from "./sasl_error.ts";
import { saslprep } from "./saslprep.ts";
import type { ScramCache } from "./scram_cache.ts";
import {
  deriveScramKeys,
  SCRAM_HASH_LENGTH,
  type ScramHash,
  type ScramKeys,
  type ScramParams,
} from "./scram_keys.ts";
import { scramDigest, scramHmac } from "./_scram_crypto.ts";
import {
  escapeSaslname,
  isNonce,
  parseServerFinal,
  parseServerFirst,
  scramText,
} from "./_scram_message.ts";
import {
  concat,
  decodeBase64,
  encodeBase64,
  timingSafeEqual,
  utf8,
  xor,
} from "./_bytes.ts";

/** Keys a client derived earlier, with the parameters they belong to. */
export interface ScramClientKeys extends ScramParams {
  /** HMAC(SaltedPassword, "Client Key"). */
  clientKey: Uint8Array;
  /** HMAC(SaltedPassword, "Server Key"). */
  serverKey: Uint8Array;
}

/** Options for {@linkcode ScramClient}. */
export interface ScramClientOptions {
  /** The user name (SASLprep is applied, then `saslname` escaping). */
  username: string;
  /** The password. Needed unless `keys` match what the server sends. */
  password?: string;
  /**
   * Keys derived earlier. Used when the server's salt and iteration count
   * match one of them; otherwise the password is needed.
   *
   * @default {[]}
   */
  keys?: ScramClientKeys[];
  /** The authorization identity to request, if any. */
  authzid?: string;
  /**
   * Bind to this channel: the mechanism is the `-PLUS` variant and sends
   * `p=<type>`.
   */
  binding?: ChannelBinding;
  /**
   * Without `binding`: whether this client supports channel binding but the
   * server offered no `-PLUS` mechanism, so the GS2 flag is `y` (a server
   * that does support it then detects a downgrade). `false` sends `n`.
   *
   * @default {false}
   */
  bindingSupported?: boolean;
  /**
   * Where derived keys are cached across logins (see
   * {@linkcode ScramCache}). Without it every login runs PBKDF2.
   */
  cache?: ScramCache;
  /**
   * The lowest iteration count accepted from the server; fewer fails with
   * `mechanism-too-weak`.
   *
   * @default {4096}
   */
  minIterations?: number;
  /**
   * The highest iteration count accepted from the server (PBKDF2 time grows
   * with it, about 0.15 µs per iteration); more fails with
   * `malformed-request`.
   *
   * @default {1000000}
   */
  maxIterations?: number;
  /**
   * The client nonce, printable ASCII without `,`. Only for tests (the RFC
   * vectors); never set it otherwise.
   *
   * @default {24 random bytes, base64}
   */
  nonce?: string;
}

type State = "initial" | "first-sent" | "final-sent" | "verified" | "done";

/**
 * The client side of SCRAM.
 *
 * @example The RFC 5802 §5 exchange, client side
 * ```ts
 * import { ScramClient } from "./scram_client.ts";
 *
 * const text = (b: Uint8Array) => new TextDecoder().decode(b);
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * const client = new ScramClient("SHA-1", {
 *   username: "user",
 *   password: "pencil",
 *   nonce: "fyko+d2lbbFgONRv9qkxdawL",
 * });
 * console.log(text((await client.start())!)); // n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL
 * const final = await client.challenge(
 *   bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
 * );
 * console.log(text(final)); // c=biws,r=…,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=
 * await client.success(bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")); // verified
 * ```
 */
export class ScramClient implements ClientMechanism {
  /** `SCRAM-SHA-1`, `SCRAM-SHA-256`, or either with `-PLUS`. */
  readonly name: string;
  readonly #hash: ScramHash;
  readonly #options: ScramClientOptions;
  readonly #nonce: string;
  readonly #minIterations: number;
  readonly #maxIterations: number;
  #state: State = "initial";
  #gs2Header = "";
  #bare = "";
  #serverSignature: Uint8Array | null = null;

  /**
   * Make the client side of one exchange.
   *
   * @param hash `"SHA-1"` or `"SHA-256"`.
   * @param options Credentials, channel binding and limits.
   * @throws {TypeError} If the hash is unknown, the user name is empty or
   * has prohibited characters, neither a password nor keys are given, the
   * nonce or binding is malformed.
   * @throws {RangeError} If the iteration limits are not positive integers
   * with `minIterations <= maxIterations`.
   */
  constructor(hash: ScramHash, options: ScramClientOptions) {
    if (hash !== "SHA-1" && hash !== "SHA-256") {
      throw new TypeError(
        `SCRAM hash must be "SHA-1" or "SHA-256", got ${JSON.stringify(hash)}`,
      );
    }
    if (typeof options?.username !== "string") {
      throw new TypeError("username must be a string");
    }
    if (options.password === undefined && !options.keys?.length) {
      throw new TypeError("SCRAM needs a password or derived keys");
    }
    if (options.password !== undefined && options.password.length === 0) {
      throw new TypeError("password must not be empty");
    }
    if (options.binding !== undefined) checkChannelBinding(options.binding);
    if (options.authzid !== undefined && options.authzid.length === 0) {
      throw new TypeError("authzid must not be empty when given");
    }
    if (options.authzid?.includes("\0")) {
      throw new TypeError("authzid must not contain NUL");
    }
    this.#minIterations = options.minIterations ?? 4096;
    this.#maxIterations = options.maxIterations ?? 1_000_000;
    if (
      !Number.isInteger(this.#minIterations) || this.#minIterations < 1 ||
      !Number.isInteger(this.#maxIterations) ||
      this.#maxIterations < this.#minIterations
    ) {
      throw new RangeError(
        `minIterations and maxIterations must be positive integers with min <= max, got ${this.#minIterations} and ${this.#maxIterations}`,
      );
    }
    this.#nonce = options.nonce ??
      crypto.getRandomValues(new Uint8Array(24)).toBase64();
    if (!isNonce(this.#nonce)) {
      throw new TypeError("nonce must be printable ASCII without ','");
    }
    this.#hash = hash;
    this.#options = options;
    this.name = `SCRAM-${hash}${options.binding ? "-PLUS" : ""}`;
    const user = saslprep(options.username, { what: "user name" });
    if (user.length === 0) throw new TypeError("username must not be empty");
    const flag = options.binding
      ? `p=${options.binding.type}`
      : options.bindingSupported
      ? "y"
      : "n";
    const authz = options.authzid === undefined
      ? ""
      : `a=${escapeSaslname(options.authzid)}`;
    this.#gs2Header = `${flag},${authz},`;
    this.#bare = `n=${escapeSaslname(user)},r=${this.#nonce}`;
  }

  /**
   * The client-first-message.
   *
   * @example
   * ```ts
   * import { ScramClient } from "./scram_client.ts";
   * const c = new ScramClient("SHA-256", { username: "a,b", password: "p", nonce: "abc" });
   * console.log(new TextDecoder().decode((await c.start())!)); // n,,n=a=2Cb,r=abc
   * ```
   *
   * @returns The initial response.
   * @throws {SaslError} `malformed-request` if called twice.
   */
  start(): Promise<Uint8Array> {
    if (this.#state !== "initial") {
      return Promise.reject(
        new SaslError("malformed-request", "the exchange has already started"),
      );
    }
    this.#state = "first-sent";
    return Promise.resolve(utf8(this.#gs2Header + this.#bare));
  }

  /**
   * Answer the server-first-message with the client-final-message (and
   * accept a server-final-message sent as a challenge, answering it with an
   * empty response).
   *
   * @example
   * ```ts
   * import { ScramClient } from "./scram_client.ts";
   * import { SaslError } from "./sasl_error.ts";
   * const c = new ScramClient("SHA-1", { username: "user", password: "pencil", nonce: "abc" });
   * await c.start();
   * try {
   *   await c.challenge(new TextEncoder().encode("r=abcdef,s=QSXCR+Q6sek8bf92,i=1000"));
   * } catch (e) {
   *   console.log((e as SaslError).condition); // "mechanism-too-weak"
   * }
   * ```
   *
   * @param data The challenge.
   * @returns The response.
   * @throws {SaslError} If the challenge is malformed, the server nonce does
   * not extend ours, the iteration count is out of bounds, or a
   * server-final-message does not verify.
   */
  async challenge(data: Uint8Array): Promise<Uint8Array> {
    if (this.#state === "first-sent") return await this.#final(data);
    if (this.#state === "final-sent") {
      this.#verify(data);
      return new Uint8Array();
    }
    this.#state = "done";
    throw new SaslError(
      "malformed-request",
      "unexpected SCRAM challenge after the exchange finished",
    );
  }

  /**
   * Accept `<success/>` only if the server proved knowledge of the
   * password: its signature (`v=`) must have arrived, here or in the last
   * challenge, and match.
   *
   * @example
   * ```ts
   * import { ScramClient } from "./scram_client.ts";
   * const c = new ScramClient("SHA-1", { username: "user", password: "pencil" });
   * await c.start();
   * await c.success(null).catch((e) => console.log(e.condition)); // "malformed-request"
   * ```
   *
   * @param additionalData The data sent with success, `null` if none.
   * @throws {SaslError} `not-authorized` when the signature is missing or
   * wrong, `malformed-request` when success arrives before the exchange
   * finished.
   */
  success(additionalData: Uint8Array | null): Promise<void> {
    try {
      this.#succeed(additionalData);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #succeed(additionalData: Uint8Array | null): void {
    const state = this.#state;
    if (state === "verified") {
      this.#state = "done";
      if (additionalData !== null && additionalData.length > 0) {
        this.#verify(additionalData, true);
      }
      return;
    }
    if (state !== "final-sent") {
      this.#state = "done";
      throw new SaslError(
        "malformed-request",
        "the server sent success before the SCRAM exchange finished: it is not verified",
      );
    }
    if (additionalData === null || additionalData.length === 0) {
      this.#state = "done";
      throw new SaslError(
        "not-authorized",
        "the server sent success without its SCRAM signature (v=): it is not verified",
      );
    }
    this.#verify(additionalData);
    this.#state = "done";
  }

  async #final(data: Uint8Array): Promise<Uint8Array> {
    this.#state = "done"; // until this step succeeds
    const serverFirst = scramText(data, "server-first-message");
    const first = parseServerFirst(serverFirst);
    if (
      !first.nonce.startsWith(this.#nonce) ||
      first.nonce.length === this.#nonce.length
    ) {
      throw new SaslError(
        "malformed-request",
        "the server nonce does not extend the client nonce",
      );
    }
    const salt = decodeBase64(first.salt);
    if (salt === null || salt.length === 0) {
      throw new SaslError("malformed-request", "the salt is not base64");
    }
    if (first.iterations < this.#minIterations) {
      throw new SaslError(
        "mechanism-too-weak",
        `the server's iteration count ${first.iterations} is below the minimum ${this.#minIterations} (minIterations)`,
      );
    }
    if (first.iterations > this.#maxIterations) {
      throw new SaslError(
        "malformed-request",
        `the server's iteration count ${first.iterations} is above the maximum ${this.#maxIterations} (maxIterations)`,
      );
    }
    const params: ScramParams = {
      hash: this.#hash,
      salt,
      iterations: first.iterations,
    };
    const keys = await this.#deriveKeys(params);
    const binding = this.#options.binding;
    const cbind = concat(
      utf8(this.#gs2Header),
      binding ? binding.data : new Uint8Array(),
    );
    const withoutProof = `c=${encodeBase64(cbind)},r=${first.nonce}`;
    const authMessage = utf8(`${this.#bare},${serverFirst},${withoutProof}`);
    const [clientSignature, serverSignature] = await Promise.all([
      scramHmac(this.#hash, keys.storedKey, authMessage),
      scramHmac(this.#hash, keys.serverKey, authMessage),
    ]);
    this.#serverSignature = serverSignature;
    const proof = xor(keys.clientKey, clientSignature);
    this.#state = "final-sent";
    return utf8(`${withoutProof},p=${encodeBase64(proof)}`);
  }

  async #deriveKeys(params: ScramParams): Promise<ScramKeys> {
    for (const k of this.#options.keys ?? []) {
      if (
        k.hash === params.hash && k.iterations === params.iterations &&
        timingSafeEqual(k.salt, params.salt) &&
        k.clientKey.length === SCRAM_HASH_LENGTH[params.hash]
      ) {
        return {
          clientKey: k.clientKey,
          storedKey: await scramDigest(params.hash, k.clientKey),
          serverKey: k.serverKey,
        };
      }
    }
    const password = this.#options.password;
    if (password === undefined) {
      throw new SaslError(
        "not-authorized",
        `no derived keys for the server's salt and ${params.iterations} iterations, and no password to derive them`,
      );
    }
    return this.#options.cache
      ? await this.#options.cache.keys(password, params)
      : await deriveScramKeys(password, params);
  }

  #verify(data: Uint8Array, again = false): void {
    this.#state = "done";
    const final = parseServerFinal(scramText(data, "server-final-message"));
    if ("error" in final) {
      throw new SaslError(
        "not-authorized",
        `the server reports SCRAM error "${final.error}"`,
      );
    }
    const got = decodeBase64(final.verifier);
    if (
      got === null || this.#serverSignature === null ||
      !timingSafeEqual(got, this.#serverSignature)
    ) {
      throw new SaslError(
        "not-authorized",
        "the server's SCRAM signature is wrong: it does not know the password, or the exchange was tampered with",
      );
    }
    this.#state = again ? "done" : "verified";
  }
}
