/**
 * One XML stream's duplex over a QUIC bidirectional stream, as handed out by
 * `QuicConnection`: `fromQuicStream` underneath, plus what XMPP needs on top.
 *
 * - Early data: on a client stream opened before the handshake completed
 *   (0-RTT), only the stream header is sent at once; every later byte waits
 *   for the handshake, so credentials never travel in replayable early data.
 *   On a server stream that arrived before the handshake completed (0.5-RTT
 *   accept), only the stream header is handed to the reader; the rest waits
 *   for the handshake, so nothing but the header is acted on before the
 *   client is known to be live (early data can be replayed).
 * - 0-RTT rejection: if the server did not accept the early data, Deno fails
 *   the stream with `0-RTT rejected` after the handshake; the duplex then
 *   opens a new stream, sends the early bytes again and carries on.
 * - A graceful `close()`: FIN after the bytes written (never a reset of data
 *   already written), then up to `linger` ms for the peer's FIN, then the
 *   stream is released. The connection stays open.
 * - `info.alpn` and `info.remoteAddr` are read live from the connection (the
 *   ALPN is only known after the handshake; the address changes when the
 *   peer migrates or its NAT rebinds).
 *
 * @module
 */

import type { Address, ConnectionInfo, Duplex } from "../stream/duplex.ts";
import { fromQuicStream } from "../stream/quic_duplex.ts";
import { _HeaderScanner } from "./_early_data.ts";
import { _isZeroRttRejected } from "./_errors.ts";

/** How a stream treats data before the handshake completes. */
export type _EarlyGate = "none" | "write" | "read";

/** What a stream duplex needs from its connection. */
export interface _StreamDuplexInit {
  conn: Deno.QuicConn;
  stream: Deno.QuicBidirectionalStream;
  /** The JID domain (client) or SNI name (server). */
  serverName: string | undefined;
  /** `"write"`: client 0-RTT; `"read"`: server 0.5-RTT; else `"none"`. */
  gate: _EarlyGate;
  /** Resolves once the handshake is complete and checked; rejects with the failure. */
  handshake: Promise<void>;
  /** Whether the handshake is complete and checked now. */
  handshakeDone: () => boolean;
  /** For 0-RTT rejection: a new stream on the same connection. */
  reopen?: () => Promise<Deno.QuicBidirectionalStream>;
  /** The error to report instead of a raw stream error, if the connection failed or closed. */
  explain: (e: unknown) => Promise<unknown>;
  /** Milliseconds `close()` waits for the FIN to go out and for the peer's FIN. */
  linger: number;
  /** Called once, with the promise of the background close. */
  onClose: (done: Promise<void>) => void;
}

function _udp(addr: Deno.NetAddr | undefined): Address | undefined {
  if (!addr || typeof addr.hostname !== "string") return undefined;
  return { transport: "udp", hostname: addr.hostname, port: addr.port };
}

/** Resolve after `ms`, or at once when `cancel` is called; no timer leaks. */
function _delay(ms: number): { promise: Promise<void>; cancel: () => void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  let done!: () => void;
  const promise = new Promise<void>((resolve) => {
    done = resolve;
    id = setTimeout(resolve, Math.max(0, ms));
  });
  return {
    promise,
    cancel: () => {
      clearTimeout(id);
      done();
    },
  };
}

/** The duplex of one QUIC bidirectional stream; see the module docs. */
export class _StreamDuplex implements Duplex {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: ConnectionInfo;
  #init: _StreamDuplexInit;
  #inner: Duplex;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #readController!: ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  #readScanner = new _HeaderScanner();
  #writeScanner = new _HeaderScanner();
  #held: Uint8Array[] = [];
  #early: Uint8Array[] = [];
  #recovery: Promise<void> | null = null;
  #readEnded = false;
  #writeEnded = false;
  /** Whether any byte went either way (else the peer never saw the stream). */
  #used = false;
  #closed = false;

