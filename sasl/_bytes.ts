/**
 * Byte helpers for the SASL mechanisms: constant-time comparison, strict
 * base64 and UTF-8, concatenation.
 *
 * @module
 */

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", {
  fatal: true,
  ignoreBOM: true,
});

/**
 * Compare two byte strings in time that depends only on their lengths, never
 * on where they differ.
 *
 * @param a One value.
 * @param b The other.
 * @returns `true` if they are equal.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Compare two strings (as UTF-8) in constant time for their lengths.
 *
 * @param a One value.
 * @param b The other.
 * @returns `true` if they are equal.
 */
export function timingSafeEqualString(a: string, b: string): boolean {
  return timingSafeEqual(encoder.encode(a), encoder.encode(b));
}

/** Concatenate byte strings. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** XOR two byte strings of the same length. */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  if (a.length !== b.length) {
    throw new RangeError(`cannot XOR ${a.length} bytes with ${b.length}`);
  }
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** UTF-8 encode. */
export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

/**
 * Strict UTF-8 decode.
 *
 * @returns The text, or `null` if the bytes are not valid UTF-8.
 */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return null;
  }
}

const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict base64 (RFC 4648 §4): the standard alphabet, padding required, no
 * whitespace, zero trailing bits.
 *
 * @returns The bytes, or `null` if `s` is not strict base64.
 */
export function decodeBase64(s: string): Uint8Array<ArrayBuffer> | null {
  if (!BASE64.test(s)) return null;
  try {
    return Uint8Array.fromBase64(s, { lastChunkHandling: "strict" });
  } catch {
    return null;
  }
}

/** Standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}
