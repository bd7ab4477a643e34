/**
 * The hash primitives SCRAM is built from, over WebCrypto.
 *
 * @module
 */

import type { ScramHash } from "./scram_keys.ts";

/** HMAC of `data` under `key` (non-empty) with a SCRAM hash. */
export async function scramHmac(
  hash: ScramHash,
  key: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey(
    "raw",
    key.slice(),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data.slice()));
}

/** A SCRAM hash of some bytes. */
export async function scramDigest(
  hash: ScramHash,
  data: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest(hash, data.slice()));
}
