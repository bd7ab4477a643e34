/**
 * The checked form of `TlsAcceptOptions`: validation up front, so that
 * `tlsAccept` and `listenDirectTls` refuse bad options at once.
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { ALPN_CLIENT, ALPN_SERVER } from "./alpn.ts";
import { DEFAULT_HIGH_WATER_MARK } from "./_bridge.ts";
import { pemToDer } from "./_x509.ts";
import {
  checkHighWaterMark,
  checkTimeout,
  DEFAULT_TIMEOUT,
} from "./_options.ts";
import { normalizeServerName } from "./identity.ts";
import type {
  CertificateKey,
  CertificateSelector,
  TlsAcceptOptions,
} from "./server.ts";

const checked = new WeakSet<CertificateKey>();

/** Check that a certificate and key are PEM and belong together. */
export function checkCertificateKey(ck: unknown, what: string): CertificateKey {
  if (
    ck === null || typeof ck !== "object" ||
    typeof (ck as CertificateKey).cert !== "string" ||
    typeof (ck as CertificateKey).key !== "string"
  ) {
    throw new TypeError(`${what} must be { cert, key } with PEM strings`);
  }
  const value = ck as CertificateKey;
  if (checked.has(value)) return value;
  let match: boolean;
  try {
    const [leaf] = pemToDer(value.cert);
    match = new X509Certificate(leaf).checkPrivateKey(
      createPrivateKey(value.key),
    );
  } catch (e) {
    throw new TypeError(`${what}: ${(e as Error).message}`);
  }
  if (!match) {
    throw new TypeError(
      `${what}: the private key does not belong to the certificate`,
    );
  }
  checked.add(value);
  return value;
}

/** Validated server options. */
export interface Settings {
  select: CertificateSelector;
  fallback: CertificateKey | undefined;
  alpn: string[];
  requireAlpn: boolean;
  clientCertificate: "none" | "request" | "require";
  clientCa: string[];
  clientAnchors: Uint8Array[];
  timeout: number;
  highWaterMark: number;
}

/** Validate `tlsAccept` options. */
export function acceptSettings(options: TlsAcceptOptions): Settings {
  if (options === null || typeof options !== "object") {
    throw new TypeError("tlsAccept needs options with certificates");
  }
  const { certificates } = options;
  let select: CertificateSelector;
  if (typeof certificates === "function") {
    select = certificates;
  } else if (certificates !== null && typeof certificates === "object") {
    const map = new Map<string, CertificateKey>();
    for (const [domain, ck] of Object.entries(certificates)) {
      map.set(
        normalizeServerName(domain),
        checkCertificateKey(ck, `certificates[${JSON.stringify(domain)}]`),
      );
    }
    select = (name) => (name === null ? undefined : map.get(name));
  } else {
    throw new TypeError(
      "certificates must map domains to { cert, key }, or be a function",
    );
  }
  const mode = options.unknownServerName ?? "refuse";
  if (mode !== "refuse" && mode !== "default") {
    throw new TypeError(
      `unknownServerName must be "refuse" or "default", got ${String(mode)}`,
    );
  }
  let fallback: CertificateKey | undefined;
  if (mode === "default") {
    if (options.defaultCertificate === undefined) {
      throw new TypeError(
        'unknownServerName "default" needs a defaultCertificate',
      );
    }
    fallback = checkCertificateKey(
      options.defaultCertificate,
      "defaultCertificate",
    );
  }
  const alpn = [...(options.alpn ?? [ALPN_CLIENT, ALPN_SERVER])];
  if (alpn.some((p) => typeof p !== "string" || p === "" || p.length > 255)) {
    throw new TypeError(`alpn must be a list of protocol ids`);
  }
  const clientCertificate = options.clientCertificate ?? "none";
  if (!["none", "request", "require"].includes(clientCertificate)) {
    throw new TypeError(
      `clientCertificate must be "none", "request" or "require"`,
    );
  }
  const clientCa = options.clientCa === undefined
    ? []
    : typeof options.clientCa === "string"
    ? [options.clientCa]
    : [...options.clientCa];
  const clientAnchors = clientCa.flatMap((pem) => pemToDer(pem));
  if (clientCertificate !== "none" && clientAnchors.length === 0) {
    throw new TypeError(
      `clientCertificate "${clientCertificate}" needs clientCa (PEM CA certificates)`,
    );
  }
  const highWaterMark = checkHighWaterMark(
    options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
  );
  return {
    select,
    fallback,
    alpn,
    requireAlpn: options.requireAlpn ?? false,
    clientCertificate,
    clientCa,
    clientAnchors,
    timeout: checkTimeout(options.timeout ?? DEFAULT_TIMEOUT, "timeout"),
    highWaterMark,
  };
}
