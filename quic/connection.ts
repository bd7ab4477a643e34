/**
 * {@linkcode QuicConnection}: one QUIC connection carrying several
 * independent XML streams (XEP-0467 §2: each bidirectional stream is a
 * separate XMPP connection with the security of the one handshake), for a
 * second account on the same server, or several s2s streams.
 *
 * Either side can open streams ({@linkcode QuicConnection.openStream}) and
 * take the ones the peer opened ({@linkcode QuicConnection.acceptStream}).
 * Each stream is a `Duplex` for `XmlStream.open` / `XmlStream.accept`.
 * Unidirectional streams are never used by XMPP: the ones a peer opens are
 * stopped at once (STOP_SENDING), and the dialer and listener of this module
 * allow the peer none to begin with.
 *
 * Closing: a stream duplex's `close()` sends FIN after the bytes written and
 * waits up to `linger` ms for the peer's FIN, without closing the
 * connection. {@linkcode QuicConnection.close} closes the streams that way
 * and then the connection. Closing a QUIC connection drops data still in
 * flight, so the dialing side closes the connection (after its XML streams
 * ended), and a server leaves it to the client (or to the idle timeout).
 *
 * @module
 */

import { raceAbort } from "../stream/_abort.ts";
import type { Address, ConnectionInfo, Duplex } from "../stream/duplex.ts";
import { normalizeServerName } from "../tls/identity.ts";
import { TlsError } from "../tls/tls_error.ts";
import { _handshakeError } from "./_errors.ts";
import { _StreamDuplex } from "./_stream_duplex.ts";
import { QuicError } from "./quic_error.ts";

/**
 * Options for {@linkcode QuicConnection}.
 *
 * @example
 * ```ts
 * import type { QuicConnectionOptions } from "./connection.ts";
 * const options: QuicConnectionOptions = {
 *   role: "client",
 *   serverName: "example.org",
 *   alpn: "xmpp-client",
 * };
 * console.log(options.linger ?? 2000); // 2000
 * ```
 */
export interface QuicConnectionOptions {
  /** Whether this side dialed (`"client"`) or accepted (`"server"`). */
  role: "client" | "server";
  /**
   * Client: the JID domain the connection is for (its SNI). Server: ignored
   * (the SNI the client sent is used).
   *
   * @default {undefined}
   */
  serverName?: string;
  /**
   * Client: the ALPN protocol that must be negotiated; any other (or none)
   * fails the connection with `TlsError` `alpn-mismatch`.
   *
   * @default {undefined} (not checked)
   */
  alpn?: string;
  /**
   * Server: the SNI names served (any case, U-labels allowed). A client
   * that sent another name, or none, has its connection closed with
   * `TlsError` `unknown-server-name`.
   *
   * @default {undefined} (any name)
   */
  domains?: readonly string[];
  /**
   * Milliseconds the handshake may take from now before the connection is
   * closed with `handshake-timeout` (only matters when `conn` was returned
   * before its handshake completed: 0-RTT or 0.5-RTT).
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Milliseconds a stream's `close()` waits for its FIN to go out and for
   * the peer's FIN.
   *
   * @default {2000}
   */
  linger?: number;
  /**
   * Close the connection when its last stream has closed.
   *
   * @default {false}
   */
  closeWhenIdle?: boolean;
  /**
   * Also close `conn.endpoint` when the connection closes (for an endpoint
   * made for this connection alone).
   *
   * @default {false}
   */
  ownsEndpoint?: boolean;
}

/**
 * Options for {@linkcode QuicConnection.openStream}.
 *
 * @example
 * ```ts
 * import type { OpenStreamOptions } from "./connection.ts";
 * const options: OpenStreamOptions = { wait: true, signal: AbortSignal.timeout(5000) };
 * console.log(options.wait); // true
 * ```
 */
