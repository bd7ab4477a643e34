/**
 * Adapt a QUIC bidirectional stream (Deno's unstable QUIC API) to a
 * {@linkcode Duplex}.
 *
 * This module only refers to Deno's QUIC types; it does not touch
 * `Deno.QuicEndpoint` or `Deno.connectQuic` at run time, so it can be
 * imported without `--unstable-net` (creating the QUIC connection needs it).
 *
 * @module
 */

import type { Address, ConnectionInfo, Duplex } from "./duplex.ts";

/**
 * Options for {@linkcode fromQuicStream}.
 *
 * @example One stream of several on a connection
 * ```ts
 * import type { FromQuicStreamOptions } from "./quic_duplex.ts";
 *
 * const options: FromQuicStreamOptions = {
 *   closeConn: false,
 *   serverName: "example.net",
 * };
 * console.log(options.closeInfo ?? { closeCode: 0, reason: "" });
 * ```
 */
export interface FromQuicStreamOptions {
  /**
   * Whether `close()` also closes the QUIC connection (with `closeInfo`).
   * Set it to `false` when other streams share the connection.
   *
   * @default {true}
   */
  closeConn?: boolean;
  /**
   * The application close code and reason sent when `close()` closes the
   * connection.
   *
   * @default {{ closeCode: 0, reason: "" }}
   */
  closeInfo?: Deno.QuicCloseInfo;
  /**
   * The SNI server name for `info.serverName`. Deno reports it only on the
   * server side (`conn.serverName`), so a client passes the name it used.
   *
   * @default {conn.serverName}
   */
  serverName?: string;
  /**
   * Overrides applied last to the computed `info`.
   *
   * @default {{}}
   */
  info?: Partial<ConnectionInfo>;
}

/** Deno reports QUIC addresses without `transport`; QUIC runs over UDP. */
function udpAddress(
  addr: { hostname: string; port: number } | undefined,
): Address | undefined {
  if (!addr || typeof addr.hostname !== "string") return undefined;
  return { transport: "udp", hostname: addr.hostname, port: addr.port };
}

class QuicDuplex implements Duplex {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: ConnectionInfo;
  #conn: Deno.QuicConn;
  #closeConn: boolean;
  #closeInfo: Deno.QuicCloseInfo;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #readController!: ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  #readDone = false;
  #writeDone = false;
  #closed = false;

  constructor(
    stream: Deno.QuicBidirectionalStream,
    conn: Deno.QuicConn,
    info: ConnectionInfo,
    closeConn: boolean,
    closeInfo: Deno.QuicCloseInfo,
  ) {
    this.#conn = conn;
    this.info = info;
    this.#closeConn = closeConn;
    this.#closeInfo = closeInfo;
    const reader = stream.readable.getReader();
    const writer = stream.writable.getWriter();
    this.#reader = reader;
    this.#writer = writer;
    // Errors of these are reported through our own streams.
    reader.closed.catch(() => {});
    writer.closed.catch(() => {});

    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#readController = controller;
      },
      pull: async (controller) => {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (e) {
          if (this.#readDone) return;
          this.#readDone = true;
          if (this.#closed) controller.close();
          else controller.error(e);
          return;
        }
        if (this.#readDone) return;
        if (result.done) {
          this.#readDone = true;
          controller.close();
        } else if (result.value.byteLength > 0) {
          controller.enqueue(result.value);
        }
      },
      cancel: (reason) => {
        this.#readDone = true;
        reader.cancel(reason).catch(() => {});
      },
    }, { highWaterMark: 0 });

    this.writable = new WritableStream<Uint8Array>({
      start: (controller) => {
        this.#writeController = controller;
      },
      write: async (chunk) => {
        if (!(chunk instanceof Uint8Array)) {
          throw new TypeError("Chunks written to a duplex must be Uint8Array");
        }
        if (this.#closed) {
          throw new Deno.errors.BadResource("The duplex is closed");
        }
        await writer.write(chunk);
      },
      close: async () => {
        this.#writeDone = true;
        await writer.close();
      },
      abort: async (reason) => {
        this.#writeDone = true;
        await writer.abort(reason).catch(() => {});
      },
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#readDone) {
      this.#readDone = true;
      this.#readController.close();
      // STOP_SENDING: the peer's writes fail.
      this.#reader.cancel().catch(() => {});
    }
    this.#writeController.error(
      new Deno.errors.BadResource("The duplex is closed"),
    );
    if (!this.#writeDone) {
      this.#writeDone = true;
      // RESET_STREAM: unsent bytes are dropped.
      this.#writer.abort().catch(() => {});
    }
    if (this.#closeConn) {
      try {
        this.#conn.close(this.#closeInfo);
      } catch (e) {
        if (!(e instanceof Deno.errors.BadResource)) throw e;
      }
    }
  }
}

