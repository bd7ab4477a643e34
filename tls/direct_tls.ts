/**
 * Direct TLS (XEP-0368): TLS from the first byte, no STARTTLS.
 *
 * - {@linkcode dialDirectTls} connects to a `directtls` candidate: TCP to
 *   the address with no-delay set, then at once the TLS handshake with SNI =
 *   the candidate's `serverName` (the JID domain) and its ALPN protocol,
 *   under the policy of `./client.ts`. STARTTLS is never attempted.
 * - {@linkcode listenDirectTls} accepts TCP connections and hands out the
 *   ones whose TLS handshake succeeded, under the policy and certificates of
 *   `./server.ts`, each handshake bounded by a timeout and the number of
 *   handshakes in flight bounded too, so silent clients cannot exhaust it.
 *
 * No-delay matters: with Nagle's algorithm on, the first write after the
 * handshake waits for the peer's delayed ACK (about 40 ms on Linux).
 *
 * @module
 */

import type { Candidate } from "../srv/candidate.ts";
import { fromConn } from "../stream/conn_duplex.ts";
import type { Duplex } from "../stream/duplex.ts";
import {
  DEFAULT_TLS_TIMEOUT,
  tlsConnect,
  type TlsConnectOptions,
} from "./client.ts";
import { checkTimeout } from "./_options.ts";
import { tlsAccept, type TlsAcceptOptions } from "./server.ts";
import { acceptSettings } from "./_accept_settings.ts";
import type { TlsError } from "./tls_error.ts";

/** TCP read size: 64 KiB reads gave 1.6x the throughput of 16 KiB (bench/tls.ts). */
const READ_SIZE = 65536;

/**
 * Options for {@linkcode dialDirectTls}: where to connect, plus the client
 * options of `tlsConnect` except `serverName` and `alpn`, which come from the
 * candidate.
 *
 * @example
 * ```ts
 * import type { DialDirectTlsOptions } from "./direct_tls.ts";
 * const options: DialDirectTlsOptions = { address: "192.0.2.1", timeout: 5000 };
 * console.log(options.port ?? "the candidate's port");
 * ```
 */
export interface DialDirectTlsOptions
  extends Omit<TlsConnectOptions, "serverName" | "alpn"> {
  /**
   * The IP address (or host) to connect to, such as one that `race()`
   * resolved for the candidate.
   *
   * @default {candidate.host}
   */
  address?: string;
  /**
   * The TCP port.
   *
   * @default {candidate.port}
   */
  port?: number;
  /**
   * Milliseconds for the TCP connect and the TLS handshake together.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * SPKI pins in addition to the certificate checks.
   *
   * @default {candidate.pins ?? []}
   */
  pins?: readonly string[];
}

/**
 * Connect to a Direct TLS candidate and complete the TLS handshake.
 *
 * @example With `race()` from `srv/` (not run: needs a server)
 * ```ts
 * import { dialDirectTls } from "./direct_tls.ts";
 * import { race } from "../srv/race.ts";
 * import type { Candidate } from "../srv/candidate.ts";
 *
 * export async function connect(candidates: Candidate[]) {
 *   const { value } = await race(
 *     candidates.filter((c) => c.transport === "directtls"),
 *     ({ candidate, address }, signal) =>
 *       dialDirectTls(candidate, { address: address.ip, signal }),
 *   );
 *   console.log(value.info.serverName, value.info.alpn, value.info.tlsVersion);
 *   return value;
 * }
 * ```
 *
 * @param candidate A candidate with `transport: "directtls"`; its
 *   `serverName` is the SNI and certificate name, its `alpn` is offered.
 * @param options Address, port, timeout, signal, trust and pins.
 * @returns The TLS duplex (`info.remoteAddr` is the address connected to).
 * @throws {TlsError} If the handshake fails or the policy refuses the server.
 * @throws {TypeError} If the candidate is not a Direct TLS candidate.
 * @throws {Deno.errors.TimedOut} If the TCP connect takes too long.
 */