export interface OpenStreamOptions {
  /**
   * When the peer's limit of concurrent streams is reached: `false` fails
   * with `QuicError` `stream-limit`, `true` waits until a stream closes.
   *
   * @default {false}
   */
  wait?: boolean;
  /**
   * Aborting it stops waiting (a stream opened later is closed at once).
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * How a connection ended.
 *
 * @example
 * ```ts
 * import type { QuicClosed } from "./connection.ts";
 * const closed: QuicClosed = { closeCode: 0, reason: "" };
 * console.log(closed.error === undefined); // true
 * ```
 */
export interface QuicClosed {
  /** The application close code, if either side closed it with one. */
  closeCode?: number;
  /** The close reason, or the error's message. */
  reason: string;
  /**
   * The error that ended it, if it did not end by an application close
   * (idle timeout, a failed or timed-out handshake, an ALPN or SNI refusal).
   */
  error?: Error;
}

/** Close code this module uses when it refuses a connection by policy. */
const REFUSED_CODE = 1;

const _streamConnections = new WeakMap<Duplex, QuicConnection>();

/**
 * The {@linkcode QuicConnection} a stream duplex belongs to, to open more
 * streams beside it (another account, another s2s stream).
 *
 * @example
 * ```ts
 * import { quicConnectionOf } from "./connection.ts";
 * import type { Duplex } from "../stream/duplex.ts";
 *
 * export async function secondStream(first: Duplex) {
 *   const conn = quicConnectionOf(first);
 *   if (!conn) throw new TypeError("not a QUIC stream");
 *   return await conn.openStream();
 * }
 * ```
 *
 * @param duplex A duplex from this module (`dialQuic`, `listenQuic`,
 *   `openStream`, `acceptStream`).
 * @returns Its connection, or `undefined` for any other duplex.
 */
export function quicConnectionOf(duplex: Duplex): QuicConnection | undefined {
  return _streamConnections.get(duplex);
}

function _udp(addr: Deno.NetAddr | undefined): Address | undefined {
  if (!addr || typeof addr.hostname !== "string") return undefined;
  return { transport: "udp", hostname: addr.hostname, port: addr.port };
}

/**
 * A QUIC connection that carries XML streams. Made by `dialQuic` /
 * `openQuicConnection` and `listenQuic`, or around any `Deno.QuicConn`.
 *
 * @example Two accounts over one connection (not run: needs a server)
 * ```ts
 * import { openQuicConnection } from "./dial.ts";
 * import { XmlStream } from "../stream/xml_stream.ts";
 * import type { Candidate } from "../srv/candidate.ts";
 *
 * export async function twoAccounts(candidate: Candidate) {
 *   const conn = await openQuicConnection(candidate);
 *   const [a, b] = await Promise.all([
 *     XmlStream.open(await conn.openStream(), { to: candidate.serverName }),
 *     XmlStream.open(await conn.openStream(), { to: candidate.serverName }),
 *   ]);
 *   console.log(conn.streams); // 2
 *   await Promise.all([a.close(), b.close()]);
 *   await conn.close();
 * }
 * ```
 */
export class QuicConnection implements AsyncIterable<Duplex>, AsyncDisposable {
  /** Whether this side dialed or accepted. */
  readonly role: "client" | "server";
  /**
   * Resolves once the handshake is complete and the ALPN (client) or SNI
   * (server) checked; rejects with a `TlsError` otherwise.
   */
  readonly handshake: Promise<void>;
  /** Resolves when the connection has closed, for whatever reason. */
  readonly closed: Promise<QuicClosed>;

  #conn: Deno.QuicConn;
  #options: QuicConnectionOptions;
  #serverName: string | undefined;
  #handshakeDone = false;
  #failure: Error | null = null;
  #closedInfo: QuicClosed | null = null;
  #closing: Promise<void> | null = null;
  #streams = new Set<_StreamDuplex>();
  #finishing = new Set<Promise<void>>();
  #incoming: ReadableStreamDefaultReader<Deno.QuicBidirectionalStream> | null =
    null;
  #acceptWaiters: {
    waiter: PromiseWithResolvers<Duplex>;
    signal: AbortSignal | undefined;
    onAbort: () => void;
  }[] = [];
  #spare: Deno.QuicBidirectionalStream[] = [];
  #pumping = false;
  #uniLoop: Promise<void>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #linger: number;

