/**
 * The QUIC dialer (XEP-0467): connect to a `quic` candidate from `srv/`
 * and hand out XML-stream duplexes.
 *
 * - UDP to the candidate's address and port (443 when it has none).
 * - SNI and the certificate check: the candidate's `serverName`, the JID
 *   domain as an A-label, never the host or IP connected to. Trust: Deno's
 *   root store (Mozilla's) plus the anchors of the `tls/` policy (`ca`, and
 *   the OS store with `systemCa`), passed as `caCerts`.
 * - ALPN: the candidate's `xmpp-client` or `xmpp-server`, and only that;
 *   rustls refuses a server that selects none or another (QUIC requires
 *   ALPN), and the connection checks it again. A refusal is a `TlsError`
 *   with code `alpn-mismatch`.
 * - STARTTLS is never used: the stream is secure from its first byte.
 * - {@linkcode dialQuic} returns the first stream as a `Duplex` (for
 *   `race()` beside the TCP dialers); {@linkcode openQuicConnection} returns
 *   the {@linkcode QuicConnection} to open several.
 * - 0-RTT (`zeroRtt: true`, opt-in): with a session ticket from an earlier
 *   connection through the same endpoint, the connection is usable at once
 *   and the stream header travels in early data; everything after the
 *   header (credentials included) waits for the handshake. If the server
 *   rejects the early data, the stream is reopened and the header sent
 *   again, transparently.
 *
 * What Deno's QUIC (quinn + rustls) cannot do here, measured with 2.9.6:
 * the peer certificate is not exposed, so SPKI pins cannot be checked
 * (candidates with pins are refused with `NotSupported`) and the identity
 * check is rustls's (DNS-ID in subjectAltName only: no CN fallback, no
 * SRV-ID or XmppAddr-only certificates); no client certificates; no active
 * migration started by the client (no endpoint rebind); a Deno client does
 * not move to a server's `preferred_address`.
 *
 * @module
 */

import type { Candidate } from "../srv/candidate.ts";
import type { Duplex } from "../stream/duplex.ts";
import { ALPN_CLIENT, ALPN_SERVER } from "../tls/alpn.ts";
import { normalizeServerName } from "../tls/identity.ts";
import { trustAnchors, type TrustOptions } from "../tls/policy.ts";
import { TlsError } from "../tls/tls_error.ts";
import { QUIC_DEFAULT_PORT } from "../srv/discover.ts";
import { _handshakeError } from "./_errors.ts";
import { QuicConnection } from "./connection.ts";
import { assertQuicSupported } from "./support.ts";

/**
 * Options for {@linkcode dialQuic} and {@linkcode openQuicConnection}.
 *
 * @example
 * ```ts
 * import type { DialQuicOptions } from "./dial.ts";
 * const options: DialQuicOptions = { address: "192.0.2.1", zeroRtt: true, timeout: 5000 };
 * console.log(options.keepAliveInterval ?? 15000); // 15000
 * ```
 */
export interface DialQuicOptions extends TrustOptions {
  /**
   * The IP address (or host) to send to, such as one `race()` resolved.
   *
   * @default {candidate.ips?.[0] ?? candidate.host}
   */
  address?: string;
  /**
   * The UDP port.
   *
   * @default {candidate.port || 443}
   */
  port?: number;
  /**
   * An endpoint to share with other connections (see `createQuicEndpoint`);
   * 0-RTT needs one. Without it, a new endpoint is bound for this
   * connection and closed with it.
   *
   * @default {undefined}
   */
  endpoint?: Deno.QuicEndpoint;
  /**
   * Use 0-RTT when the endpoint holds a session ticket for this server (from
   * an earlier connection with the same ALPN and trust anchors): the
   * connection is returned before the handshake completes and only the
   * stream header goes out in early data.
   *
   * @default {false}
   */
  zeroRtt?: boolean;
  /**
   * Milliseconds the handshake may take before `TlsError`
   * `handshake-timeout`.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Aborting it before the handshake completes fails the dial with the
   * signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Milliseconds of silence after which a keep-alive is sent (keeps NAT
   * mappings, which often expire after 30 s of silence); `0` sends none.
   *
   * @default {15000}
   */
  keepAliveInterval?: number;
  /**
   * Milliseconds without any packet from the server before the connection
   * is dropped (the lower of both sides' values applies).
   *
   * @default {60000}
   */
  maxIdleTimeout?: number;
  /**
   * Streams the server may open towards this side at once (for s2s, where
   * the peer opens streams back); `0` allows none.
   *
   * @default {0}
   */
  maxIncomingStreams?: number;
  /**
   * Milliseconds a stream's `close()` waits for the FIN exchange.
   *
   * @default {2000}
   */
  linger?: number;
  /**
   * Close the connection when its last stream has closed.
   *
   * @default {false} (`true` for `dialQuic`)
   */
  closeWhenIdle?: boolean;
  /**
   * SPKI pins. Deno does not expose the certificate of a QUIC connection,
   * so pins cannot be checked: a non-empty list is refused.
   *
   * @default {candidate.pins ?? []}
   */
  pins?: readonly string[];
}