export async function dialDirectTls(
  candidate: Candidate,
  options: DialDirectTlsOptions = {},
): Promise<Duplex> {
  if (candidate === null || typeof candidate !== "object") {
    throw new TypeError("dialDirectTls needs a Candidate");
  }
  if (candidate.transport !== "directtls") {
    throw new TypeError(
      `dialDirectTls needs a "directtls" candidate, got "${candidate.transport}" ` +
        `(STARTTLS candidates need the STARTTLS negotiation first)`,
    );
  }
  const timeout = checkTimeout(
    options.timeout ?? DEFAULT_TLS_TIMEOUT,
    "timeout",
  );
  const hostname = options.address ?? candidate.host;
  const port = options.port ?? candidate.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `port must be an integer from 1 to 65535, got ${port}`,
    );
  }
  options.signal?.throwIfAborted();
  const deadline = Date.now() + timeout;
  const timer = AbortSignal.timeout(timeout);
  const signal = options.signal
    ? AbortSignal.any([options.signal, timer])
    : timer;
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname, port, transport: "tcp", signal });
  } catch (e) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timer.aborted) {
      throw new Deno.errors.TimedOut(
        `TCP connect to ${hostname}:${port} (for ${candidate.serverName}) ` +
          `took longer than ${timeout} ms`,
      );
    }
    throw e;
  }
  conn.setNoDelay(true);
  return await tlsConnect(
    fromConn(conn, { noDelay: true, readSize: READ_SIZE }),
    {
      ...options,
      serverName: candidate.serverName,
      alpn: candidate.alpn,
      pins: options.pins ?? candidate.pins ?? [],
      timeout: Math.max(1, deadline - Date.now()),
    },
  );
}

/**
 * Options for {@linkcode listenDirectTls}: the address to listen on, plus
 * the server options of `tlsAccept`.
 *
 * @example
 * ```ts
 * import type { ListenDirectTlsOptions } from "./direct_tls.ts";
 * const options: ListenDirectTlsOptions = {
 *   hostname: "127.0.0.1",
 *   port: 5223,
 *   certificates: {},
 *   timeout: 5000,
 * };
 * console.log(options.maxHandshakes ?? 64); // 64
 * ```
 */
export interface ListenDirectTlsOptions extends TlsAcceptOptions {
  /**
   * The address to listen on.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /** The TCP port (0 for any free port). */
  port: number;
  /**
   * Connections handshaking or waiting to be taken with `accept()` at most;
   * beyond that, new TCP connections wait in the kernel's backlog.
   *
   * @default {64}
   */
  maxHandshakes?: number;
  /**
   * Aborting it closes the listener, as `close()` does (without waiting).
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called for each connection whose handshake failed (the connection is
   * already closed).
   *
   * @default {() => {}}
   */
  onError?: (error: TlsError | Error, remoteAddr: Deno.NetAddr) => void;
}

/**
 * A Direct TLS listener: iterate it, or call `accept()`, to get the
 * connections whose TLS handshake succeeded.
 *
 * @example
 * ```ts
 * import type { DirectTlsListener } from "./direct_tls.ts";
 * export async function serve(listener: DirectTlsListener) {
 *   for await (const duplex of listener) console.log(duplex.info.alpn);
 * }
 * ```
 */
export interface DirectTlsListener extends AsyncIterable<Duplex> {
  /** The address listened on (with the actual port). */
  readonly addr: Deno.NetAddr;
  /**
   * The next connection with a completed handshake.
   *
   * @throws {Deno.errors.BadResource} Once the listener is closed.
   */
  accept(): Promise<Duplex>;
  /**
   * Stop listening, abort the handshakes in progress and close connections
   * not yet taken. Resolves when all of that is done. Idempotent.
   */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

class Listener implements DirectTlsListener {
  readonly addr: Deno.NetAddr;
  #listener: Deno.TcpListener;
  #options: ListenDirectTlsOptions;
  #max: number;
  #ready: Duplex[] = [];
  #waiters: PromiseWithResolvers<Duplex>[] = [];
  #inFlight = new Set<Promise<void>>();
  #slotFreed: PromiseWithResolvers<void> | null = null;
  #abort = new AbortController();
  #closed = false;
  #loop: Promise<void>;