  /**
   * Wrap a `Deno.QuicConn`. The connection is owned from now on: close it
   * with {@linkcode QuicConnection.close}.
   *
   * @param conn The QUIC connection (its handshake may still be running).
   * @param options Role, names to check, timeouts.
   * @throws {TypeError} If `conn` is not a QUIC connection or an option is
   *   invalid.
   * @throws {RangeError} If a timeout is not a non-negative number.
   */
  constructor(conn: Deno.QuicConn, options: QuicConnectionOptions) {
    if (!conn || typeof conn.createBidirectionalStream !== "function") {
      throw new TypeError("QuicConnection needs a Deno.QuicConn");
    }
    if (options?.role !== "client" && options?.role !== "server") {
      throw new TypeError('role must be "client" or "server"');
    }
    const linger = options.linger ?? 2000;
    const handshakeTimeout = options.handshakeTimeout ?? 10_000;
    for (
      const [name, v] of [["linger", linger], [
        "handshakeTimeout",
        handshakeTimeout,
      ]] as const
    ) {
      if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
        throw new RangeError(
          `${name} must be a non-negative number of milliseconds, got ${v}`,
        );
      }
    }
    const domains = options.domains?.map((d) => normalizeServerName(d));
    this.#conn = conn;
    this.#options = { ...options, domains };
    this.#linger = linger;
    this.role = options.role;
    this.#serverName = options.role === "client"
      ? options.serverName
      : undefined;

