/**
 * The server side of SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677),
 * with or without channel binding (`-PLUS`), verifying against a
 * {@linkcode CredentialStore}.
 *
 * Unknown users get a decoy challenge (a salt derived from the name with a
 * secret, the store's iteration count) and fail only at the proof, with the
 * same `not-authorized` a wrong password gets, so that the exchange does
 * not reveal which accounts exist.
 *
 * @module
 */

import { type ChannelBinding, checkChannelBinding } from "./channel_binding.ts";
import {
  type CredentialStore,
  DEFAULT_ITERATIONS,
  type ScramCredential,
} from "./credentials.ts";
import type { Identity, ServerMechanism, ServerStep } from "./mechanism.ts";
import { SaslError } from "./sasl_error.ts";
import { saslprep } from "./saslprep.ts";
import { SCRAM_HASH_LENGTH, type ScramHash } from "./scram_keys.ts";
import { scramDigest, scramHmac } from "./_scram_crypto.ts";
import {
  isNonce,
  parseClientFinal,
  parseClientFirst,
  scramText,
} from "./_scram_message.ts";
import {
  concat,
  decodeBase64,
  encodeBase64,
  timingSafeEqual,
  timingSafeEqualString,
  utf8,
  xor,
} from "./_bytes.ts";

/** Options for {@linkcode ScramServer}. */
export interface ScramServerOptions {
  /** Where credentials are looked up. */
  store: CredentialStore;
  /**
   * Whether this is the `-PLUS` variant (the client must bind to
   * `binding`).
   *
   * @default {false}
   */
  plus?: boolean;
  /**
   * This connection's channel binding data, as the server sees it. Needed
   * for `-PLUS`.
   *
   * @default {null}
   */
  binding?: ChannelBinding | null;
  /**
   * Whether `-PLUS` mechanisms were offered on this stream: a client that
   * sends the `y` flag then detected a downgrade, and fails.
   *
   * @default {binding !== null}
   */
  plusOffered?: boolean;
  /**
   * Decide whether the authenticated user may act as the authzid it
   * requested. Called only after the proof verified, and only when an
   * authzid was sent.
   *
   * @default {authzid equals the user name}
   */
  authorize?: (identity: Identity) => boolean | Promise<boolean>;
  /**
   * The server's part of the nonce, printable ASCII without `,`. Only for
   * tests (the RFC vectors).
   *
   * @default {18 random bytes, base64}
   */
  nonce?: string;
  /**
   * The secret the decoy salts of unknown users derive from. Set the same
   * one on every server process of a cluster so decoys stay stable.
   *
   * @default {a random secret per process}
   */
  decoySecret?: Uint8Array;
}

let processSecret: Uint8Array | null = null;

type State = "initial" | "first-sent" | "done";

/**
 * The server side of SCRAM: one instance per exchange.
 *
 * @example The RFC 7677 §3 exchange, server side
 * ```ts
 * import { MemoryCredentialStore, scramCredential } from "./credentials.ts";
 * import { ScramServer } from "./scram_server.ts";
 *
 * const store = new MemoryCredentialStore();
 * store.set("user", await scramCredential("pencil", {
 *   hash: "SHA-256",
 *   salt: Uint8Array.fromBase64("W22ZaJ0SNY7soEsUEjb6gQ=="),
 *   iterations: 4096,
 * }));
 * const server = new ScramServer("SHA-256", { store, nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" });
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * const first = await server.step(bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
 * console.log("challenge" in first); // true
 * const last = await server.step(bytes(
 *   "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
 *     "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
 * ));
 * if ("success" in last) console.log(last.success.username); // "user"
 * ```
 */
export class ScramServer implements ServerMechanism {
  /** `SCRAM-SHA-1`, `SCRAM-SHA-256`, or either with `-PLUS`. */
  readonly name: string;
  readonly #hash: ScramHash;
  readonly #options: ScramServerOptions;
  readonly #binding: ChannelBinding | null;
  readonly #plus: boolean;
  readonly #plusOffered: boolean;
  #state: State = "initial";
  #clientFirstBare = "";
  #serverFirst = "";
  #gs2Header = "";
  #nonce = "";
  #username = "";
  #authzid: string | undefined;
  #credential: ScramCredential | null = null;

