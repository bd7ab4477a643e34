/**
 * The one TLS policy every transport shares (RFC 7590, RFC 9325):
 *
 * - TLS 1.2 is the minimum, TLS 1.3 is preferred (offered first and chosen
 *   whenever the peer has it). TLS 1.0, 1.1 and SSL are refused.
 * - No TLS compression (the engine, rustls, does not implement it).
 * - Strong cipher suites only: for TLS 1.3 the three AEAD suites of RFC
 *   8446; for TLS 1.2 only ECDHE key exchange with an AEAD cipher
 *   ({@linkcode TLS12_CIPHER_SUITES}). No RSA key exchange, no DHE, no CBC,
 *   no RC4, no 3DES, no NULL or export suites. The engine offers nothing else,
 *   and {@linkcode checkNegotiated} re-checks what was negotiated.
 * - Trust anchors ({@linkcode trustAnchors}): the engine's root store
 *   (Deno's: Mozilla's roots, or the OS store with
 *   `DENO_TLS_CA_STORE=system`), plus the operating system's store, plus
 *   extra CA certificates in PEM.
 * - The certificate is checked against the JID domain (`./identity.ts`),
 *   optionally also against SPKI pins (`./pins.ts`).
 *
 * @module
 */

import tls from "node:tls";
import { pemToDer } from "./_x509.ts";
import { TlsError } from "./tls_error.ts";

/**
 * The lowest TLS version accepted.
 *
 * @example
 * ```ts
 * import { TLS_MIN_VERSION } from "./policy.ts";
 * console.log(TLS_MIN_VERSION); // "TLSv1.2"
 * ```
 */
export const TLS_MIN_VERSION = "TLSv1.2";

/**
 * The highest (and preferred) TLS version.
 *
 * @example
 * ```ts
 * import { TLS_MAX_VERSION } from "./policy.ts";
 * console.log(TLS_MAX_VERSION); // "TLSv1.3"
 * ```
 */
export const TLS_MAX_VERSION = "TLSv1.3";

/**
 * The TLS 1.3 cipher suites accepted (all of RFC 8446's mandatory and
 * recommended AEAD suites), as the engine names them.
 *
 * @example
 * ```ts
 * import { TLS13_CIPHER_SUITES } from "./policy.ts";
 * console.log(TLS13_CIPHER_SUITES.includes("TLS_AES_128_GCM_SHA256")); // true
 * ```
 */
export const TLS13_CIPHER_SUITES: readonly string[] = Object.freeze([
  "TLS_AES_256_GCM_SHA384",
  "TLS_AES_128_GCM_SHA256",
  "TLS_CHACHA20_POLY1305_SHA256",
]);

/**
 * The TLS 1.2 cipher suites accepted: ECDHE (forward secrecy) with an AEAD
 * cipher, ECDSA or RSA certificates (RFC 9325 §4.2), in OpenSSL naming as
 * node's `getCipher().name` reports them.
 *
 * @example
 * ```ts
 * import { TLS12_CIPHER_SUITES } from "./policy.ts";
 * console.log(TLS12_CIPHER_SUITES.includes("ECDHE-RSA-AES128-GCM-SHA256")); // true
 * console.log(TLS12_CIPHER_SUITES.includes("AES128-SHA")); // false
 * ```
 */
export const TLS12_CIPHER_SUITES: readonly string[] = Object.freeze([
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-RSA-CHACHA20-POLY1305",
]);

/**
 * The policy as data, for documentation and diagnostics.
 *
 * @example
 * ```ts
 * import { TLS_POLICY } from "./policy.ts";
 * console.log(TLS_POLICY.minVersion, TLS_POLICY.compression); // "TLSv1.2" false
 * ```
 */
export const TLS_POLICY: {
  readonly minVersion: string;
  readonly maxVersion: string;
  readonly compression: false;
  readonly tls13CipherSuites: readonly string[];
  readonly tls12CipherSuites: readonly string[];
} = Object.freeze({
  minVersion: TLS_MIN_VERSION,
  maxVersion: TLS_MAX_VERSION,
  compression: false,
  tls13CipherSuites: TLS13_CIPHER_SUITES,
  tls12CipherSuites: TLS12_CIPHER_SUITES,
});

/**
 * What was negotiated, for {@linkcode checkNegotiated}.
 *
 * @example
 * ```ts
 * import type { NegotiatedParameters } from "./policy.ts";
 * const n: NegotiatedParameters = { tlsVersion: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" };
 * console.log(n.serverName ?? "unknown"); // "unknown"
 * ```
 */
export interface NegotiatedParameters {
  /** The TLS version, such as `"TLSv1.3"`. */
  tlsVersion?: string;
  /** The cipher suite, as node's `getCipher().name` reports it. */
  cipher?: string;
  /**
   * The domain, for the error message.
   *
   * @default {undefined}
   */
  serverName?: string;
}

/**
 * Refuse a connection whose negotiated version or cipher suite is outside
 * the policy (or unknown: no silent downgrade).
 *
 * @example
 * ```ts
 * import { checkNegotiated } from "./policy.ts";
 * import { TlsError } from "./tls_error.ts";
 *
 * checkNegotiated({ tlsVersion: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256" });
 * try {
 *   checkNegotiated({ tlsVersion: "TLSv1.2", cipher: "AES256-SHA" });
 * } catch (e) {
 *   console.log((e as TlsError).code); // "cipher-not-allowed"
 * }
 * ```
 *
 * @param negotiated The version and cipher suite.
 * @throws {TlsError} `protocol-version` or `cipher-not-allowed`.
 */