  constructor(options: ListenDirectTlsOptions, max: number) {
    this.#options = options;
    this.#max = max;
    this.#listener = Deno.listen({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port,
      transport: "tcp",
    });
    this.addr = this.#listener.addr;
    this.#loop = this.#acceptLoop();
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.#shutdown();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#loop = this.#loop.finally(() =>
        signal.removeEventListener("abort", onAbort)
      );
    }
  }

  get #used(): number {
    return this.#inFlight.size + this.#ready.length;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      while (this.#used >= this.#max && !this.#closed) {
        this.#slotFreed = Promise.withResolvers<void>();
        await this.#slotFreed.promise;
      }
      if (this.#closed) return;
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closed) return;
        if (
          e instanceof Deno.errors.ConnectionAborted ||
          e instanceof Deno.errors.ConnectionReset
        ) continue;
        this.#shutdown(e);
        return;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#handshake(conn);
    }
  }

  #handshake(conn: Deno.TcpConn): void {
    const remote = conn.remoteAddr;
    conn.setNoDelay(true);
    const work = tlsAccept(
      fromConn(conn, { noDelay: true, readSize: READ_SIZE }),
      {
        ...this.#options,
        signal: this.#abort.signal,
      },
    ).then(
      (duplex) => {
        if (this.#closed) {
          duplex.close();
          return;
        }
        const waiter = this.#waiters.shift();
        if (waiter) waiter.resolve(duplex);
        else this.#ready.push(duplex);
      },
      (e) => {
        if (this.#closed) return;
        try {
          this.#options.onError?.(e, remote);
        } catch { /* a throwing callback must not stop the listener */ }
      },
    ).finally(() => {
      this.#inFlight.delete(work);
      this.#freeSlot();
    });
    this.#inFlight.add(work);
  }

  #freeSlot(): void {
    const s = this.#slotFreed;
    this.#slotFreed = null;
    s?.resolve();
  }

  accept(): Promise<Duplex> {
    if (this.#closed) {
      return Promise.reject(
        new Deno.errors.BadResource("The Direct TLS listener is closed"),
      );
    }
    const ready = this.#ready.shift();
    if (ready) {
      this.#freeSlot();
      return Promise.resolve(ready);
    }
    const waiter = Promise.withResolvers<Duplex>();
    this.#waiters.push(waiter);
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

  #shutdown(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    this.#abort.abort(
      new Deno.errors.Interrupted("The Direct TLS listener was closed"),
    );
    for (const d of this.#ready.splice(0)) d.close();
    for (const w of this.#waiters.splice(0)) {
      w.reject(
        reason ??
          new Deno.errors.BadResource("The Direct TLS listener is closed"),
      );
    }
    this.#freeSlot();
  }

  async close(): Promise<void> {
    this.#shutdown();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Listen for Direct TLS connections on TCP.
 *
 * Every accepted TCP connection gets no-delay and runs `tlsAccept` with
 * these options (certificates by SNI, ALPN, client certificates, `timeout`
 * per handshake); those that succeed are handed out by `accept()` and
 * iteration, the others are closed and reported to `onError`.
 *
 * @example A listener and a dialer on loopback
 * ```ts
 * import { dialDirectTls, listenDirectTls } from "./direct_tls.ts";
 *
 * const dir = new URL("../tests/testdata/", import.meta.url);
 * const read = (f: string) => Deno.readTextFile(new URL(f, dir));
 * const localhost = { cert: await read("localhost.pem"), key: await read("localhost.key") };
 * const listener = listenDirectTls({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   certificates: { localhost },
 * });
 * const [client, server] = await Promise.all([
 *   dialDirectTls({
 *     transport: "directtls",
 *     host: "127.0.0.1",
 *     port: listener.addr.port,
 *     serverName: "localhost",
 *     alpn: "xmpp-client",
 *     priority: 0,
 *     weight: 0,
 *     source: "fallback",
 *   }, { ca: await read("ca.pem"), systemCa: false }),
 *   listener.accept(),
 * ]);
 * console.log(client.info.tlsVersion, server.info.alpn); // TLSv1.3 xmpp-client
 * client.close();
 * server.close();
 * await listener.close();
 * ```
 *
 * @param options Where to listen, the server TLS options, the handshake
 *   limit and the error callback.
 * @returns The listener.
 * @throws {TypeError} If the server options are invalid.
 * @throws {RangeError} If `maxHandshakes` or `timeout` is out of range.
 */
export function listenDirectTls(
  options: ListenDirectTlsOptions,
): DirectTlsListener {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      "listenDirectTls needs options with port and certificates",
    );
  }
  const max = options.maxHandshakes ?? 64;
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(
      `maxHandshakes must be a positive integer, got ${max}`,
    );
  }
  checkTimeout(options.timeout ?? DEFAULT_TLS_TIMEOUT, "timeout");
  acceptSettings(options); // refuse bad TLS options now, not per connection
  return new Listener(options, max);
}
