/**
 * Server-side credentials: what a server stores to verify SCRAM and PLAIN
 * logins, and a pluggable store for them, in memory by default.
 *
 * Only SCRAM verifiers are stored: per user and hash, the salt, iteration
 * count, StoredKey and ServerKey (RFC 5802 §3). No plaintext password is
 * kept, not even for PLAIN: a PLAIN login is checked by deriving the
 * StoredKey from the password it carries and comparing.
 *
 * A {@linkcode CredentialStore} may throw a {@linkcode SaslError} (for
 * example `account-disabled` or `credentials-expired`) to fail a login with
 * that condition; any other error fails it with `temporary-auth-failure`.
 *
 * @module
 */

import {
  checkScramParams,
  deriveScramKeys,
  SCRAM_HASH_LENGTH,
  type ScramHash,
  type ScramParams,
} from "./scram_keys.ts";
import { saslprep } from "./saslprep.ts";

/** The iteration count used for new credentials unless told otherwise. */
export const DEFAULT_ITERATIONS = 10_000;

/** What a server stores for one user and one hash. */
export interface ScramCredential extends ScramParams {
  /** H(ClientKey). */
  storedKey: Uint8Array;
  /** HMAC(SaltedPassword, "Server Key"). */
  serverKey: Uint8Array;
  /**
   * The account's canonical user name, reported as the authenticated
   * identity. Default: the name the client sent, after SASLprep.
   */
  username?: string;
}

/**
 * Where a server looks up credentials.
 *
 * @example A store backed by a map
 * ```ts
 * import { type CredentialStore, scramCredential, type ScramCredential } from "./credentials.ts";
 *
 * const rows = new Map<string, ScramCredential>([
 *   ["alice/SHA-256", await scramCredential("secret", { hash: "SHA-256" })],
 * ]);
 * const store: CredentialStore = {
 *   scram: (username, hash) => rows.get(`${username}/${hash}`) ?? null,
 * };
 * console.log((await store.scram("alice", "SHA-256"))?.iterations); // 10000
 * ```
 */
export interface CredentialStore {
  /**
   * The SCRAM credential of a user for a hash, or `null` if the user (or a
   * credential for that hash) does not exist.
   *
   * @param username The user name as the client sent it, after SASLprep.
   * @param hash The hash the mechanism uses.
   */
  scram(
    username: string,
    hash: ScramHash,
  ): ScramCredential | null | Promise<ScramCredential | null>;
  /**
   * The iteration count of this store's credentials, used for the decoy
   * challenge an unknown user gets (so that unknown and known users look
   * alike). Default {@linkcode DEFAULT_ITERATIONS}.
   */
  readonly iterations?: number;
}

/** Options for {@linkcode scramCredential}. */
export interface ScramCredentialOptions {
  /**
   * The hash.
   *
   * @default {"SHA-256"}
   */
  hash?: ScramHash;
  /**
   * The PBKDF2 iteration count, at least 4096 (RFC 7677 §4).
   *
   * @default {10000}
   */
  iterations?: number;
  /**
   * The salt.
   *
   * @default {16 random bytes}
   */
  salt?: Uint8Array;
}

/**
 * Derive the credential to store for a password.
 *
 * @example
 * ```ts
 * import { scramCredential } from "./credentials.ts";
 *
 * const cred = await scramCredential("pencil", { hash: "SHA-1", iterations: 4096 });
 * console.log(cred.salt.length, cred.storedKey.length); // 16 20
 * ```
 *
 * @param password The password (SASLprep is applied).
 * @param options Hash, iteration count and salt.
 * @returns The credential.
 * @throws {TypeError} If the password is empty or has prohibited
 * characters, or the hash or salt is invalid.
 * @throws {RangeError} If the iteration count is below 4096.
 */
export async function scramCredential(
  password: string,
  options: ScramCredentialOptions = {},
): Promise<ScramCredential> {
  const params: ScramParams = {
    hash: options.hash ?? "SHA-256",
    salt: options.salt ?? crypto.getRandomValues(new Uint8Array(16)),
    iterations: options.iterations ?? DEFAULT_ITERATIONS,
  };
  checkScramParams(params);
  if (params.iterations < 4096) {
    throw new RangeError(
      `iterations must be at least 4096 (RFC 7677 §4), got ${params.iterations}`,
    );
  }
  const { storedKey, serverKey } = await deriveScramKeys(password, params);
  return { ...params, salt: params.salt.slice(), storedKey, serverKey };
}

/** Check a credential's shape. */
function checkCredential(cred: ScramCredential): void {
  checkScramParams(cred);
  const n = SCRAM_HASH_LENGTH[cred.hash];
  if (
    !(cred.storedKey instanceof Uint8Array) || cred.storedKey.length !== n ||
    !(cred.serverKey instanceof Uint8Array) || cred.serverKey.length !== n
  ) {
    throw new TypeError(
      `storedKey and serverKey must be ${n}-byte Uint8Arrays for ${cred.hash}`,
    );
  }
}

/** Options for {@linkcode MemoryCredentialStore}. */
export interface MemoryCredentialStoreOptions {
  /**
   * The iteration count for {@linkcode MemoryCredentialStore.setPassword},
   * at least 4096.
   *
   * @default {10000}
   */
  iterations?: number;
  /**
   * The hashes {@linkcode MemoryCredentialStore.setPassword} derives
   * credentials for.
   *
   * @default {["SHA-256", "SHA-1"]}
   */
  hashes?: ScramHash[];
}