export function checkNegotiated(negotiated: NegotiatedParameters): void {
  const { tlsVersion, cipher, serverName } = negotiated;
  const who = serverName ?? "the peer";
  let allowed: readonly string[];
  if (tlsVersion === "TLSv1.3") allowed = TLS13_CIPHER_SUITES;
  else if (tlsVersion === "TLSv1.2") allowed = TLS12_CIPHER_SUITES;
  else {
    throw new TlsError(
      "protocol-version",
      `the connection to ${who} negotiated ${
        tlsVersion ?? "an unknown TLS version"
      }; ` +
        `only TLS 1.2 and 1.3 are accepted (RFC 7590): the peer must enable TLS 1.2 or later`,
      { serverName },
    );
  }
  if (cipher === undefined || !allowed.includes(cipher)) {
    throw new TlsError(
      "cipher-not-allowed",
      `the connection to ${who} negotiated the cipher suite ${
        cipher ?? "(unknown)"
      } ` +
        `with ${tlsVersion}, which the policy does not allow; allowed: ${
          allowed.join(", ")
        }`,
      { serverName },
    );
  }
}

/**
 * Options for {@linkcode trustAnchors}.
 *
 * @example
 * ```ts
 * import type { TrustOptions } from "./policy.ts";
 * const options: TrustOptions = { systemCa: false };
 * console.log(options.ca ?? []); // []
 * ```
 */
export interface TrustOptions {
  /**
   * Extra trust anchors: PEM text with one or more CA certificates, or a
   * list of such texts.
   *
   * @default {[]}
   */
  ca?: string | readonly string[];
  /**
   * Also trust the operating system's store (`tls.getCACertificates("system")`,
   * which needs `--allow-sys`). Skipped when `DENO_TLS_CA_STORE` already
   * includes `system` (then the engine's own store is the OS store). Passing
   * the OS store per connection costs the engine about 6 ms of PEM parsing
   * per handshake (144 roots, measured here); `DENO_TLS_CA_STORE=system`
   * avoids that.
   *
   * @default {true}
   */
  systemCa?: boolean;
}

/**
 * What {@linkcode trustAnchors} returns.
 *
 * @example
 * ```ts
 * import type { TrustAnchors } from "./policy.ts";
 * const anchors: TrustAnchors = { ca: [] };
 * console.log(anchors.missing ?? "complete"); // "complete"
 * ```
 */
export interface TrustAnchors {
  /** PEM certificates for the engine's `ca` option (added to its store). */
  ca: string[];
  /**
   * Why the OS store is not part of the anchors although asked for, if it
   * is not (for error messages).
   */
  missing?: string;
}

let systemCache: string[] | undefined;

function systemStoreViaEnv(): boolean {
  try {
    const p = Deno.permissions.querySync({
      name: "env",
      variable: "DENO_TLS_CA_STORE",
    });
    if (p.state !== "granted") return false;
    const v = Deno.env.get("DENO_TLS_CA_STORE") ?? "";
    return v.split(",").map((s) => s.trim()).includes("system");
  } catch {
    return false;
  }
}

/**
 * The certificates to pass as the engine's `ca`: the extra CAs, plus the
 * OS store when asked for. Deno's `node:tls` adds `ca` to its own root
 * store, so the anchors are that store plus these.
 *
 * @example
 * ```ts
 * import { trustAnchors } from "./policy.ts";
 *
 * const pem = await Deno.readTextFile(
 *   new URL("../tests/testdata/ca.pem", import.meta.url),
 * );
 * console.log(trustAnchors({ ca: pem, systemCa: false }).ca.length); // 1
 * ```
 *
 * @param options Extra CAs and whether to add the OS store.
 * @returns The PEM list and, if the OS store could not be read, why.
 * @throws {TypeError} If `ca` is not PEM text with certificates.
 */
export function trustAnchors(options: TrustOptions = {}): TrustAnchors {
  const extra = options.ca === undefined
    ? []
    : typeof options.ca === "string"
    ? [options.ca]
    : options.ca;
  if (!Array.isArray(extra) && typeof extra !== "object") {
    throw new TypeError("ca must be PEM text or an array of PEM texts");
  }
  const ca: string[] = [];
  for (const pem of extra) {
    if (typeof pem !== "string") {
      throw new TypeError("ca must be PEM text or an array of PEM texts");
    }
    pemToDer(pem); // validates
    ca.push(pem);
  }
  if (!(options.systemCa ?? true) || systemStoreViaEnv()) return { ca };
  if (systemCache === undefined) {
    let state = "granted";
    try {
      state = Deno.permissions.querySync({ name: "sys", kind: "ca" } as never)
        .state;
    } catch { /* older Deno: try anyway */ }
    if (state !== "granted") {
      return {
        ca,
        missing: "the OS trust store was not loaded (needs --allow-sys, " +
          "or set DENO_TLS_CA_STORE=system)",
      };
    }
    try {
      const get = (tls as unknown as {
        getCACertificates?: (kind: string) => string[];
      }).getCACertificates;
      systemCache = get ? [...get("system")] : [];
    } catch (e) {
      return {
        ca,
        missing: `the OS trust store could not be read (${
          (e as Error).message
        })`,
      };
    }
  }
  return { ca: [...systemCache, ...ca] };
}