function _checkMs(value: unknown, name: string, zero: boolean): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) ||
    (zero ? value < 0 : !(value > 0))
  ) {
    throw new RangeError(
      `${name} must be a ${
        zero ? "non-negative" : "positive"
      } number of milliseconds, got ${value}`,
    );
  }
  return value;
}

const _IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function _newEndpoint(address: string): Deno.QuicEndpoint {
  if (_IPV4.test(address)) {
    return new Deno.QuicEndpoint({ hostname: "0.0.0.0", port: 0 });
  }
  try {
    return new Deno.QuicEndpoint({ hostname: "::", port: 0 });
  } catch (e) {
    if (address.includes(":")) throw e;
    return new Deno.QuicEndpoint({ hostname: "0.0.0.0", port: 0 });
  }
}

/**
 * Connect to a QUIC candidate and return the connection, to open XML
 * streams on with `openStream()`. The dialing side closes it (`close()`),
 * after its XML streams have ended.
 *
 * @example (not run: needs a server)
 * ```ts
 * import { openQuicConnection } from "./dial.ts";
 * import { XmlStream } from "../stream/xml_stream.ts";
 *
 * export async function features(domain: string) {
 *   const conn = await openQuicConnection({
 *     transport: "quic", host: domain, port: 443, serverName: domain,
 *     alpn: "xmpp-client", priority: 0, weight: 0, source: "quic-default",
 *   });
 *   const xs = await XmlStream.open(await conn.openStream(), { to: domain });
 *   const features = await xs.readFeatures();
 *   await xs.close();
 *   await conn.close();
 *   return features;
 * }
 * ```
 *
 * @param candidate A candidate with `transport: "quic"`.
 * @param options Address, port, endpoint, 0-RTT, timeouts, trust.
 * @returns The connection (after the handshake, or at once with 0-RTT).
 * @throws {TlsError} If the handshake fails or the policy refuses the
 *   server (`alpn-mismatch`, `name-mismatch`, `untrusted-certificate`,
 *   `certificate-expired`, `handshake-timeout`, `handshake-failed`).
 * @throws {QuicError} `refused` if the server refused the connection.
 * @throws {TypeError} If the candidate is not a QUIC candidate, or its
 *   server name or ALPN is not valid.
 * @throws {RangeError} If the port or a timeout is out of range.
 * @throws {Deno.errors.NotSupported} Without `--unstable-net`, or with
 *   SPKI pins.
 */