/**
 * The in-memory {@linkcode CredentialStore}. User names are matched after
 * SASLprep and lower-casing (so `Alice` and `alice` are one account, as
 * XMPP localparts are), and the lower-cased name is the identity reported.
 *
 * @example
 * ```ts
 * import { MemoryCredentialStore } from "./credentials.ts";
 *
 * const store = new MemoryCredentialStore();
 * await store.setPassword("alice", "secret");
 * console.log((await store.scram("Alice", "SHA-1"))?.username); // "alice"
 * console.log(store.scram("bob", "SHA-1")); // null
 * ```
 */
export class MemoryCredentialStore implements CredentialStore {
  /** The iteration count of new credentials. */
  readonly iterations: number;
  readonly #hashes: ScramHash[];
  readonly #users = new Map<string, Map<ScramHash, ScramCredential>>();

  /**
   * Make an empty store.
   *
   * @param options Iteration count and hashes for new passwords.
   * @throws {RangeError} If `iterations` is below 4096.
   * @throws {TypeError} If `hashes` is empty or names an unknown hash.
   */
  constructor(options: MemoryCredentialStoreOptions = {}) {
    this.iterations = options.iterations ?? DEFAULT_ITERATIONS;
    if (!Number.isInteger(this.iterations) || this.iterations < 4096) {
      throw new RangeError(
        `iterations must be an integer of at least 4096, got ${this.iterations}`,
      );
    }
    const hashes = options.hashes ?? ["SHA-256", "SHA-1"];
    if (
      hashes.length === 0 ||
      !hashes.every((h) => h === "SHA-1" || h === "SHA-256")
    ) {
      throw new TypeError(
        `hashes must be a non-empty list of "SHA-1" and "SHA-256"`,
      );
    }
    this.#hashes = [...new Set(hashes)];
  }

  /** The number of users. */
  get size(): number {
    return this.#users.size;
  }

  /**
   * Set a user's password: derive and store a credential per hash, each
   * with a fresh salt. The password itself is not kept.
   *
   * @example
   * ```ts
   * import { MemoryCredentialStore } from "./credentials.ts";
   * const store = new MemoryCredentialStore({ hashes: ["SHA-256"] });
   * await store.setPassword("bob", "pencil");
   * console.log(store.has("bob")); // true
   * ```
   *
   * @param username The user name.
   * @param password The password.
   * @throws {TypeError} If the name or password is empty or has prohibited
   * characters.
   */
  async setPassword(username: string, password: string): Promise<void> {
    const key = this.#key(username);
    const creds = new Map<ScramHash, ScramCredential>();
    for (const hash of this.#hashes) {
      const cred = await scramCredential(password, {
        hash,
        iterations: this.iterations,
      });
      creds.set(hash, { ...cred, username: key });
    }
    this.#users.set(key, creds);
  }

  /**
   * Store a credential derived elsewhere (for example imported from another
   * server's database), next to the user's credentials for other hashes.
   *
   * @example
   * ```ts
   * import { MemoryCredentialStore, scramCredential } from "./credentials.ts";
   * const store = new MemoryCredentialStore();
   * store.set("carol", await scramCredential("pencil", { hash: "SHA-1" }));
   * console.log(store.has("carol")); // true
   * ```
   *
   * @param username The user name.
   * @param credential The credential.
   * @throws {TypeError} If the name is empty or the credential malformed.
   * @throws {RangeError} If its iteration count is not a positive integer.
   */
  set(username: string, credential: ScramCredential): void {
    checkCredential(credential);
    const key = this.#key(username);
    const creds = this.#users.get(key) ?? new Map();
    creds.set(credential.hash, {
      hash: credential.hash,
      salt: credential.salt.slice(),
      iterations: credential.iterations,
      storedKey: credential.storedKey.slice(),
      serverKey: credential.serverKey.slice(),
      username: key,
    });
    this.#users.set(key, creds);
  }

  /**
   * Whether the user exists.
   *
   * @example
   * ```ts
   * import { MemoryCredentialStore } from "./credentials.ts";
   * console.log(new MemoryCredentialStore().has("alice")); // false
   * ```
   *
   * @param username The user name.
   * @returns `true` if it has credentials.
   */
  has(username: string): boolean {
    return this.#users.has(this.#key(username));
  }

  /**
   * Remove a user.
   *
   * @example
   * ```ts
   * import { MemoryCredentialStore } from "./credentials.ts";
   * console.log(new MemoryCredentialStore().delete("alice")); // false
   * ```
   *
   * @param username The user name.
   * @returns `true` if the user existed.
   */
  delete(username: string): boolean {
    return this.#users.delete(this.#key(username));
  }

  /**
   * Look up a credential; see {@linkcode CredentialStore.scram}.
   *
   * @example
   * ```ts
   * import { MemoryCredentialStore } from "./credentials.ts";
   * const store = new MemoryCredentialStore();
   * console.log(store.scram("nobody", "SHA-256")); // null
   * ```
   *
   * @param username The user name.
   * @param hash The hash.
   * @returns The credential, or `null`.
   */
  scram(username: string, hash: ScramHash): ScramCredential | null {
    let key: string;
    try {
      key = this.#key(username);
    } catch {
      return null;
    }
    return this.#users.get(key)?.get(hash) ?? null;
  }

  #key(username: string): string {
    const key = saslprep(username, { what: "user name" }).toLowerCase();
    if (key.length === 0) throw new TypeError("user name must not be empty");
    return key;
  }
}
