/**
 * A TLS handshake that looks without trusting: {@linkcode inspectTls}
 * completes the handshake whatever certificate the server presents, only to
 * report it (subject, names, expiry, the chain error the engine saw) along
 * with the version, cipher suite and ALPN.
 *
 * The probe runs it only after the verifying handshake (`tlsConnect`, the
 * one TLS policy) refused the server, so a wrong certificate is shown with
 * its names instead of a bare "failed". Nothing is ever sent over such a
 * connection, and nothing it shows makes a certificate valid: validity only
 * comes from the verifying handshake.
 *
 * @module
 */

import { NodeBridge } from "../tls/_bridge.ts";
import tls from "node:tls";
import type { Duplex, PeerCertificate } from "../stream/duplex.ts";
import { presentedIdentifiers } from "../tls/identity.ts";
import { TLS_MAX_VERSION, TLS_MIN_VERSION } from "../tls/policy.ts";

/** Options for {@linkcode inspectTls}. */
export interface InspectTlsOptions {
  /** The SNI name: the JID domain. */
  serverName: string;
  /** The ALPN protocol to offer, or `null` for none. */
  alpn: string | null;
  /**
   * Trust anchors (PEM) for the engine's chain check, whose outcome is
   * reported as `chainError`; the handshake goes on either way.
   *
   * @default {[]}
   */
  ca?: readonly string[];
  /**
   * Milliseconds the handshake may take.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Aborting it fails the handshake with the signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** What an inspecting handshake saw. */
export interface InspectedTls {
  /** The TLS version, or `null`. */
  tlsVersion: string | null;
  /** The cipher suite, or `null`. */
  cipher: string | null;
  /** The ALPN protocol the server selected, or `null`. */
  alpn: string | null;
  /** The leaf certificate, or `null` if the server sent none. */
  certificate: PeerCertificate | null;
  /**
   * The engine's chain verdict (such as `"UNABLE_TO_VERIFY_LEAF_SIGNATURE"`
   * or `"CERT_HAS_EXPIRED"`), or `null` when the chain led to an anchor. The
   * name is not part of it: check that yourself.
   */
  chainError: string | null;
}

/** Format a node certificate subject object as `"CN=a, O=b"`. */
function _formatSubject(subject: unknown): string | undefined {
  if (subject === null || typeof subject !== "object") return undefined;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(subject as Record<string, unknown>)) {
    for (const value of Array.isArray(v) ? v : [v]) parts.push(`${k}=${value}`);
  }
  return parts.length > 0 ? parts.join(", ") : undefined;
}

/**
 * Complete a TLS handshake over `duplex` without refusing any certificate,
 * report what the server presented, and close the connection. The duplex
 * is owned by this function from the call on, and always closed.
 *
 * @example Against a server presenting a certificate for another name
 * ```ts
 * import { inspectTls } from "./_probe_inspect.ts";
 * import { tlsAccept } from "../tls/server.ts";
 * import { memoryPair } from "../stream/memory_duplex.ts";
 *
 * const dir = new URL("../tests/testdata/", import.meta.url);
 * const read = (f: string) => Deno.readTextFile(new URL(f, dir));
 * const other = { cert: await read("other.test.pem"), key: await read("other.test.key") };
 * const [a, b] = memoryPair();
 * const server = tlsAccept(b, { certificates: () => other }).then(
 *   (d) => d.close(),
 *   () => {},
 * );
 * const seen = await inspectTls(a, {
 *   serverName: "example.org",
 *   alpn: "xmpp-client",
 *   ca: [await read("ca.pem")],
 * });
 * await server;
 * console.log(seen.certificate?.dnsNames, seen.chainError); // [ "other.test" ] null
 * ```
 *
 * @param duplex The transport, right where the TLS handshake starts.
 * @param options SNI, ALPN, anchors for the chain verdict, timeout, signal.
 * @returns What the handshake saw.
 * @throws {Error} If the handshake itself fails, times out or is aborted.
 */
export async function inspectTls(
  duplex: Duplex,
  options: InspectTlsOptions,
): Promise<InspectedTls> {
  const bridge = new NodeBridge(duplex);
  let socket: tls.TLSSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = options.timeout ?? 10_000;
  const signal = options.signal;
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const onAbort = () => reject(signal?.reason);
  try {
    signal?.throwIfAborted();
    signal?.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `the inspecting TLS handshake with ${options.serverName} took longer than ${timeout} ms`,
          ),
        ),
      timeout,
    );
    const ca = options.ca ?? [];
    socket = tls.connect({
      socket: bridge,
      servername: options.serverName,
      ALPNProtocols: options.alpn === null ? undefined : [options.alpn],
      ca: ca.length > 0 ? [...ca] : undefined,
      minVersion: TLS_MIN_VERSION,
      maxVersion: TLS_MAX_VERSION,
      // Look, don't trust: the verdict comes from the verifying handshake.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    } as tls.ConnectionOptions);
    socket.once("secureConnect", () => resolve());
    socket.once("error", (e) => reject(e));
    socket.once(
      "close",
      () =>
        reject(
          new Error(
            `the server for ${options.serverName} closed the connection during the TLS handshake`,
          ),
        ),
    );
    await promise;
    const s = socket;
    let certificate: PeerCertificate | null = null;
    const peer = s.getPeerCertificate(false);
    if (peer && peer.raw instanceof Uint8Array && peer.raw.byteLength > 0) {
      certificate = { raw: new Uint8Array(peer.raw) };
      const subject = _formatSubject(peer.subject);
      if (subject !== undefined) certificate.subject = subject;
      if (typeof peer.valid_to === "string") {
        const validTo = new Date(peer.valid_to);
        if (!Number.isNaN(validTo.getTime())) certificate.validTo = validTo;
      }
      try {
        certificate.dnsNames = presentedIdentifiers(certificate.raw).dnsNames;
      } catch { /* a certificate the parser refuses: raw is still shown */ }
    }
    const chainError = s.authorized
      ? null
      : String(s.authorizationError ?? "UNKNOWN_CHAIN_ERROR");
    return {
      tlsVersion: s.getProtocol() ?? null,
      cipher: s.getCipher()?.name ?? null,
      alpn: s.alpnProtocol || null,
      certificate,
      chainError,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    promise.catch(() => {});
    socket?.on("error", () => {});
    socket?.destroy();
    bridge.destroy();
  }
}