  /**
   * Make the server side of one exchange.
   *
   * @param hash `"SHA-1"` or `"SHA-256"`.
   * @param options Store, channel binding, authorization.
   * @throws {TypeError} If the hash is unknown, `-PLUS` lacks binding data,
   * or the store, binding or nonce is malformed.
   */
  constructor(hash: ScramHash, options: ScramServerOptions) {
    if (hash !== "SHA-1" && hash !== "SHA-256") {
      throw new TypeError(
        `SCRAM hash must be "SHA-1" or "SHA-256", got ${JSON.stringify(hash)}`,
      );
    }
    if (typeof options?.store?.scram !== "function") {
      throw new TypeError("store must be a CredentialStore");
    }
    this.#binding = options.binding ?? null;
    if (this.#binding !== null) checkChannelBinding(this.#binding);
    this.#plus = options.plus ?? false;
    if (this.#plus && this.#binding === null) {
      throw new TypeError("SCRAM -PLUS needs the channel binding data");
    }
    this.#plusOffered = options.plusOffered ?? this.#binding !== null;
    if (options.nonce !== undefined && !isNonce(options.nonce)) {
      throw new TypeError("nonce must be printable ASCII without ','");
    }
    this.#hash = hash;
    this.#options = options;
    this.name = `SCRAM-${hash}${this.#plus ? "-PLUS" : ""}`;
  }

  /**
   * Process the client-first-message (answering with the
   * server-first-message), then the client-final-message (answering with
   * success and the server signature, or a failure).
   *
   * @example An unknown mandatory extension fails the exchange
   * ```ts
   * import { MemoryCredentialStore } from "./credentials.ts";
   * import { ScramServer } from "./scram_server.ts";
   *
   * const server = new ScramServer("SHA-1", { store: new MemoryCredentialStore() });
   * const step = await server.step(new TextEncoder().encode("n,,m=ext,n=user,r=abc"));
   * console.log(step); // { failure: "malformed-request", text: "unsupported mandatory extension (m=)" }
   * ```
   *
   * @param response The client data (`null` when `<auth/>` carried none).
   * @returns A challenge, success or failure.
   */
  async step(response: Uint8Array | null): Promise<ServerStep> {
    try {
      if (this.#state === "initial") {
        if (response === null) return { challenge: new Uint8Array() };
        return await this.#first(response);
      }
      if (this.#state === "first-sent") {
        return await this.#final(response ?? new Uint8Array());
      }
      throw new SaslError("malformed-request", "the exchange is over");
    } catch (e) {
      this.#state = "done";
      if (e instanceof SaslError) {
        return { failure: e.condition, text: e.text };
      }
      return {
        failure: "temporary-auth-failure",
        text: "the credential store or the authorization check failed",
      };
    }
  }

  async #first(data: Uint8Array): Promise<ServerStep> {
    this.#state = "done";
    const msg = scramText(data, "client-first-message");
    const first = parseClientFirst(msg);
    if (this.#plus && first.flag !== "p") {
      throw new SaslError(
        "malformed-request",
        `${this.name} needs the p= channel binding flag`,
      );
    }
    if (!this.#plus && first.flag === "p") {
      throw new SaslError(
        "malformed-request",
        `p= channel binding with ${this.name}; use ${this.name}-PLUS`,
      );
    }
    if (first.flag === "p" && first.cbName !== this.#binding?.type) {
      throw new SaslError(
        "malformed-request",
        `unsupported-channel-binding-type: ${first.cbName} (this server binds with ${this.#binding?.type})`,
      );
    }
    if (first.flag === "y" && this.#plusOffered) {
      throw new SaslError(
        "not-authorized",
        "server-does-support-channel-binding: the client saw no -PLUS mechanism, but this server offered one (possible downgrade attack)",
      );
    }
    let username: string;
    try {
      username = saslprep(first.username, { what: "user name" });
    } catch (e) {
      throw new SaslError("malformed-request", (e as Error).message);
    }
    if (username.length === 0) {
      throw new SaslError("malformed-request", "empty user name");
    }
    if (first.nonce.length > 256) {
      throw new SaslError("malformed-request", "client nonce too long");
    }
    const store = this.#options.store;
    let cred: ScramCredential | null;
    try {
      cred = await store.scram(username, this.#hash);
    } catch (e) {
      if (e instanceof SaslError) throw e;
      throw new SaslError(
        "temporary-auth-failure",
        "the credential store failed",
        { cause: e },
      );
    }
    if (cred !== null && !validCredential(cred, this.#hash)) {
      throw new SaslError(
        "temporary-auth-failure",
        "the stored credential is malformed",
      );
    }
    const params = cred ?? await decoy(
      this.#hash,
      username,
      store.iterations ?? DEFAULT_ITERATIONS,
      this.#options.decoySecret,
    );
    const serverNonce = this.#options.nonce ??
      crypto.getRandomValues(new Uint8Array(18)).toBase64();
    this.#credential = cred;
    this.#username = cred?.username ?? username;
    this.#authzid = first.authzid;
    this.#gs2Header = first.gs2Header;
    this.#clientFirstBare = first.bare;
    this.#nonce = first.nonce + serverNonce;
    this.#serverFirst = `r=${this.#nonce},s=${
      encodeBase64(params.salt)
    },i=${params.iterations}`;
    this.#state = "first-sent";
    return { challenge: utf8(this.#serverFirst) };
  }

  async #final(data: Uint8Array): Promise<ServerStep> {
    this.#state = "done";
    const msg = scramText(data, "client-final-message");
    const final = parseClientFinal(msg);
    const cbind = decodeBase64(final.channelBinding);
    if (cbind === null) {
      throw new SaslError("malformed-request", "c= is not base64");
    }
    const expected = concat(
      utf8(this.#gs2Header),
      this.#plus ? this.#binding!.data : new Uint8Array(),
    );
    if (!timingSafeEqual(cbind, expected)) {
      throw new SaslError(
        "not-authorized",
        this.#plus
          ? "channel-bindings-dont-match: the client is bound to another channel (a TLS proxy in the middle?)"
          : "c= does not repeat the GS2 header",
      );
    }
    if (!timingSafeEqualString(final.nonce, this.#nonce)) {
      throw new SaslError("malformed-request", "the nonce does not match");
    }
    const proof = decodeBase64(final.proof);
    if (proof === null || proof.length !== SCRAM_HASH_LENGTH[this.#hash]) {
      throw new SaslError(
        "malformed-request",
        `p= must be the base64 of ${SCRAM_HASH_LENGTH[this.#hash]} bytes`,
      );
    }
    const cred = this.#credential;
    const storedKey = cred?.storedKey ??
      new Uint8Array(SCRAM_HASH_LENGTH[this.#hash]);
    const authMessage = utf8(
      `${this.#clientFirstBare},${this.#serverFirst},${final.withoutProof}`,
    );
    const clientSignature = await scramHmac(
      this.#hash,
      storedKey,
      authMessage,
    );
    const clientKey = xor(proof, clientSignature);
    const ok = timingSafeEqual(
      await scramDigest(this.#hash, clientKey),
      storedKey,
    );
    if (!ok || cred === null) {
      throw new SaslError("not-authorized", "invalid-proof");
    }
    const identity: Identity = { username: this.#username };
    if (this.#authzid !== undefined) identity.authzid = this.#authzid;
    const authorize = this.#options.authorize ?? defaultAuthorize;
    if (identity.authzid !== undefined && !(await authorize(identity))) {
      throw new SaslError(
        "invalid-authzid",
        `${identity.username} may not act as ${identity.authzid}`,
      );
    }
    const signature = await scramHmac(
      this.#hash,
      cred.serverKey,
      authMessage,
    );
    return {
      success: identity,
      additionalData: utf8(`v=${encodeBase64(signature)}`),
    };
  }
}

/** authzid absent or the user name itself. */
function defaultAuthorize(identity: Identity): boolean {
  return identity.authzid === undefined ||
    identity.authzid === identity.username;
}

function validCredential(cred: ScramCredential, hash: ScramHash): boolean {
  const n = SCRAM_HASH_LENGTH[hash];
  return cred.hash === hash && cred.storedKey?.length === n &&
    cred.serverKey?.length === n && cred.salt?.length > 0 &&
    Number.isInteger(cred.iterations) && cred.iterations > 0;
}

/** A stable fake salt for an unknown user. */
async function decoy(
  hash: ScramHash,
  username: string,
  iterations: number,
  secret: Uint8Array | undefined,
): Promise<{ salt: Uint8Array; iterations: number }> {
  processSecret ??= crypto.getRandomValues(new Uint8Array(32));
  const mac = await scramHmac(
    "SHA-256",
    secret ?? processSecret,
    utf8(`${hash}\0${username.toLowerCase()}`),
  );
  return { salt: mac.slice(0, 16), iterations };
}
