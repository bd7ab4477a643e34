/**
 * The QUIC listener (XEP-0467): accept QUIC connections and hand out every
 * bidirectional stream a client opens as its own `Duplex`, ready for
 * `XmlStream.accept`. It has the shape of `listenDirectTls` (`accept()`,
 * async iteration, `close()`), so a server can run the same handler over
 * its TCP and QUIC listeners:
 *
 * ```ts ignore
 * for await (const duplex of quicListener) handle(duplex); // as for TCP
 * ```
 *
 * Each duplex's `info` says `transport: "quic"`, the ALPN the client chose
 * (`xmpp-client` or `xmpp-server`, so the handler knows which stream
 * namespace to expect), the SNI name and the addresses.
 * `quicConnectionOf(duplex)` gives its connection (for streams the server
 * opens itself).
 *
 * Certificates: Deno's QUIC takes one certificate chain per listener
 * (`QuicEndpoint.listen({ cert, key })`; `QuicIncoming.accept()` takes
 * none, and a second `listen()` on the endpoint replaces the certificate for
 * all, measured with 2.9.6), so there is no certificate per SNI name. Serve
 * several domains with one certificate naming them all (`domains` then
 * lists them), or with one listener (address or port) per certificate. The
 * SNI name is known only after the handshake: a connection for a name not
 * in `domains` is closed then (`TlsError` `unknown-server-name` to
 * `onError`; the client sees the close reason).
 *
 * Limits: connections (more are refused before the handshake), concurrent
 * streams per connection (QUIC flow control: the client cannot open more),
 * streams waiting to be taken (beyond that, no more are taken from the
 * connections until `accept()` is called), the handshake time and the idle
 * time. Unidirectional streams: the client is allowed none, and any that
 * arrives is stopped.
 *
 * 0-RTT (`zeroRtt: true`): connections are accepted in 0.5-RTT mode, so
 * the server answers the stream header (header and features) before the
 * handshake completes, which gives a client with a session ticket its
 * features after one round trip. Only the stream header is handed to the
 * reader before the handshake completes (early data can be replayed); the
 * rest waits for it. Deno's QUIC has no client certificates, so 0.5-RTT
 * weakens nothing here.
 *
 * @module
 */

import type { Duplex } from "../stream/duplex.ts";
import type { CertificateKey } from "../tls/server.ts";
import { ALPN_CLIENT, ALPN_SERVER } from "../tls/alpn.ts";
import { normalizeServerName } from "../tls/identity.ts";
import { TlsError } from "../tls/tls_error.ts";
import { _handshakeError } from "./_errors.ts";
import { QuicConnection } from "./connection.ts";
import { QuicError } from "./quic_error.ts";
import { assertQuicSupported } from "./support.ts";

/**
 * Options for {@linkcode listenQuic}.
 *
 * @example
 * ```ts
 * import type { ListenQuicOptions } from "./listen.ts";
 * const options: ListenQuicOptions = {
 *   port: 443,
 *   certificate: { cert: "-----BEGIN CERTIFICATE-----...", key: "..." },
 *   domains: ["example.org"],
 * };
 * console.log(options.maxStreams ?? 16); // 16
 * ```
 */
