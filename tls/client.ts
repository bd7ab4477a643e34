/**
 * TLS as the client, over any {@linkcode Duplex}: {@linkcode tlsConnect}.
 *
 * The engine is `node:tls` (rustls inside Deno), driven over the duplex
 * through a small bridge, so the same code secures a TCP connection (Direct
 * TLS, or STARTTLS after `<proceed/>`), an in-memory pair, or any other
 * transport. `Deno.startTls` was measured against it (`bench/tls.ts`) but
 * works only on a `Deno.TcpConn` and exposes no peer certificate, so neither
 * the identity check nor pins could be done here with it.
 *
 * What the client enforces (the policy in `./policy.ts`):
 *
 * - TLS 1.2 or 1.3, strong cipher suites only, re-checked after the handshake;
 * - the chain must lead to a trust anchor (`ca`, the OS store, the engine's
 *   store) and be valid now;
 * - the leaf must be valid for `serverName`, the JID domain (RFC 6125,
 *   `./identity.ts`), never for the host or IP connected to;
 * - with `pins`, a certificate of the chain must also have a pinned SPKI;
 * - SNI is `serverName` as an A-label; ALPN offers `alpn`; a server that
 *   selects another protocol is refused; one that selects none is accepted
 *   unless `requireAlpn` (see {@linkcode TlsConnectOptions.requireAlpn}).
 *
 * @module
 */

import tls from "node:tls";
import type { ConnectionInfo, Duplex } from "../stream/duplex.ts";
import { ALPN_CLIENT, ALPN_SERVER } from "./alpn.ts";
import {
  awaitHandshake,
  DEFAULT_HIGH_WATER_MARK,
  NodeBridge,
  TlsDuplex,
  toTlsError,
} from "./_bridge.ts";
import { checkCertificateKey } from "./_accept_settings.ts";
import {
  checkHighWaterMark,
  checkTimeout,
  DEFAULT_TIMEOUT,
} from "./_options.ts";
import { peerCertificate, peerChain } from "./_peer.ts";
import { normalizeServerName, verifyServerIdentity } from "./identity.ts";
import { checkPins, verifyPins } from "./pins.ts";
import {
  checkNegotiated,
  TLS_MAX_VERSION,
  TLS_MIN_VERSION,
  trustAnchors,
  type TrustOptions,
} from "./policy.ts";
import { TlsError } from "./tls_error.ts";

/**
 * Default handshake timeout in milliseconds.
 *
 * @example
 * ```ts
 * import { DEFAULT_TLS_TIMEOUT } from "./client.ts";
 * console.log(DEFAULT_TLS_TIMEOUT); // 10000
 * ```
 */
export const DEFAULT_TLS_TIMEOUT: number = DEFAULT_TIMEOUT;

/**
 * Options for {@linkcode tlsConnect}.
 *
 * @example
 * ```ts
 * import type { TlsConnectOptions } from "./client.ts";
 * const options: TlsConnectOptions = {
 *   serverName: "example.org",
 *   alpn: "xmpp-client",
 *   timeout: 5000,
 * };
 * console.log(options.requireAlpn ?? false); // false
 * ```
 */
