/**
 * TLS as the server, over any {@linkcode Duplex}: {@linkcode tlsAccept}.
 *
 * - A certificate per virtual host, chosen by the SNI name: a map from
 *   domain to `{ cert, key }`, or a function (which may be async).
 * - An unknown SNI name (or none) is refused with an `unrecognized_name`
 *   alert, or served a default certificate (`unknownServerName`).
 * - ALPN: the protocols this server accepts (`xmpp-client` and
 *   `xmpp-server` by default), so c2s and s2s share one port and are told
 *   apart by `info.alpn`. A client that offers only other protocols is
 *   refused with a `no_application_protocol` alert; one that offers none is
 *   accepted unless `requireAlpn`.
 * - Optionally a client certificate (for SASL EXTERNAL), verified here
 *   against `clientCa` and exposed as `info.peerCertificate`.
 * - The same version and cipher policy as the client (`./policy.ts`).
 *
 * The ClientHello is read before the engine starts (`./_client_hello.ts`):
 * that is how the certificate can be chosen asynchronously and how the
 * refusals get their alerts; the bytes are then replayed to the engine.
 *
 * @module
 */

import tls from "node:tls";
import type { ConnectionInfo, Duplex } from "../stream/duplex.ts";
import {
  acceptSettings,
  checkCertificateKey,
  type Settings,
} from "./_accept_settings.ts";
import {
  awaitHandshake,
  NodeBridge,
  TlsDuplex,
  toTlsError,
} from "./_bridge.ts";
import {
  ALERT_NO_APPLICATION_PROTOCOL,
  ALERT_PROTOCOL_VERSION,
  ALERT_UNRECOGNIZED_NAME,
  alertRecord,
  type ClientHello,
  parseClientHello,
} from "./_client_hello.ts";
import { verifyClientChain } from "./_client_chain.ts";
import { peerCertificate, peerChain } from "./_peer.ts";
import { normalizeServerName } from "./identity.ts";
import { checkNegotiated, TLS_MAX_VERSION, TLS_MIN_VERSION } from "./policy.ts";
import { TlsError } from "./tls_error.ts";

/**
 * A certificate chain and its private key, both PEM.
 *
 * @example
 * ```ts
 * import type { CertificateKey } from "./server.ts";
 * const dir = new URL("../tests/testdata/", import.meta.url);
 * const localhost: CertificateKey = {
 *   cert: await Deno.readTextFile(new URL("localhost.pem", dir)),
 *   key: await Deno.readTextFile(new URL("localhost.key", dir)),
 * };
 * console.log(localhost.cert.startsWith("-----BEGIN CERTIFICATE-----")); // true
 * ```
 */
export interface CertificateKey {
  /** The leaf certificate, optionally followed by intermediates (PEM). */
  cert: string;
  /** The leaf's private key (PEM). */
  key: string;
}

/**
 * Chooses the certificate for an SNI name (A-label, lower case; `null` when
 * the client sent none). `undefined` means the name is not served.
 *
 * @example
 * ```ts
 * import type { CertificateKey, CertificateSelector } from "./server.ts";
 * const loaded = new Map<string, CertificateKey>();
 * const select: CertificateSelector = (name) => name === null ? undefined : loaded.get(name);
 * console.log(select("example.org")); // undefined
 * ```
 */
export type CertificateSelector = (
  serverName: string | null,
) => CertificateKey | undefined | Promise<CertificateKey | undefined>;

/**
 * Options for {@linkcode tlsAccept}.
 *
 * @example
 * ```ts
 * import type { TlsAcceptOptions } from "./server.ts";
 * const options: TlsAcceptOptions = {
 *   certificates: {},
 *   unknownServerName: "refuse",
 *   clientCertificate: "none",
 * };
 * console.log(options.alpn ?? ["xmpp-client", "xmpp-server"]);
 * ```
 */