export interface ListenQuicOptions {
  /**
   * The address to listen on.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /** The UDP port (0 for any free port). */
  port: number;
  /** The certificate chain and key (one per listener: see the module docs). */
  certificate: CertificateKey;
  /**
   * The domains served (SNI names; U-labels are converted). A client that
   * asks for another name, or none, has its connection closed.
   *
   * @default {undefined} (any name)
   */
  domains?: readonly string[];
  /**
   * The ALPN protocols accepted, in this server's order of preference.
   *
   * @default {["xmpp-client", "xmpp-server"]}
   */
  alpn?: readonly string[];
  /**
   * Accept 0-RTT data and answer in 0.5-RTT (see the module docs).
   *
   * @default {false}
   */
  zeroRtt?: boolean;
  /**
   * Connections open at once; more are refused.
   *
   * @default {1024}
   */
  maxConnections?: number;
  /**
   * Bidirectional streams (XML streams) a client may have open at once on
   * one connection.
   *
   * @default {16}
   */
  maxStreams?: number;
  /**
   * Streams accepted but not yet taken with `accept()`.
   *
   * @default {64}
   */
  maxPending?: number;
  /**
   * Milliseconds a handshake may take.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Milliseconds without any packet from a client before its connection is
   * dropped (the lower of both sides' values applies).
   *
   * @default {60000}
   */
  maxIdleTimeout?: number;
  /**
   * Milliseconds of silence after which this side sends a keep-alive; `0`
   * sends none (clients usually do).
   *
   * @default {0}
   */
  keepAliveInterval?: number;
  /**
   * A preferred IPv4 address (`"host:port"`) announced to clients, such as
   * this server's own address behind a shared or anycast one. Clients that
   * implement it move there after the handshake; Deno's client (quinn) does
   * not (measured with 2.9.6).
   *
   * @default {undefined}
   */
  preferredAddressV4?: string;
  /**
   * The same for IPv6 (`"[addr]:port"`).
   *
   * @default {undefined}
   */
  preferredAddressV6?: string;
  /**
   * Milliseconds a stream's `close()` waits for the FIN exchange.
   *
   * @default {2000}
   */
  linger?: number;
  /**
   * Aborting it closes the listener, as `close()` does.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called for each connection that failed or was refused (handshake
   * errors, an SNI name not served, the connection limit), with the
   * client's address when known: Deno 2.9.6 cannot tell it before the
   * handshake (reading `QuicIncoming.remoteAddr` invalidates the incoming
   * connection, which then can be neither accepted nor refused).
   *
   * @default {() => {}}
   */
  onError?: (error: Error, remoteAddr: Deno.NetAddr | undefined) => void;
  /**
   * Called for each connection once its handshake has started (0-RTT) or
   * completed, before any of its streams is handed out.
   *
   * @default {() => {}}
   */
  onConnection?: (conn: QuicConnection) => void;
}

/**
 * A QUIC listener: iterate it, or call `accept()`, to get each stream a
 * client opened, as a duplex.
 *
 * @example
 * ```ts
 * import type { QuicListener } from "./listen.ts";
 * import { XmlStream } from "../stream/xml_stream.ts";
 *
 * export async function serve(listener: QuicListener) {
 *   for await (const duplex of listener) {
 *     const ns = duplex.info.alpn === "xmpp-server" ? "jabber:server" : "jabber:client";
 *     XmlStream.accept(duplex, { ns }).then((xs) => xs.close(), () => {});
 *   }
 * }
 * ```
 */