export interface TlsConnectOptions extends TrustOptions {
  /**
   * The JID domain: sent as SNI (A-label) and the only name the certificate
   * is checked against. Never the SRV target, a link host or an IP address.
   */
  serverName: string;
  /**
   * The ALPN protocol(s) to offer, most preferred first; `null` offers none
   * (for STARTTLS, where XEP-0368's ALPN does not apply).
   *
   * @default {"xmpp-client"}
   */
  alpn?: string | readonly string[] | null;
  /**
   * Refuse a server that selects no ALPN protocol. A server that selects a
   * protocol not offered is always refused. Off by default because XEP-0368
   * only says servers SHOULD negotiate ALPN, and deployed servers often
   * don't (neither Prosody nor ejabberd selected one in the interop tests):
   * refusing them would leave users without a secure connection, while the
   * certificate check still authenticates the server.
   * Turn it on where cross-protocol attacks (ALPACA) matter more.
   *
   * @default {false}
   */
  requireAlpn?: boolean;
  /**
   * Base64 SHA-256 SPKI pins (XEP-0487): when given, one certificate of the
   * verified chain must have one of them, in addition to every other check.
   *
   * @default {[]}
   */
  pins?: readonly string[];
  /**
   * A client certificate chain in PEM (for SASL EXTERNAL), with `key`.
   *
   * @default {undefined}
   */
  cert?: string;
  /**
   * The private key of `cert`, in PEM.
   *
   * @default {undefined}
   */
  key?: string;
  /**
   * Fall back to the subject CN when the certificate has no subjectAltName
   * at all (RFC 6125 §6.4.4). `false` never does (RFC 9525).
   *
   * @default {true}
   */
  commonName?: boolean;
  /**
   * Milliseconds the handshake may take before `handshake-timeout`.
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

/** The offered ALPN list from the option. */
function alpnList(alpn: TlsConnectOptions["alpn"]): string[] {
  if (alpn === null) return [];
  const list = alpn === undefined
    ? [ALPN_CLIENT]
    : typeof alpn === "string"
    ? [alpn]
    : [...alpn];
  if (
    !Array.isArray(list) ||
    list.some((p) => typeof p !== "string" || p === "" || p.length > 255)
  ) {
    throw new TypeError(
      `alpn must be a protocol id such as "xmpp-client", a list of them, or null`,
    );
  }
  return list;
}

/**
 * Secure `duplex` with TLS as the client, and return the protected duplex.
 *
 * The handshake uses SNI = `serverName` (A-label), offers `alpn`, and is
 * refused with a {@linkcode TlsError} when anything in the policy fails (see
 * the module documentation). The returned duplex has `info.transport:
 * "tls"`, `secure: true`, `tlsVersion`, `cipher`, `alpn` (`null` if none was
 * selected), `serverName`, `peerCertificate` (DER, subject, DNS names,
 * expiry) and the addresses of `duplex`.
 *
 * `tlsConnect` owns `duplex` from the call on: on any failure (including
 * invalid options) it is closed, and closing the returned duplex closes it.
 *
 * @example Direct TLS over TCP (not run: needs a server)
 * ```ts
 * import { tlsConnect } from "./client.ts";
 * import { fromConn } from "../stream/conn_duplex.ts";
 *
 * export async function connect(host: string, domain: string) {
 *   const tcp = await Deno.connect({ hostname: host, port: 5223 });
 *   const secure = await tlsConnect(fromConn(tcp), { serverName: domain });
 *   console.log(secure.info.tlsVersion, secure.info.alpn);
 *   return secure;
 * }
 * ```
 *
 * @example Over an in-memory pair, against `tlsAccept`
 * ```ts
 * import { tlsConnect } from "./client.ts";
 * import { tlsAccept } from "./server.ts";
 * import { memoryPair } from "../stream/memory_duplex.ts";
 *
 * const dir = new URL("../tests/testdata/", import.meta.url);
 * const read = (f: string) => Deno.readTextFile(new URL(f, dir));
 * const localhost = { cert: await read("localhost.pem"), key: await read("localhost.key") };
 * const [a, b] = memoryPair();
 * const [client, server] = await Promise.all([
 *   tlsConnect(a, { serverName: "localhost", ca: await read("ca.pem"), systemCa: false }),
 *   tlsAccept(b, { certificates: { localhost } }),
 * ]);
 * console.log(client.info.secure, client.info.alpn, server.info.serverName); // true xmpp-client localhost
 * client.close();
 * server.close();
 * ```
 *
 * @param duplex The transport; owned by `tlsConnect` from now on.
 * @param options The JID domain, ALPN, trust, pins, timeout and signal.
 * @returns The TLS-protected duplex.
 * @throws {TlsError} If the handshake fails or the policy refuses the peer.
 * @throws {TypeError} If `serverName`, `alpn`, `pins`, `ca`, `cert` or `key`
 *   is invalid.
 * @throws {RangeError} If `timeout` or `highWaterMark` is out of range.
 */
export async function tlsConnect(
  duplex: Duplex,
  options: TlsConnectOptions,
): Promise<Duplex> {
  let serverName: string;
  let offered: string[];
  let pins: string[];
  let anchors: ReturnType<typeof trustAnchors>;
  let timeout: number;
  let highWaterMark: number;
  try {
    if (options === null || typeof options !== "object") {
      throw new TypeError("tlsConnect needs options with a serverName");
    }
    serverName = normalizeServerName(options.serverName);
    offered = alpnList(options.alpn);
    pins = checkPins(options.pins ?? []);
    anchors = trustAnchors(options);
    timeout = checkTimeout(options.timeout ?? DEFAULT_TLS_TIMEOUT, "timeout");
    highWaterMark = checkHighWaterMark(
      options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    );
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("cert and key must be given together");
    }
    if (options.cert !== undefined) {
      checkCertificateKey(
        { cert: options.cert, key: options.key },
        "the client certificate (cert, key)",
      );
    }
    options.signal?.throwIfAborted();
  } catch (e) {
    duplex.close();
    throw e;
  }
  const service =
    offered.includes(ALPN_SERVER) && !offered.includes(ALPN_CLIENT)
      ? "xmpp-server"
      : "xmpp-client";
  const ctx = {
    side: "client" as const,
    serverName,
    trustNote: anchors.missing,
  };