export interface TlsAcceptOptions {
  /**
   * The certificate per served domain (keys are domains, converted to
   * A-labels), or a function choosing one by SNI name.
   */
  certificates: Readonly<Record<string, CertificateKey>> | CertificateSelector;
  /**
   * The certificate for clients whose SNI name is not served (or absent),
   * when `unknownServerName` is `"default"`.
   *
   * @default {undefined}
   */
  defaultCertificate?: CertificateKey;
  /**
   * What to do when the SNI name is not served or absent: `"refuse"` sends
   * an `unrecognized_name` alert and fails with `unknown-server-name`;
   * `"default"` serves `defaultCertificate` (the client's identity check
   * will then decide).
   *
   * @default {"refuse"}
   */
  unknownServerName?: "refuse" | "default";
  /**
   * The ALPN protocols accepted, in this server's order of preference.
   *
   * @default {["xmpp-client", "xmpp-server"]}
   */
  alpn?: readonly string[];
  /**
   * Refuse a client that offers no ALPN protocol (with a
   * `no_application_protocol` alert). Off by default: STARTTLS clients and
   * many Direct TLS clients send none.
   *
   * @default {false}
   */
  requireAlpn?: boolean;
  /**
   * Ask for a client certificate: `"none"`, `"request"` (a certificate is
   * optional, but one that is sent must verify) or `"require"`.
   *
   * @default {"none"}
   */
  clientCertificate?: "none" | "request" | "require";
  /**
   * The CA certificates (PEM) client certificates must chain to. Required
   * when `clientCertificate` is not `"none"`.
   *
   * @default {undefined}
   */
  clientCa?: string | readonly string[];
  /**
   * Milliseconds the whole handshake (ClientHello included) may take before
   * `handshake-timeout`.
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
  /**
   * Cleartext bytes buffered for the reader before reading from the
   * transport pauses.
   *
   * @default {65536}
   */
  highWaterMark?: number;
}