export interface QuicListener extends AsyncIterable<Duplex> {
  /** The address listened on (with the actual port). */
  readonly addr: Deno.NetAddr;
  /** The connections open now. */
  readonly connections: ReadonlySet<QuicConnection>;
  /**
   * The next stream a client opened.
   *
   * @throws {Deno.errors.BadResource} Once the listener is closed.
   */
  accept(): Promise<Duplex>;
  /**
   * Stop listening, close every connection (streams not yet taken too) and
   * the endpoint. Resolves when all of that is done. Idempotent.
   */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

function _positiveInt(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function _ms(value: unknown, name: string, zero: boolean): number {
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

class _Listener implements QuicListener {
  readonly addr: Deno.NetAddr;
  readonly connections: Set<QuicConnection> = new Set();
  #endpoint: Deno.QuicEndpoint;
  #listener: Deno.QuicListener;
  #o: ListenQuicOptions;
  #limits: {
    maxConnections: number;
    maxStreams: number;
    maxPending: number;
    timeout: number;
    maxIdleTimeout: number;
    keepAliveInterval: number;
  };
  #alpn: string[];
  #domains: string[] | undefined;
  #ready: Duplex[] = [];
  #waiters: PromiseWithResolvers<Duplex>[] = [];
  #slot: PromiseWithResolvers<void> | null = null;
  #work = new Set<Promise<void>>();
  #closed = false;
  /** Connections open or handshaking (for maxConnections). */
  #active = 0;
  #closing: Promise<void> | null = null;
  #loop: Promise<void>;
  #onAbort: (() => void) | null = null;

  constructor(o: ListenQuicOptions) {
    this.#o = o;
    this.#limits = {
      maxConnections: _positiveInt(o.maxConnections ?? 1024, "maxConnections"),
      maxStreams: _positiveInt(o.maxStreams ?? 16, "maxStreams"),
      maxPending: _positiveInt(o.maxPending ?? 64, "maxPending"),
      timeout: _ms(o.timeout ?? 10_000, "timeout", false),
      maxIdleTimeout: _ms(o.maxIdleTimeout ?? 60_000, "maxIdleTimeout", false),
      keepAliveInterval: _ms(
        o.keepAliveInterval ?? 0,
        "keepAliveInterval",
        true,
      ),
    };
    _ms(o.linger ?? 2000, "linger", true);
    this.#alpn = [...(o.alpn ?? [ALPN_CLIENT, ALPN_SERVER])];
    if (
      this.#alpn.length === 0 ||
      this.#alpn.some((p) =>
        typeof p !== "string" || p === "" || p.length > 255
      )
    ) {
      throw new TypeError(
        'alpn must list protocol ids such as "xmpp-client"; QUIC requires ALPN',
      );
    }
    this.#domains = o.domains?.map((d) => normalizeServerName(d));
    const cert = o.certificate;
    if (
      !cert || typeof cert.cert !== "string" || typeof cert.key !== "string" ||
      !cert.cert.includes("-----BEGIN CERTIFICATE-----") ||
      !cert.key.includes("PRIVATE KEY-----")
    ) {
      throw new TypeError(
        "certificate must be { cert, key } in PEM (the chain, then its key)",
      );
    }
    this.#endpoint = new Deno.QuicEndpoint({
      hostname: o.hostname ?? "0.0.0.0",
      port: o.port,
    });
    try {
      this.#listener = this.#endpoint.listen({
        cert: cert.cert,
        key: cert.key,
        alpnProtocols: this.#alpn,
        ...this.#transport(),
      });
    } catch (e) {
      this.#endpoint.close();
      throw e;
    }
    this.addr = this.#endpoint.addr;
    this.#loop = this.#acceptLoop();
    if (o.signal) {
      const signal = o.signal;
      this.#onAbort = () => void this.close();
      if (signal.aborted) queueMicrotask(this.#onAbort);
      else signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  #transport() {
    const l = this.#limits;
    return {
      maxIdleTimeout: l.maxIdleTimeout,
      keepAliveInterval: l.keepAliveInterval > 0
        ? l.keepAliveInterval
        : undefined,
      maxConcurrentBidirectionalStreams: l.maxStreams,
      maxConcurrentUnidirectionalStreams: 0,
      preferredAddressV4: this.#o.preferredAddressV4,
      preferredAddressV6: this.#o.preferredAddressV6,
    };
  }

  #report(e: Error, remote: Deno.NetAddr | undefined): void {
    if (this.#closed) return;
    try {
      this.#o.onError?.(e, remote);
    } catch { /* a throwing callback must not stop the listener */ }
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let incoming: Deno.QuicIncoming;
      try {
        incoming = await this.#listener.incoming();
      } catch {
        return; // the endpoint is closed
      }
      if (this.#closed) {
        incoming.refuse();
        return;
      }
      if (this.#active >= this.#limits.maxConnections) {
        // Not incoming.remoteAddr: reading it invalidates `incoming`.
        incoming.refuse();
        this.#report(
          new QuicError(
            "refused",
            `refused a QUIC connection: ${this.#active} connections open ` +
              `or handshaking (maxConnections)`,
          ),
          undefined,
        );
        continue;
      }
      this.#active++;
      let counted = true;
      const release = () => {
        if (counted) this.#active--;
        counted = false;
      };
      this.#track(this.#handle(incoming, release));
    }
  }

  #track(p: Promise<void>): void {
    const t = p.catch(() => {}).finally(() => this.#work.delete(t));
    this.#work.add(t);
  }

  async #handle(
    incoming: Deno.QuicIncoming,
    release: () => void,
  ): Promise<void> {
    // Deno 2.9.6: reading any QuicIncoming getter (remoteAddr, localIp,
    // remoteAddressValidated) invalidates it, so the address is only known
    // from the connection.
    let remote: Deno.NetAddr | undefined;
    const ctx = {
      role: "server" as const,
      alpn: this.#alpn,
    };
    const started = performance.now();
    let conn: Deno.QuicConn;
    if (this.#o.zeroRtt) {
      try {
        conn = incoming.accept<true>({ ...this.#transport(), zeroRtt: true });
      } catch (e) {
        release();
        this.#report(_handshakeError(e, ctx), remote);
        return;
      }
    } else {
      const pending = incoming.accept<false>({
        ...this.#transport(),
        zeroRtt: false,
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        conn = await Promise.race([
          pending,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new TlsError(
                    "handshake-timeout",
                    `the QUIC handshake with a client did not complete ` +
                      `within ${this.#limits.timeout} ms`,
                  ),
                ),
              this.#limits.timeout,
            );
          }),
        ]);
      } catch (e) {
        pending.then((c) => c.close(), () => {});
        release();
        this.#report(_handshakeError(e, ctx), remote);
        return;
      } finally {
        clearTimeout(timer);
      }
    }
    try {
      remote = conn.remoteAddr;
    } catch { /* closed already */ }
    const qc = new QuicConnection(conn, {
      role: "server",
      domains: this.#domains,
      handshakeTimeout: Math.max(
        1,
        this.#limits.timeout - (performance.now() - started),
      ),
      linger: this.#o.linger,
    });
    this.connections.add(qc);
    qc.closed.then(() => {
      this.connections.delete(qc);
      release();
    });
    qc.handshake.catch((e) => this.#report(e, remote));
    if (this.#closed) {
      await qc.close({ linger: 0 });
      return;
    }
    try {
      this.#o.onConnection?.(qc);
    } catch { /* a throwing callback must not stop the listener */ }
    await this.#takeStreams(qc);
  }

  /** Move the connection's streams to the queue, within `maxPending`. */
  async #takeStreams(qc: QuicConnection): Promise<void> {
    for (;;) {
      while (
        !this.#closed && this.#waiters.length === 0 &&
        this.#ready.length >= this.#limits.maxPending
      ) {
        this.#slot ??= Promise.withResolvers<void>();
        await this.#slot.promise;
      }
      if (this.#closed) return;
      let duplex: Duplex;
      try {
        duplex = await qc.acceptStream();
      } catch {
        return; // the connection closed or failed (reported above)
      }
      if (this.#closed) {
        duplex.close();
        return;
      }
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(duplex);
      else this.#ready.push(duplex);
    }
  }

  #freeSlot(): void {
    const s = this.#slot;
    this.#slot = null;
    s?.resolve();
  }

  accept(): Promise<Duplex> {
    if (this.#closed) {
      return Promise.reject(
        new Deno.errors.BadResource("The QUIC listener is closed"),
      );
    }
    const ready = this.#ready.shift();
    if (ready) {
      this.#freeSlot();
      return Promise.resolve(ready);
    }
    const waiter = Promise.withResolvers<Duplex>();
    this.#waiters.push(waiter);
    this.#freeSlot();
    return waiter.promise;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Duplex> {
    while (!this.#closed) {
      try {
        yield await this.accept();
      } catch (e) {
        if (this.#closed && e instanceof Deno.errors.BadResource) return;
        throw e;
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      if (this.#onAbort) {
        this.#o.signal?.removeEventListener("abort", this.#onAbort);
      }
      try {
        this.#listener.stop();
      } catch { /* already stopped */ }
      for (const d of this.#ready.splice(0)) d.close();
      for (const w of this.#waiters.splice(0)) {
        w.reject(new Deno.errors.BadResource("The QUIC listener is closed"));
      }
      this.#freeSlot();
      await Promise.all(
        [...this.connections].map((c) =>
          c.close({ reason: "server shutting down", linger: 0 })
        ),
      );
      // Ends the accept loop and any handshake still running.
      try {
        this.#endpoint.close({ closeCode: 0, reason: "server shutting down" });
      } catch { /* already closed */ }
      await this.#loop;
      while (this.#work.size > 0) await Promise.all([...this.#work]);
      await Promise.all([...this.connections].map((c) => c.closed));
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Listen for XMPP over QUIC on a UDP port.
 *
 * @example (not run: binds a port)
 * ```ts
 * import { listenQuic } from "./listen.ts";
 * import { XmlStream } from "../stream/xml_stream.ts";
 *
 * export async function serve(cert: string, key: string) {
 *   const listener = listenQuic({
 *     port: 443,
 *     certificate: { cert, key },
 *     domains: ["example.org"],
 *     alpn: ["xmpp-client"],
 *   });
 *   for await (const duplex of listener) {
 *     XmlStream.accept(duplex, { domains: ["example.org"] })
 *       .then(async (xs) => {
 *         await xs.sendFeatures([]);
 *         await xs.close();
 *       })
 *       .catch(() => {});
 *   }
 * }
 * ```
 *
 * @param options Address, certificate, domains, ALPN, limits, callbacks.
 * @returns The listener.
 * @throws {Deno.errors.NotSupported} Without `--unstable-net`.
 * @throws {TypeError} If the certificate, ALPN or a domain is not valid.
 * @throws {RangeError} If a limit or timeout is out of range.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 */
export function listenQuic(options: ListenQuicOptions): QuicListener {
  assertQuicSupported();
  if (options === null || typeof options !== "object") {
    throw new TypeError("listenQuic needs options with port and certificate");
  }
  return new _Listener(options);
}