    const closedDeferred = Promise.withResolvers<QuicClosed>();
    this.closed = closedDeferred.promise;
    conn.closed.then(
      (info) => ({ closeCode: info.closeCode, reason: info.reason }),
      (e: unknown) => ({
        reason: e instanceof Error ? e.message : String(e),
        error: e instanceof Error ? e : new Error(String(e)),
      }),
    ).then((info: QuicClosed) => {
      if (this.#failure && !info.error) info.error = this.#failure;
      this.#closedInfo = info;
      this.#cleanup();
      closedDeferred.resolve(info);
    });

    let timedOut = false;
    this.#timer = setTimeout(() => {
      timedOut = true;
      this.#timer = undefined;
      this.#fail(
        new TlsError(
          "handshake-timeout",
          `the QUIC handshake with ${this.#peer()}${this.#forName()} did not ` +
            `complete within ${handshakeTimeout} ms`,
          { serverName: this.#serverName },
        ),
      );
    }, handshakeTimeout);
    this.handshake = conn.handshake.then(
      () => {
        if (timedOut) throw this.#failure;
        this.#check();
        this.#handshakeDone = true;
      },
      (e) => {
        throw _handshakeError(e, {
          role: this.role,
          serverName: this.#serverName,
          peer: this.#peer(),
          alpn: options.alpn ? [options.alpn] : [],
        });
      },
    ).catch((e) => {
      this.#fail(e);
      throw this.#failure;
    }).finally(() => {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    });
    this.handshake.catch(() => {});
    this.#uniLoop = this.#refuseUnidirectional();
  }

  /** The peer's address as `host:port`. */
  #peer(): string {
    const a = this.remoteAddr;
    if (!a) return "the peer";
    return a.hostname.includes(":")
      ? `[${a.hostname}]:${a.port}`
      : `${a.hostname}:${a.port}`;
  }

  #forName(): string {
    return this.#serverName ? ` (for ${this.#serverName})` : "";
  }

  /** After the handshake: ALPN (client), SNI (server). Throws the refusal. */
  #check(): void {
    const conn = this.#conn;
    if (this.role === "client") {
      const want = this.#options.alpn;
      if (want !== undefined && conn.protocol !== want) {
        throw new TlsError(
          conn.protocol ? "alpn-mismatch" : "alpn-missing",
          conn.protocol
            ? `the QUIC server at ${this.#peer()}${this.#forName()} selected ` +
              `ALPN "${conn.protocol}", not "${want}"`
            : `the QUIC server at ${this.#peer()}${this.#forName()} selected ` +
              `no ALPN protocol; XEP-0467 requires "${want}"`,
          { serverName: this.#serverName },
        );
      }
      return;
    }
    const sni = typeof conn.serverName === "string"
      ? conn.serverName
      : undefined;
    let name: string | undefined;
    try {
      name = sni === undefined ? undefined : normalizeServerName(sni);
    } catch {
      name = undefined;
    }
    this.#serverName = name ?? sni;
    const domains = this.#options.domains;
    if (domains && (name === undefined || !domains.includes(name))) {
      throw new TlsError(
        "unknown-server-name",
        sni === undefined
          ? `the QUIC client at ${this.#peer()} sent no SNI name; this server ` +
            `serves ${domains.join(", ")}`
          : `the QUIC client at ${this.#peer()} asked for ${sni}, which this ` +
            `server does not serve (it serves ${domains.join(", ")})`,
        { serverName: sni },
      );
    }
  }

  /** Record the first failure and close the connection with it. */
  #fail(e: unknown): void {
    if (this.#failure) return;
    this.#failure = e instanceof Error ? e : new Error(String(e));
    const code = this.#failure instanceof TlsError
      ? this.#failure.code
      : "error";
    try {
      this.#conn.close({
        closeCode: REFUSED_CODE,
        reason: `${code}: ${this.#failure.message}`.slice(0, 200),
      });
    } catch { /* already closed */ }
  }

  /** Stop every unidirectional stream the peer opens (XMPP uses none). */
  async #refuseUnidirectional(): Promise<void> {
    let reader: ReadableStreamDefaultReader<Deno.QuicReceiveStream>;
    try {
      reader = this.#conn.incomingUnidirectionalStreams.getReader();
    } catch {
      return;
    }
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        value.cancel().catch(() => {});
      }
    } catch { /* the connection closed */ }
  }

  #cleanup(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#options.ownsEndpoint) {
      try {
        this.#conn.endpoint.close();
      } catch { /* already closed */ }
    }
  }

  /** The JID domain (client) or the SNI name received (server, after the handshake). */
  get serverName(): string | undefined {
    return this.#serverName;
  }

  /** The negotiated ALPN protocol, once the handshake is complete. */
  get alpn(): string | undefined {
    return typeof this.#conn.protocol === "string"
      ? this.#conn.protocol
      : undefined;
  }

  /** Whether the handshake is complete and checked. */
  get handshakeComplete(): boolean {
    return this.#handshakeDone;
  }

  /** The peer's current UDP address (it changes when the peer migrates). */
  get remoteAddr(): Address | undefined {
    try {
      return _udp(this.#conn.remoteAddr);
    } catch {
      return undefined;
    }
  }

  /** The local UDP address (of the endpoint). */
  get localAddr(): Address | undefined {
    try {
      return _udp(this.#conn.endpoint.addr);
    } catch {
      return undefined;
    }
  }

  /** The number of stream duplexes open (not yet closed). */
  get streams(): number {
    return this.#streams.size;
  }

  /** How the connection ended, once it has. */
  get closeInfo(): QuicClosed | undefined {
    return this.#closedInfo ?? undefined;
  }

  /** What the stream duplexes report in `info` (the live fields aside). */
  get info(): ConnectionInfo {
    const info: ConnectionInfo = {
      transport: "quic",
      secure: true,
      tlsVersion: "TLSv1.3",
      alpn: this.alpn ?? null,
    };
    if (this.#serverName) info.serverName = this.#serverName;
    const local = this.localAddr;
    if (local) info.localAddr = local;
    const remote = this.remoteAddr;
    if (remote) info.remoteAddr = remote;
    return info;
  }

  #closedError(): Error {
    if (this.#failure) return this.#failure;
    const info = this.#closedInfo;
    const why = info
      ? info.error
        ? `: ${info.reason}`
        : `${
          info.reason ? `: ${info.reason}` : ""
        } (close code ${info.closeCode})`
      : "";
    return new QuicError(
      "closed",
      `the QUIC connection with ${this.#peer()}${this.#forName()} is closed${why}`,
      {
        serverName: this.#serverName,
        closeCode: info?.closeCode,
        reason: info?.reason,
      },
    );
  }

  /** The error for a raw stream or connection error. */
  async #explain(e: unknown): Promise<unknown> {
    if (this.#failure) return this.#failure;
    if (e instanceof QuicError || e instanceof TlsError) return e;
    const lost = e instanceof Deno.errors.NotConnected ||
      (e instanceof Error && /closed|connection lost/i.test(e.message));
    if (!lost) return e;
    // The close info usually arrives with the error; wait a moment for it.
    let id: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.closed,
      new Promise((r) => id = setTimeout(r, 50)),
    ]);
    clearTimeout(id);
    if (this.#failure) return this.#failure;
    if (this.#closedInfo) {
      const err = this.#closedError();
      (err as { cause?: unknown }).cause = e;
      return err;
    }
    return e;
  }

  #adopt(
    stream: Deno.QuicBidirectionalStream,
    opened: boolean,
  ): _StreamDuplex {
    const early = !this.#handshakeDone;
    const duplex = new _StreamDuplex({
      conn: this.#conn,
      stream,
      serverName: this.#serverName ?? this.#conn.serverName ?? undefined,
      gate: !early ? "none" : this.role === "client" ? "write" : "read",
      handshake: this.handshake,
      handshakeDone: () => this.#handshakeDone,
      reopen: opened && early && this.role === "client"
        ? () =>
          this.#conn.createBidirectionalStream({ waitUntilAvailable: true })
        : undefined,
      explain: (e) => this.#explain(e),
      linger: this.#linger,
      onClose: (done) => {
        this.#streams.delete(duplex);
        const tracked = done.catch(() => {}).finally(() => {
          this.#finishing.delete(tracked);
          if (
            this.#options.closeWhenIdle && this.#streams.size === 0 &&
            this.#finishing.size === 0
          ) {
            this.close().catch(() => {});
          }
        });
        this.#finishing.add(tracked);
      },
    });
    this.#streams.add(duplex);
    _streamConnections.set(duplex, this);
    return duplex;
  }

  /**
   * Open a new bidirectional stream (a new, independent XML stream).
   *
   * On a 0-RTT connection whose handshake is still running, only the stream
   * header written to it goes out at once, in early data; the rest waits for
   * the handshake.
   *
   * @example
   * ```ts
   * import type { QuicConnection } from "./connection.ts";
   * import { XmlStream } from "../stream/xml_stream.ts";
   *
   * export async function anotherAccount(conn: QuicConnection, domain: string) {
   *   return await XmlStream.open(await conn.openStream(), { to: domain });
   * }
   * ```
   *
   * @param options Whether to wait for the peer's stream limit; a signal.
   * @returns The stream as a duplex (its `close()` keeps the connection).
   * @throws {QuicError} `stream-limit` when the peer allows no more streams
   *   (and `wait` is not set), `closed` when the connection is closed.
   * @throws {TlsError} When the handshake failed.
   */
  async openStream(options: OpenStreamOptions = {}): Promise<Duplex> {
    options.signal?.throwIfAborted();
    if (this.#failure) throw this.#failure;
    if (this.#closing || this.#closedInfo) throw this.#closedError();
    const p = this.#conn.createBidirectionalStream({
      waitUntilAvailable: options.wait ?? false,
    });
    let stream: Deno.QuicBidirectionalStream;
    try {
      stream = await raceAbort(p, options.signal);
    } catch (e) {
      if (options.signal?.aborted && e === options.signal.reason) {
        p.then((s) => {
          s.writable.abort().catch(() => {});
          s.readable.cancel().catch(() => {});
        }, () => {});
        throw e;
      }
      if (e instanceof RangeError) {
        throw new QuicError(
          "stream-limit",
          `the QUIC peer ${this.#peer()}${this.#forName()} allows no more ` +
            `concurrent streams on this connection; close one, pass ` +
            `\`wait: true\`, or open another connection`,
          { serverName: this.#serverName, cause: e },
        );
      }
      throw await this.#explain(e);
    }
    if (this.#closing) {
      stream.writable.abort().catch(() => {});
      stream.readable.cancel().catch(() => {});
      throw this.#closedError();
    }
    return this.#adopt(stream, true);
  }

  /**
   * Take the next stream the peer opened (a stream reaches this side with
   * its first bytes). A read cut short by `signal` loses nothing: the next
   * call gets that stream.
   *
   * @example
   * ```ts
   * import type { QuicConnection } from "./connection.ts";
   * import { XmlStream } from "../stream/xml_stream.ts";
   *
   * export async function nextPeerStream(conn: QuicConnection) {
   *   const duplex = await conn.acceptStream({ signal: AbortSignal.timeout(30_000) });
   *   return await XmlStream.accept(duplex, { ns: "jabber:server" });
   * }
   * ```
   *
   * @param options A signal.
   * @returns The stream as a duplex.
   * @throws {QuicError} `closed` once the connection is closed.
   * @throws {TlsError} When the handshake failed.
   */
  acceptStream(options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closing || this.#closedInfo) {
      return Promise.reject(this.#closedError());
    }
    const spare = this.#spare.shift();
    if (spare) return Promise.resolve(this.#adopt(spare, false));
    const waiter = Promise.withResolvers<Duplex>();
    const entry = { waiter, signal, onAbort: () => {} };
    if (signal) {
      entry.onAbort = () => {
        const i = this.#acceptWaiters.indexOf(entry);
        if (i >= 0) this.#acceptWaiters.splice(i, 1);
        waiter.reject(signal.reason);
      };
      signal.addEventListener("abort", entry.onAbort, { once: true });
    }
    this.#acceptWaiters.push(entry);
    this.#pumpIncoming();
    return waiter.promise;
  }

  /** Read incoming streams while someone waits for one. */
  async #pumpIncoming(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      if (this.#incoming === null) {
        this.#incoming = this.#conn.incomingBidirectionalStreams.getReader();
      }
      while (this.#acceptWaiters.length > 0) {
        const result = await this.#incoming.read();
        if (result.done) {
          await Promise.race([this.closed, Promise.resolve()]);
          throw this.#closedError();
        }
        const entry = this.#acceptWaiters.shift();
        if (this.#closing) {
          result.value.writable.abort().catch(() => {});
          result.value.readable.cancel().catch(() => {});
          entry?.waiter.reject(this.#closedError());
          continue;
        }
        if (!entry) {
          this.#spare.push(result.value);
          continue;
        }
        entry.signal?.removeEventListener("abort", entry.onAbort);
        entry.waiter.resolve(this.#adopt(result.value, false));
      }
    } catch (e) {
      const err = await this.#explain(e);
      for (const entry of this.#acceptWaiters.splice(0)) {
        entry.signal?.removeEventListener("abort", entry.onAbort);
        entry.waiter.reject(err);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Iterate the streams the peer opens, until the connection closes.
   *
   * @example
   * ```ts
   * import type { QuicConnection } from "./connection.ts";
   *
   * export async function countPeerStreams(conn: QuicConnection) {
   *   let n = 0;
   *   for await (const duplex of conn) {
   *     n++;
   *     duplex.close();
   *   }
   *   return n;
   * }
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Duplex> {
    for (;;) {
      try {
        yield await this.acceptStream();
      } catch (e) {
        if (e instanceof QuicError && e.code === "closed") return;
        throw e;
      }
    }
  }

  /**
   * Close the streams gracefully (FIN, then up to `linger` ms for the
   * peer's FIN), then the connection with `code` and `reason`. Resolves
   * once the connection is closed. Idempotent.
   *
   * @example
   * ```ts
   * import type { QuicConnection } from "./connection.ts";
   *
   * export async function shutdown(conn: QuicConnection) {
   *   await conn.close({ reason: "bye" });
   *   console.log((await conn.closed).closeCode); // 0
   * }
   * ```
   *
   * @param options `code` (default `0`), `reason` (default `""`), `linger`
   *   (default: the connection's; `0` closes at once, dropping data in
   *   flight).
   */
  close(
    options: { code?: number; reason?: string; linger?: number } = {},
  ): Promise<void> {
    this.#closing ??= (async () => {
      const linger = options.linger ?? this.#linger;
      if (linger > 0) {
        for (const s of [...this.#streams]) s.close();
        await Promise.all([...this.#finishing]);
      }
      try {
        this.#conn.close({
          closeCode: options.code ?? 0,
          reason: options.reason ?? "",
        });
      } catch { /* already closed */ }
      for (const s of [...this.#streams]) s.close();
      for (const st of this.#spare.splice(0)) {
        st.writable.abort().catch(() => {});
        st.readable.cancel().catch(() => {});
      }
      this.#incoming?.cancel().catch(() => {});
      await this.closed;
      await Promise.all([...this.#finishing, this.#uniLoop]);
      this.#cleanup();
    })();
    return this.#closing;
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