  constructor(init: _StreamDuplexInit) {
    this.#init = init;
    this.#inner = this.#wrap(init.stream);
    this.#reader = this.#inner.readable.getReader();
    this.#writer = this.#inner.writable.getWriter();
    const conn = init.conn;
    const info: ConnectionInfo = { ...this.#inner.info };
    delete info.alpn;
    delete info.remoteAddr;
    delete info.serverName;
    Object.defineProperties(info, {
      serverName: {
        enumerable: true,
        get: () =>
          init.serverName ??
            (typeof conn.serverName === "string" ? conn.serverName : undefined),
      },
      alpn: {
        enumerable: true,
        get: () => typeof conn.protocol === "string" ? conn.protocol : null,
      },
      remoteAddr: {
        enumerable: true,
        get: () => {
          try {
            return _udp(conn.remoteAddr);
          } catch {
            return undefined;
          }
        },
      },
    });
    this.info = info;

    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#readController = c;
      },
      pull: (c) => this.#pull(c),
      cancel: () => {
        this.#readEnded = true;
        this.#reader.cancel().catch(() => {});
      },
    }, { highWaterMark: 0 });

    this.writable = new WritableStream<Uint8Array>({
      start: (c) => {
        this.#writeController = c;
      },
      write: (chunk) => this.#write(chunk),
      close: async () => {
        this.#writeEnded = true;
        await this.#writer.close();
      },
      abort: async (reason) => {
        this.#writeEnded = true;
        await this.#writer.abort(reason).catch(() => {});
      },
    });
  }

  #wrap(stream: Deno.QuicBidirectionalStream): Duplex {
    return fromQuicStream(stream, this.#init.conn, {
      closeConn: false,
      serverName: this.#init.serverName,
    });
  }

  async #pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      if (this.#closed || this.#readEnded) return;
      const early = this.#init.gate === "read" && !this.#init.handshakeDone();
      if (early && (this.#readScanner.done || this.#held.length > 0)) {
        // Only the header before the handshake: the rest waits for it.
        try {
          await this.#init.handshake;
        } catch (e) {
          this.#readEnded = true;
          if (!this.#closed) c.error(e);
          return;
        }
        continue;
      }
      const held = this.#held.shift();
      if (held) {
        c.enqueue(held);
        return;
      }
      const reader = this.#reader;
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (e) {
        if (this.#closed) return;
        if (reader !== this.#reader) continue; // replaced after a 0-RTT rejection
        if (this.#canRecover(e)) {
          try {
            await this.#recover();
            continue;
          } catch (e2) {
            this.#readEnded = true;
            c.error(await this.#init.explain(e2));
            return;
          }
        }
        this.#readEnded = true;
        c.error(await this.#init.explain(e));
        return;
      }
      if (this.#closed) return;
      if (result.done) {
        this.#readEnded = true;
        c.close();
        return;
      }
      let chunk = result.value;
      if (
        this.#init.gate === "read" && !this.#init.handshakeDone() &&
        !this.#readScanner.done
      ) {
        const n = this.#readScanner.push(chunk);
        if (this.#readScanner.done) {
          if (n < chunk.length) this.#held.push(chunk.subarray(n));
          chunk = chunk.subarray(0, n);
        }
      }
      if (chunk.byteLength > 0) {
        this.#used = true;
        c.enqueue(chunk);
        return;
      }
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError("Chunks written to a duplex must be Uint8Array");
    }
    if (this.#closed) {
      throw new Deno.errors.BadResource("The duplex is closed");
    }
    if (this.#init.gate === "write" && !this.#init.handshakeDone()) {
      if (!this.#writeScanner.done) {
        const n = this.#writeScanner.push(chunk);
        const head = chunk.slice(0, n);
        if (head.byteLength > 0) {
          this.#early.push(head);
          await this.#writeInner(head);
        }
        chunk = chunk.subarray(n);
        if (chunk.byteLength === 0) return;
      }
      // Not the stream header: never in early data.
      await this.#init.handshake;
    }
    await this.#writeInner(chunk);
  }

  async #writeInner(chunk: Uint8Array): Promise<void> {
    this.#used = true;
    const writer = this.#writer;
    try {
      await writer.write(chunk);
    } catch (e) {
      if (this.#closed) throw e;
      if (writer !== this.#writer || this.#canRecover(e)) {
        await this.#recover();
        await this.#writer.write(chunk);
        return;
      }
      throw await this.#init.explain(e);
    }
  }

  #canRecover(e: unknown): boolean {
    return this.#init.gate === "write" && this.#init.reopen !== undefined &&
      _isZeroRttRejected(e);
  }

  /**
   * The server did not accept the 0-RTT data: open a new stream after the
   * handshake, send the early bytes again, and switch to it. Once per
   * duplex; concurrent callers share it.
   */
  #recover(): Promise<void> {
    this.#recovery ??= (async () => {
      await this.#init.handshake;
      const stream = await this.#init.reopen!();
      const old = this.#inner;
      const oldReader = this.#reader;
      const oldWriter = this.#writer;
      const inner = this.#wrap(stream);
      this.#inner = inner;
      this.#reader = inner.readable.getReader();
      this.#writer = inner.writable.getWriter();
      for (const b of this.#early) await this.#writer.write(b);
      oldReader.releaseLock();
      oldWriter.releaseLock();
      old.close();
    })();
    return this.#recovery;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#readEnded) {
      try {
        this.#readController.close();
      } catch { /* already closed or errored */ }
    }
    this.#writeController.error(
      new Deno.errors.BadResource("The duplex is closed"),
    );
    this.#init.onClose(this.#finish());
  }

  /** FIN, wait for the peer's FIN (bounded), release the stream. */
  async #finish(): Promise<void> {
    // A stream nothing went over is unknown to the peer: nothing to wait for.
    const linger = this.#used ? this.#init.linger : 0;
    const deadline = performance.now() + linger;
    try {
      if (linger > 0 && !this.#writeEnded) {
        this.#writeEnded = true;
        const t = _delay(linger);
        await Promise.race([
          this.#writer.close().catch(() => {}),
          t.promise,
        ]);
        t.cancel();
      }
      if (!this.#readEnded) {
        this.#readEnded = true;
        const left = deadline - performance.now();
        if (left > 0) {
          const t = _delay(left);
          const drain = (async () => {
            for (;;) {
              const r = await this.#reader.read();
              if (r.done) return;
            }
          })().catch(() => {});
          await Promise.race([drain, t.promise]);
          t.cancel();
        }
      }
    } finally {
      this.#inner.close();
    }
  }
}