export async function openQuicConnection(
  candidate: Candidate,
  options: DialQuicOptions = {},
): Promise<QuicConnection> {
  assertQuicSupported();
  if (candidate === null || typeof candidate !== "object") {
    throw new TypeError("openQuicConnection needs a Candidate");
  }
  if (candidate.transport !== "quic") {
    throw new TypeError(
      `dialing QUIC needs a "quic" candidate, got "${candidate.transport}"`,
    );
  }
  const serverName = normalizeServerName(candidate.serverName);
  const alpn = candidate.alpn;
  if (alpn !== ALPN_CLIENT && alpn !== ALPN_SERVER) {
    throw new TypeError(
      `a QUIC candidate's alpn must be "${ALPN_CLIENT}" or "${ALPN_SERVER}", got ${
        JSON.stringify(alpn)
      }`,
    );
  }
  const pins = options.pins ?? candidate.pins ?? [];
  if (pins.length > 0) {
    throw new Deno.errors.NotSupported(
      `the QUIC candidate for ${serverName} has SPKI pins, which cannot be ` +
        `checked over QUIC: Deno does not expose the peer certificate of a ` +
        `QUIC connection; use the Direct TLS candidate instead`,
    );
  }
  const timeout = _checkMs(options.timeout ?? 10_000, "timeout", false);
  const keepAliveInterval = _checkMs(
    options.keepAliveInterval ?? 15_000,
    "keepAliveInterval",
    true,
  );
  const maxIdleTimeout = _checkMs(
    options.maxIdleTimeout ?? 60_000,
    "maxIdleTimeout",
    false,
  );
  const maxIncoming = options.maxIncomingStreams ?? 0;
  if (!Number.isInteger(maxIncoming) || maxIncoming < 0) {
    throw new RangeError(
      `maxIncomingStreams must be a non-negative integer, got ${maxIncoming}`,
    );
  }
  const address = options.address ?? candidate.ips?.[0] ?? candidate.host;
  if (typeof address !== "string" || address === "") {
    throw new TypeError("the candidate has no host to connect to");
  }
  const port = options.port ?? (candidate.port || QUIC_DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `port must be an integer from 1 to 65535, got ${port}`,
    );
  }
  const { ca } = trustAnchors({ ca: options.ca, systemCa: options.systemCa });
  options.signal?.throwIfAborted();

  const owns = options.endpoint === undefined;
  const endpoint = options.endpoint ?? _newEndpoint(address);
  const peer = address.includes(":")
    ? `[${address}]:${port}`
    : `${address}:${port}`;
  const ctx = { role: "client" as const, serverName, peer, alpn: [alpn] };
  const closeEndpoint = () => {
    if (!owns) return;
    try {
      endpoint.close();
    } catch { /* already closed */ }
  };
  const started = performance.now();
  let maybe: Deno.QuicConn | Promise<Deno.QuicConn>;
  try {
    maybe = Deno.connectQuic({
      hostname: address,
      port,
      serverName,
      alpnProtocols: [alpn],
      caCerts: ca.length > 0 ? ca : undefined,
      endpoint,
      zeroRtt: options.zeroRtt ?? false,
      keepAliveInterval: keepAliveInterval > 0 ? keepAliveInterval : undefined,
      maxIdleTimeout,
      maxConcurrentBidirectionalStreams: maxIncoming,
      maxConcurrentUnidirectionalStreams: 0,
    });
  } catch (e) {
    closeEndpoint();
    throw _handshakeError(e, ctx);
  }
  const connOptions = {
    role: "client" as const,
    serverName,
    alpn,
    linger: options.linger,
    closeWhenIdle: options.closeWhenIdle ?? false,
    ownsEndpoint: owns,
  };
  if (!(maybe instanceof Promise)) {
    // 0-RTT: usable now; the handshake completes in the background.
    return new QuicConnection(maybe, {
      ...connOptions,
      handshakeTimeout: timeout,
    });
  }
  const pending = maybe;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = Promise.withResolvers<never>();
  const onAbort = () => stop.reject(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  timer = setTimeout(() => {
    timer = undefined;
    stop.reject(
      new TlsError(
        "handshake-timeout",
        `no QUIC handshake with ${peer} (for ${serverName}) within ${timeout} ms` +
          ` (nothing answered on UDP, or the answers were lost)`,
        { serverName },
      ),
    );
  }, timeout);
  let conn: Deno.QuicConn;
  try {
    conn = await Promise.race([pending, stop.promise]);
  } catch (e) {
    // The connect cannot be cancelled: close what it yields, if anything.
    pending.then((c) => c.close(), () => {});
    closeEndpoint();
    if (options.signal?.aborted && e === options.signal.reason) throw e;
    throw _handshakeError(e, ctx);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
  const qc = new QuicConnection(conn, {
    ...connOptions,
    handshakeTimeout: Math.max(1, timeout - (performance.now() - started)),
  });
  try {
    await qc.handshake;
  } catch (e) {
    await qc.close({ linger: 0 });
    throw e;
  }
  return qc;
}

/**
 * Connect to a QUIC candidate and open one bidirectional stream: the duplex
 * to run an XML stream over, like `dialDirectTls` for TCP. The connection
 * closes when its last stream does; `quicConnectionOf(duplex)` gives the
 * connection, to open more streams on it first.
 *
 * @example With `race()` from `srv/` (not run: needs a server)
 * ```ts
 * import { dialQuic } from "./dial.ts";
 * import { race } from "../srv/race.ts";
 * import { XmlStream } from "../stream/xml_stream.ts";
 * import type { Candidate } from "../srv/candidate.ts";
 *
 * export async function connect(candidates: Candidate[], domain: string) {
 *   const { value } = await race(
 *     candidates.filter((c) => c.transport === "quic"),
 *     ({ candidate, address }, signal) =>
 *       dialQuic(candidate, { address: address.ip, signal }),
 *   );
 *   console.log(value.info.transport, value.info.alpn); // quic xmpp-client
 *   return await XmlStream.open(value, { to: domain });
 * }
 * ```
 *
 * @param candidate A candidate with `transport: "quic"`.
 * @param options As for {@linkcode openQuicConnection}.
 * @returns The stream as a duplex.
 * @throws {TlsError} As for {@linkcode openQuicConnection}.
 * @throws {QuicError} `refused`, or `closed` if the connection ended before
 *   a stream could be opened.
 * @throws {TypeError} If the candidate is not a QUIC candidate.
 * @throws {Deno.errors.NotSupported} Without `--unstable-net`, or with pins.
 */
export async function dialQuic(
  candidate: Candidate,
  options: DialQuicOptions = {},
): Promise<Duplex> {
  const conn = await openQuicConnection(candidate, {
    ...options,
    closeWhenIdle: options.closeWhenIdle ?? true,
  });
  try {
    return await conn.openStream({ signal: options.signal });
  } catch (e) {
    await conn.close({ linger: 0 });
    throw e;
  }
}
