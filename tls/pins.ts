/**
 * SHA-256 SPKI pins (XEP-0487 host-meta, POSH): an extra condition on top of
 * the normal certificate checks, never a replacement for them. When pins are
 * given, some certificate of the verified chain (leaf, intermediate or
 * anchor) must have a SubjectPublicKeyInfo whose SHA-256, base64-encoded,
 * is one of them. The chain must still be trusted and valid for the JID
 * domain.
 *
 * The pin of a certificate is computed by `spkiSha256` from
 * `srv/host_meta.ts`, the same function host-meta discovery uses.
 *
 * @module
 */

import { spkiSha256 } from "../srv/host_meta.ts";
import { TlsError } from "./tls_error.ts";

const PIN = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Check the syntax of SPKI pins: each the base64 of a 32-byte SHA-256
 * digest (44 characters ending in `=`).
 *
 * @example
 * ```ts
 * import { checkPins } from "./pins.ts";
 * const pin = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
 * console.log(checkPins([pin]).length); // 1
 * try {
 *   checkPins(["sha256/abc"]);
 * } catch (e) {
 *   console.log((e as Error).name); // "TypeError"
 * }
 * ```
 *
 * @param pins The pins.
 * @returns The same pins, as a new array.
 * @throws {TypeError} If `pins` is not an array of well-formed pins.
 */
export function checkPins(pins: readonly string[]): string[] {
  if (!Array.isArray(pins)) {
    throw new TypeError("pins must be an array of base64 SHA-256 SPKI digests");
  }
  for (const pin of pins) {
    if (typeof pin !== "string" || !PIN.test(pin)) {
      throw new TypeError(
        `invalid SPKI pin ${JSON.stringify(pin)}: expected the base64 of a ` +
          `SHA-256 digest (44 characters ending in "="), as in XEP-0487`,
      );
    }
  }
  return [...pins];
}

/**
 * Options for {@linkcode verifyPins}.
 *
 * @example
 * ```ts
 * import type { VerifyPinsOptions } from "./pins.ts";
 * const options: VerifyPinsOptions = { serverName: "example.org" };
 * console.log(options.serverName); // "example.org"
 * ```
 */
export interface VerifyPinsOptions {
  /**
   * The domain, for the error message and `TlsError.serverName`.
   *
   * @default {undefined}
   */
  serverName?: string;
}

/**
 * Require one certificate of `chain` to have one of `pins`.
 *
 * @example
 * ```ts
 * import { verifyPins } from "./pins.ts";
 * import { spkiSha256 } from "../srv/host_meta.ts";
 *
 * const pem = await Deno.readTextFile(
 *   new URL("../tests/testdata/ca.pem", import.meta.url),
 * );
 * const der = Uint8Array.from(
 *   atob(pem.replace(/-----[A-Z ]+-----|\s/g, "")),
 *   (c) => c.charCodeAt(0),
 * );
 * const pin = await spkiSha256(der);
 * console.log((await verifyPins([der], [pin])) === pin); // true
 * ```
 *
 * @param chain The verified chain in DER, leaf first.
 * @param pins Base64 SHA-256 SPKI pins; an empty list checks nothing.
 * @param options The domain, for the error message.
 * @returns The pin that matched, or `undefined` when `pins` is empty.
 * @throws {TlsError} `pin-mismatch` if no certificate has one of the pins.
 * @throws {TypeError} If a pin is malformed.
 */
export async function verifyPins(
  chain: readonly Uint8Array[],
  pins: readonly string[],
  options: VerifyPinsOptions = {},
): Promise<string | undefined> {
  checkPins(pins);
  const serverName = options.serverName;
  if (pins.length === 0) return undefined;
  const seen: string[] = [];
  for (const der of chain) {
    let pin: string;
    try {
      pin = await spkiSha256(der);
    } catch {
      continue;
    }
    if (pins.includes(pin)) return pin;
    seen.push(pin);
  }
  const who = serverName ?? "the peer";
  throw new TlsError(
    "pin-mismatch",
    `no certificate in the chain of ${who} has a pinned public key ` +
      `(pins ${pins.join(", ")}; chain has ${seen.join(", ") || "none"}): ` +
      `the server's key changed or the pins (host-meta) are out of date`,
    { serverName },
  );
}