  const bridge = new NodeBridge(duplex);
  let socket: tls.TLSSocket;
  try {
    socket = tls.connect({
      socket: bridge,
      servername: serverName,
      ALPNProtocols: offered.length > 0 ? offered : undefined,
      ca: anchors.ca.length > 0 ? anchors.ca : undefined,
      minVersion: TLS_MIN_VERSION,
      maxVersion: TLS_MAX_VERSION,
      rejectUnauthorized: true,
      cert: options.cert,
      key: options.key,
      allowHalfOpen: true,
      checkServerIdentity: (_host, cert) => {
        try {
          verifyServerIdentity(cert.raw, serverName, {
            service,
            commonName: options.commonName,
          });
          return undefined;
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      },
    } as tls.ConnectionOptions);
  } catch (e) {
    bridge.destroy();
    throw toTlsError(e, ctx);
  }
  const secure = new TlsDuplex(socket, bridge, highWaterMark);
  try {
    await awaitHandshake(socket, {
      event: "secureConnect",
      timeout,
      signal: options.signal,
      serverName,
      mapError: (e) => toTlsError(e, ctx),
      closedError: () =>
        new TlsError(
          "handshake-failed",
          `the server for ${serverName} closed the connection during the TLS ` +
            `handshake: it may not serve ${serverName} (SNI), may not accept ` +
            `the ALPN protocol ${
              offered.join(", ") || "(none offered)"
            }, may ` +
            `require a client certificate, or may not speak TLS on this port`,
          { serverName },
        ),
    });
    if (socket.authorized !== true) {
      throw toTlsError(
        Object.assign(new Error(String(socket.authorizationError)), {
          code: String(socket.authorizationError ?? "CERT_UNTRUSTED"),
        }),
        ctx,
      );
    }
    const tlsVersion = socket.getProtocol() ?? undefined;
    const cipher = socket.getCipher()?.name;
    checkNegotiated({ tlsVersion, cipher, serverName });
    const selected = socket.alpnProtocol || null;
    if (selected !== null && !offered.includes(selected)) {
      throw new TlsError(
        "alpn-mismatch",
        `the server for ${serverName} selected the ALPN protocol ` +
          `${JSON.stringify(selected)}, but ${
            offered.map((p) => JSON.stringify(p)).join(", ") || "none"
          } was offered: it is not an XMPP endpoint for this stream`,
        { serverName },
      );
    }
    if (selected === null && offered.length > 0 && options.requireAlpn) {
      throw new TlsError(
        "alpn-missing",
        `the server for ${serverName} selected no ALPN protocol, and ` +
          `requireAlpn is set: the server must negotiate ${offered[0]} ` +
          `(XEP-0368), or leave requireAlpn off`,
        { serverName },
      );
    }
    const chain = peerChain(socket);
    if (pins.length > 0) await verifyPins(chain, pins, { serverName });
    const info: ConnectionInfo = {
      transport: "tls",
      secure: true,
      alpn: selected,
      serverName,
      tlsVersion,
      cipher,
    };
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