/**
 * Adapt a QUIC bidirectional stream and its connection to a
 * {@linkcode Duplex}, taking ownership of the stream (and, by default, of the
 * connection: see `closeConn`).
 *
 * `info` has `transport: "quic"`, `secure: true`, `tlsVersion: "TLSv1.3"`
 * (QUIC always uses TLS 1.3), `alpn` from `conn.protocol` (left unset if the
 * handshake has not completed), `serverName` from the option or
 * `conn.serverName` (only known on the server side), `remoteAddr` from
 * `conn.remoteAddr` and `localAddr` from `conn.endpoint.addr` (an unspecified
 * address such as `"::"` for an endpoint bound to all interfaces), both with
 * `transport: "udp"`. Deno does not expose the cipher or the peer
 * certificate of a QUIC connection.
 *
 * The `readable` reads only when the consumer asks; it ends on the peer's
 * FIN (in Deno 2.9.6 also when the peer aborts its send side) and errors when
 * the connection is lost, even by the peer's `close()`. Closing the
 * `writable` sends FIN. `close()` is idempotent: it cancels reading
 * (STOP_SENDING: the peer's writes then fail with
 * `Deno.errors.ConnectionReset`), aborts the send side if it was not closed,
 * and closes the connection unless `closeConn` is `false`.
 *
 * Closing a QUIC connection discards data not yet delivered, even data
 * written before a FIN: Deno resolves `writable.close()` before the peer
 * has the bytes. For a graceful end, close the `writable` and read the
 * `readable` to its end; then the side that saw the peer's FIN *after*
 * sending its own calls `close()`, and the other side waits for
 * `conn.closed` before calling `close()`.
 *
 * @example A client stream
 * ```ts
 * import { fromQuicStream } from "./quic_duplex.ts";
 * import type { Duplex } from "./duplex.ts";
 *
 * async function connect(host: string): Promise<Duplex> {
 *   const conn = await Deno.connectQuic({
 *     hostname: host,
 *     port: 443,
 *     alpnProtocols: ["xmpp-client"],
 *   });
 *   const stream = await conn.createBidirectionalStream();
 *   const duplex = fromQuicStream(stream, conn, { serverName: host });
 *   console.log(duplex.info.alpn); // "xmpp-client"
 *   return duplex;
 * }
 * console.log(typeof connect); // "function"
 * ```
 *
 * @example A server stream
 * ```ts
 * import { fromQuicStream } from "./quic_duplex.ts";
 * import type { Duplex } from "./duplex.ts";
 *
 * async function acceptFirstStream(conn: Deno.QuicConn): Promise<Duplex> {
 *   const reader = conn.incomingBidirectionalStreams.getReader();
 *   const { value: stream, done } = await reader.read();
 *   reader.releaseLock();
 *   if (done) throw new Error("connection closed before a stream arrived");
 *   return fromQuicStream(stream, conn);
 * }
 * console.log(typeof acceptFirstStream); // "function"
 * ```
 *
 * @param stream The bidirectional stream; its `readable` and `writable` get
 *   locked by the duplex.
 * @param conn The QUIC connection the stream belongs to.
 * @param options Connection closing, server name and `info` overrides.
 * @returns The duplex over `stream`.
 * @throws {TypeError} If `stream` or `conn` is not a QUIC stream/connection,
 *   or if the stream's `readable` or `writable` is already locked.
 */
export function fromQuicStream(
  stream: Deno.QuicBidirectionalStream,
  conn: Deno.QuicConn,
  options: FromQuicStreamOptions = {},
): Duplex {
  if (
    !stream || !(stream.readable instanceof ReadableStream) ||
    !(stream.writable instanceof WritableStream)
  ) {
    throw new TypeError("fromQuicStream needs a QUIC bidirectional stream");
  }
  if (!conn || typeof conn.close !== "function") {
    throw new TypeError("fromQuicStream needs the stream's QUIC connection");
  }
  if (stream.readable.locked || stream.writable.locked) {
    throw new TypeError(
      "The QUIC stream is already locked to a reader or writer",
    );
  }
  const info: ConnectionInfo = {
    transport: "quic",
    secure: true,
    tlsVersion: "TLSv1.3",
  };
  if (typeof conn.protocol === "string") info.alpn = conn.protocol;
  const serverName = options.serverName ?? conn.serverName ?? undefined;
  if (typeof serverName === "string") info.serverName = serverName;
  let localAddr: Address | undefined;
  try {
    localAddr = udpAddress(conn.endpoint?.addr);
  } catch {
    // The endpoint may already be closed.
  }
  if (localAddr) info.localAddr = localAddr;
  const remoteAddr = udpAddress(conn.remoteAddr);
  if (remoteAddr) info.remoteAddr = remoteAddr;
  Object.assign(info, options.info);
  return new QuicDuplex(
    stream,
    conn,
    info,
    options.closeConn ?? true,
    options.closeInfo ?? { closeCode: 0, reason: "" },
  );
}