/** Run `work` until the deadline or the signal, whichever is first. */
async function withDeadline<T>(
  work: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  onTimeout: () => TlsError,
): Promise<T> {
  const { promise, reject } = Promise.withResolvers<never>();
  const timer = setTimeout(
    () => reject(onTimeout()),
    Math.max(0, deadline - Date.now()),
  );
  const onAbort = () => reject(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([work, promise]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Read ahead until the whole ClientHello is there. */
async function readHello(bridge: NodeBridge): Promise<ClientHello> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = await bridge.readAhead();
    if (chunk === null) {
      throw new TlsError(
        "handshake-failed",
        "the client closed the connection before finishing its ClientHello",
      );
    }
    chunks.push(chunk);
    size += chunk.byteLength;
    const data = new Uint8Array(size);
    let off = 0;
    for (const c of chunks) {
      data.set(c, off);
      off += c.byteLength;
    }
    const parsed = parseClientHello(data);
    if (parsed.state === "done") return parsed.hello;
    if (parsed.state === "not-tls") {
      // No alert: a peer that does not speak TLS could not read one.
      throw new TlsError(
        parsed.why.startsWith("an SSLv2")
          ? "protocol-version"
          : "handshake-failed",
        `the client did not start a TLS handshake: ${parsed.why}`,
      );
    }
  }
}

/** How long a refused client may take to read the alert and close. */
const REFUSAL_LINGER = 1000;

/** Refusal with the alert to send first. */
function refusal(
  code:
    | "unknown-server-name"
    | "alpn-mismatch"
    | "alpn-missing"
    | "protocol-version",
  message: string,
  serverName: string | undefined,
  alert: number,
): TlsError {
  return Object.assign(new TlsError(code, message, { serverName }), { alert });
}

/**
 * Secure `duplex` with TLS as the server, and return the protected duplex.
 *
 * The returned duplex has `info.transport: "tls"`, `secure: true`,
 * `tlsVersion`, `cipher`, `alpn` (the protocol selected, `null` if the
 * client offered none), `serverName` (the SNI name as an A-label, if any),
 * `peerCertificate` (the verified client certificate, if one was sent) and
 * the addresses of `duplex`.
 *
 * `tlsAccept` owns `duplex` from the call on: on any failure (including
 * invalid options) it is closed, after an alert where one applies.
 *
 * @example Two virtual hosts, c2s and s2s on one port
 * ```ts
 * import { tlsAccept } from "./server.ts";
 * import { tlsConnect } from "./client.ts";
 * import { memoryPair } from "../stream/memory_duplex.ts";
 *
 * const dir = new URL("../tests/testdata/", import.meta.url);
 * const read = (f: string) => Deno.readTextFile(new URL(f, dir));
 * const certificates = {
 *   "localhost": { cert: await read("localhost.pem"), key: await read("localhost.key") },
 *   "other.test": { cert: await read("other.test.pem"), key: await read("other.test.key") },
 * };
 * const ca = await read("ca.pem");
 * const [a, b] = memoryPair();
 * const [client, server] = await Promise.all([
 *   tlsConnect(a, { serverName: "other.test", alpn: "xmpp-server", ca, systemCa: false }),
 *   tlsAccept(b, { certificates }),
 * ]);
 * console.log(server.info.serverName, server.info.alpn); // other.test xmpp-server
 * client.close();
 * server.close();
 * ```
 *
 * @param duplex The transport; owned by `tlsAccept` from now on.
 * @param options Certificates, unknown-name handling, ALPN, client
 *   certificates, timeout and signal.
 * @returns The TLS-protected duplex.
 * @throws {TlsError} If the handshake fails or the policy refuses the client.
 * @throws {TypeError} If the options are invalid (a certificate that does
 *   not match its key, an unknown mode, a missing `clientCa`).
 * @throws {RangeError} If `timeout` or `highWaterMark` is out of range.
 */
export async function tlsAccept(
  duplex: Duplex,
  options: TlsAcceptOptions,
): Promise<Duplex> {
  let s: Settings;
  try {
    s = acceptSettings(options);
    options.signal?.throwIfAborted();
  } catch (e) {
    duplex.close();
    throw e;
  }
  const deadline = Date.now() + s.timeout;
  const bridge = new NodeBridge(duplex);
  let sni: string | undefined;
  const timeoutError = () =>
    new TlsError(
      "handshake-timeout",
      `the TLS handshake did not finish within ${s.timeout} ms: the client ` +
        `may not speak TLS (STARTTLS client on a Direct TLS port?) or is too slow`,
      { serverName: sni },
    );

  // 1. The ClientHello: SNI, ALPN, certificate choice.
  let ck: CertificateKey;
  let selected: string | null;
  try {
    const hello = await withDeadline(
      readHello(bridge),
      deadline,
      options.signal,
      timeoutError,
    );
    let name: string | null = null;
    if (hello.serverName !== null) {
      try {
        name = normalizeServerName(hello.serverName);
      } catch {
        name = null;
      }
    }
    sni = name ?? undefined;
    if (hello.maxVersion < 0x0303) {
      const v = hello.maxVersion === 0x0302
        ? "TLS 1.1"
        : hello.maxVersion === 0x0301
        ? "TLS 1.0"
        : "SSL";
      throw refusal(
        "protocol-version",
        `the client offers at most ${v}; only TLS 1.2 and 1.3 are ` +
          `accepted (RFC 7590): the client must enable TLS 1.2 or later`,
        sni,
        ALERT_PROTOCOL_VERSION,
      );
    }
    if (hello.alpn === null) {
      if (s.requireAlpn) {
        throw refusal(
          "alpn-missing",
          `the client offered no ALPN protocol, and requireAlpn is set ` +
            `(accepted: ${s.alpn.join(", ")})`,
          sni,
          ALERT_NO_APPLICATION_PROTOCOL,
        );
      }
      selected = null;
    } else {
      const offered = hello.alpn;
      selected = s.alpn.find((p) => offered.includes(p)) ?? null;
      if (selected === null) {
        throw refusal(
          "alpn-mismatch",
          `the client offered the ALPN protocols ${offered.join(", ")}, ` +
            `none of which this server accepts (${s.alpn.join(", ")})`,
          sni,
          ALERT_NO_APPLICATION_PROTOCOL,
        );
      }
    }
    let chosen = await withDeadline(
      Promise.resolve(s.select(name)),
      deadline,
      options.signal,
      timeoutError,
    );
    if (chosen !== undefined) {
      chosen = checkCertificateKey(chosen, `the certificate for ${name}`);
    } else if (s.fallback !== undefined) {
      chosen = s.fallback;
    } else {
      throw refusal(
        "unknown-server-name",
        hello.serverName === null
          ? "the client sent no SNI server name, and this server has no " +
            'default certificate (set unknownServerName: "default")'
          : `the client asked for ${
            JSON.stringify(hello.serverName)
          } (SNI), which this server does not serve`,
        sni,
        ALERT_UNRECOGNIZED_NAME,
      );
    }
    ck = chosen;
  } catch (e) {
    const alert = (e as { alert?: number }).alert;
    if (alert !== undefined && !options.signal?.aborted) {
      await bridge.refuse(
        alertRecord(alert),
        Math.max(0, Math.min(deadline - Date.now(), REFUSAL_LINGER)),
      );
    }
    bridge.destroy();
    throw e instanceof TlsError || e === options.signal?.reason
      ? e
      : toTlsError(e, { side: "server", serverName: sni });
  }

  // 2. The handshake, by the engine.
  const ctx = { side: "server" as const, serverName: sni };
  let socket: tls.TLSSocket;
  // Hold the ClientHello back until the engine has started: Deno 2.9.6
  // crashes the process (an uncaught TypeError in TLSSocket._start) when the
  // engine already holds a ClientHello it refuses (TLS 1.1, no common cipher
  // suite) at the moment _start runs.
  bridge.gate(false);
  try {
    socket = new tls.TLSSocket(bridge, {
      isServer: true,
      cert: ck.cert,
      key: ck.key,
      ALPNProtocols: selected === null ? undefined : [selected],
      minVersion: TLS_MIN_VERSION,
      maxVersion: TLS_MAX_VERSION,
      requestCert: s.clientCertificate !== "none",
      rejectUnauthorized: s.clientCertificate === "require",
      ca: s.clientCa.length > 0 ? s.clientCa : undefined,
      allowHalfOpen: true,
    } as tls.TLSSocketOptions);
  } catch (e) {
    bridge.destroy();
    throw toTlsError(e, ctx);
  }
  const secure = new TlsDuplex(socket, bridge, s.highWaterMark);
  // Start the engine with nothing to process yet (tls.Server does this for
  // its sockets; Deno would otherwise start it on a later tick), then let
  // the ClientHello through.
  (socket as unknown as { _start?: () => void })._start?.();
  bridge.gate(true);
  try {
    await awaitHandshake(socket, {
      event: "secure",
      timeout: Math.max(1, deadline - Date.now()),
      signal: options.signal,
      serverName: sni,
      mapError: (e) => toTlsError(e, ctx),
      closedError: () =>
        new TlsError(
          "handshake-failed",
          "the client closed the connection during the TLS handshake " +
            "(it may not trust this server's certificate)",
          { serverName: sni },
        ),
    });
    const tlsVersion = socket.getProtocol() ?? undefined;
    const cipher = socket.getCipher()?.name;
    checkNegotiated({ tlsVersion, cipher, serverName: sni });
    const alpn = socket.alpnProtocol || null;
    if (alpn !== selected) {
      throw new TlsError(
        "alpn-mismatch",
        `the engine negotiated ALPN ${alpn}, expected ${selected}`,
        { serverName: sni },
      );
    }
    const chain = s.clientCertificate === "none" ? [] : peerChain(socket);
    if (chain.length > 0) verifyClientChain(chain, s.clientAnchors);
    else if (s.clientCertificate === "require") {
      throw new TlsError(
        "certificate-required",
        "the client sent no certificate, and this server requires one",
        { serverName: sni },
      );
    }
    const info: ConnectionInfo = {
      transport: "tls",
      secure: true,
      alpn,
      tlsVersion,
      cipher,
    };
    if (sni !== undefined) info.serverName = sni;
    const cert = peerCertificate(socket, chain[0]);
    if (cert) info.peerCertificate = cert;
    if (duplex.info.localAddr) info.localAddr = duplex.info.localAddr;
    if (duplex.info.remoteAddr) info.remoteAddr = duplex.info.remoteAddr;
    secure.setInfo(info);
    return secure;
  } catch (e) {
    secure.close();
    throw e instanceof TlsError || e === options.signal?.reason
      ? e
      : toTlsError(e, ctx);
  }
}
