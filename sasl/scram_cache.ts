/**
 * A client-side cache of SCRAM keys, so that a reconnect to the same server
 * skips PBKDF2.
 *
 * An entry is keyed by (password, hash, salt, iteration count): a hit needs
 * all four to match, so a changed password, a new salt or a raised
 * iteration count on the server all miss and derive afresh. The password
 * itself is never stored: the key holds an HMAC of it under a random
 * per-cache secret. The cached ClientKey and ServerKey are, like the
 * password, enough to log in to the server that issued the salt: keep the
 * cache in the process that holds the password, and `clear()` it when the
 * user logs out or changes the password.
 *
 * @module
 */

import { encodeBase64, utf8 } from "./_bytes.ts";
import {
  checkScramParams,
  deriveScramKeys,
  type ScramKeys,
  type ScramParams,
} from "./scram_keys.ts";

/** Options for {@linkcode ScramCache}. */
export interface ScramCacheOptions {
  /**
   * The most entries kept; the least recently used goes first. A positive
   * integer.
   *
   * @default {16}
   */
  maxEntries?: number;
}

/**
 * A bounded, least-recently-used cache of derived SCRAM keys.
 *
 * @example Two logins, one PBKDF2
 * ```ts
 * import { ScramCache } from "./scram_cache.ts";
 *
 * const cache = new ScramCache();
 * const params = { hash: "SHA-1" as const, salt: new Uint8Array(16).fill(1), iterations: 10_000 };
 * const a = await cache.keys("secret", params); // derives
 * const b = await cache.keys("secret", params); // cached
 * console.log(a === b, cache.size, cache.misses); // true 1 1
 * cache.clear();
 * ```
 */
export class ScramCache {
  readonly #max: number;
  readonly #entries = new Map<string, Promise<ScramKeys>>();
  #secret: Promise<CryptoKey> | null = null;
  #hits = 0;
  #misses = 0;

  /**
   * Make an empty cache.
   *
   * @param options The size bound.
   * @throws {RangeError} If `maxEntries` is not a positive integer.
   */
  constructor(options: ScramCacheOptions = {}) {
    const max = options.maxEntries ?? 16;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(
        `maxEntries must be a positive integer, got ${max}`,
      );
    }
    this.#max = max;
  }

  /** The number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** How many lookups found an entry. */
  get hits(): number {
    return this.#hits;
  }

  /** How many lookups had to derive the keys. */
  get misses(): number {
    return this.#misses;
  }

  /**
   * The keys for this password and parameters: cached, or derived (and
   * cached) on a miss. A derivation that fails is not cached.
   *
   * @example
   * ```ts
   * import { ScramCache } from "./scram_cache.ts";
   *
   * const cache = new ScramCache({ maxEntries: 4 });
   * const keys = await cache.keys("pencil", {
   *   hash: "SHA-256",
   *   salt: Uint8Array.fromBase64("W22ZaJ0SNY7soEsUEjb6gQ=="),
   *   iterations: 4096,
   * });
   * console.log(keys.clientKey.length); // 32
   * ```
   *
   * @param password The password (SASLprep is applied on derivation).
   * @param params Hash, salt and iteration count.
   * @returns The keys.
   * @throws {TypeError} As {@linkcode deriveScramKeys}.
   * @throws {RangeError} As {@linkcode deriveScramKeys}.
   */
  async keys(password: string, params: ScramParams): Promise<ScramKeys> {
    checkScramParams(params);
    if (typeof password !== "string") {
      throw new TypeError("password must be a string");
    }
    const id = await this.#id(password, params);
    const found = this.#entries.get(id);
    if (found !== undefined) {
      this.#hits++;
      this.#entries.delete(id);
      this.#entries.set(id, found);
      return await found;
    }
    this.#misses++;
    const derived = deriveScramKeys(password, params);
    this.#entries.set(id, derived);
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    try {
      return await derived;
    } catch (e) {
      if (this.#entries.get(id) === derived) this.#entries.delete(id);
      throw e;
    }
  }

  /**
   * Drop every entry, and the secret that keyed them.
   *
   * @example
   * ```ts
   * import { ScramCache } from "./scram_cache.ts";
   * const cache = new ScramCache();
   * cache.clear();
   * console.log(cache.size); // 0
   * ```
   */
  clear(): void {
    this.#entries.clear();
    this.#secret = null;
  }

  async #id(password: string, params: ScramParams): Promise<string> {
    this.#secret ??= crypto.subtle.generateKey(
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    ) as Promise<CryptoKey>;
    const mac = new Uint8Array(
      await crypto.subtle.sign("HMAC", await this.#secret, utf8(password)),
    );
    return `${params.hash} ${params.iterations} ${encodeBase64(params.salt)} ${
      encodeBase64(mac)
    }`;
  }
}
