/**
 * An in-memory {@linkcode Duplex} pair: two connected ends where what one
 * writes the other reads, for tests and for stacking layers without sockets.
 *
 * Each written chunk is copied and delivered to the peer as one separate
 * chunk (empty chunks are dropped), so tests can feed exact chunk boundaries.
 * Each direction buffers at most `highWaterMark` bytes (plus the one chunk
 * that crosses it): a write does not resolve until the peer has read enough,
 * so a writer with no reader stalls instead of growing memory.
 *
 * @module
 */

import type { ConnectionInfo, Duplex } from "./duplex.ts";

/**
 * Options for {@linkcode memoryPair}.
 *
 * @example Pretend a TLS layer is below, with a small buffer
 * ```ts
 * import { memoryPair, type MemoryPairOptions } from "./memory_duplex.ts";
 *
 * const options: MemoryPairOptions = {
 *   highWaterMark: 1024,
 *   info: { secure: true, alpn: "xmpp-client" },
 *   infoA: { serverName: "example.net" },
 * };
 * const [a, b] = memoryPair(options);
 * console.log(a.info.serverName, b.info.secure); // "example.net", true
 * a.close();
 * ```
 */
export interface MemoryPairOptions {
  /**
   * Bytes each direction buffers before writes wait for the peer to read.
   * Must be a non-negative finite number.
   *
   * @default {65536}
   */
  highWaterMark?: number;
  /**
   * Overrides for the `info` of both ends (for example `{ secure: true,
   * alpn: "xmpp-client" }` to pretend a TLS layer is below).
   *
   * @default {{}}
   */
  info?: Partial<ConnectionInfo>;
  /**
   * Overrides for the first end's `info` only, applied after `info`.
   *
   * @default {{}}
   */
  infoA?: Partial<ConnectionInfo>;
  /**
   * Overrides for the second end's `info` only, applied after `info`.
   *
   * @default {{}}
   */
  infoB?: Partial<ConnectionInfo>;
}

const DEFAULT_HIGH_WATER_MARK = 65536;

/**
 * One direction of a pair: a writable on one end feeding a readable on the
 * other, with a byte-bounded queue between them.
 */
class Pipe {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  #readController!: ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  /** Whether the readable can take no more chunks (closed, errored, cancelled). */
  #readDone = false;
  /** The write waiting for the reader to drain the queue, if any. */
  #waiter: PromiseWithResolvers<void> | null = null;

  constructor(highWaterMark: number) {
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#readController = controller;
      },
      pull: () => {
        this.#wake();
      },
      cancel: () => {
        this.#readDone = true;
        this.#fail(new Deno.errors.BrokenPipe("The peer stopped reading"));
      },
    }, { highWaterMark, size: (chunk) => chunk.byteLength });

    this.writable = new WritableStream<Uint8Array>({
      start: (controller) => {
        this.#writeController = controller;
      },
      write: async (chunk) => {
        if (!(chunk instanceof Uint8Array)) {
          throw new TypeError("Chunks written to a duplex must be Uint8Array");
        }
        if (this.#readDone) {
          throw new Deno.errors.BrokenPipe("The duplex is closed");
        }
        if (chunk.byteLength === 0) return;
        this.#readController.enqueue(chunk.slice());
        if ((this.#readController.desiredSize ?? 0) <= 0) {
          // Wait for the reader to make room; `writer.abort()` must not wait
          // for that, so its signal releases the write.
          const waiter = Promise.withResolvers<void>();
          this.#waiter = waiter;
          const signal = this.#writeController.signal;
          const onAbort = () => waiter.reject(signal.reason);
          signal.addEventListener("abort", onAbort, { once: true });
          try {
            await waiter.promise;
          } finally {
            signal.removeEventListener("abort", onAbort);
            if (this.#waiter === waiter) this.#waiter = null;
          }
        }
      },
      close: () => {
        this.#endReadable();
      },
      abort: (reason) => {
        if (this.#readDone) return;
        this.#readDone = true;
        this.#readController.error(reason);
      },
    });
  }

  /** Resolve the waiting write, if any: the reader made room. */
  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.resolve();
  }

  /** Error the writing side: pending and later writes reject with `error`. */
  #fail(error: Error): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(error);
    // A no-op if the writable is already closed or errored.
    this.#writeController.error(error);
  }

  /** End the reading side: chunks already queued are still delivered. */
  #endReadable(): void {
    if (this.#readDone) return;
    this.#readDone = true;
    this.#readController.close();
  }

  /** Shut this direction: the reader sees EOF, the writer's writes fail. */
  shut(): void {
    this.#endReadable();
    this.#fail(new Deno.errors.BrokenPipe("The duplex is closed"));
  }
}

class MemoryDuplex implements Duplex {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: ConnectionInfo;
  #incoming: Pipe;
  #outgoing: Pipe;
  #peer: MemoryDuplex | null = null;
  #closed = false;

  constructor(incoming: Pipe, outgoing: Pipe, info: ConnectionInfo) {
    this.#incoming = incoming;
    this.#outgoing = outgoing;
    this.readable = incoming.readable;
    this.writable = outgoing.writable;
    this.info = info;
  }

  link(peer: MemoryDuplex): void {
    this.#peer = peer;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#outgoing.shut();
    this.#incoming.shut();
    this.#peer?.close();
  }
}

/**
 * Create two connected in-memory {@linkcode Duplex} ends: bytes written to
 * one end's `writable` come out of the other end's `readable`, one chunk per
 * write.
 *
 * Both ends have `info.transport === "memory"` and `info.secure === false`
 * unless `options.info`, `options.infoA` or `options.infoB` override them.
 *
 * Closing the `writable` (via its writer's `close()`) half-closes: the peer's
 * `readable` ends after the chunks already written, and the other direction
 * keeps working. `close()` on either end shuts both directions of both ends:
 * each `readable` ends (`done: true`) after the chunks already queued, and
 * pending and later writes on either end reject with
 * `Deno.errors.BrokenPipe`. `close()` is idempotent. Cancelling a `readable`
 * makes the peer's writes reject with `Deno.errors.BrokenPipe`.
 *
 * @example Send bytes both ways
 * ```ts
 * import { memoryPair } from "./memory_duplex.ts";
 *
 * const [a, b] = memoryPair({ info: { alpn: "xmpp-client" } });
 * const writer = a.writable.getWriter();
 * await writer.write(new TextEncoder().encode("<stream:stream>"));
 * const reader = b.readable.getReader();
 * const { value } = await reader.read();
 * console.log(new TextDecoder().decode(value), b.info.alpn);
 * a.close(); // b.readable now ends too
 * console.log((await reader.read()).done); // true
 * ```
 *
 * @param options Buffer size and `info` overrides.
 * @returns The two ends `[a, b]`.
 * @throws {RangeError} If `highWaterMark` is negative, NaN or infinite.
 */
export function memoryPair(
  options: MemoryPairOptions = {},
): [Duplex, Duplex] {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (
    typeof highWaterMark !== "number" || !Number.isFinite(highWaterMark) ||
    highWaterMark < 0
  ) {
    throw new RangeError(
      `highWaterMark must be a non-negative finite number, got ${highWaterMark}`,
    );
  }
  const aToB = new Pipe(highWaterMark);
  const bToA = new Pipe(highWaterMark);
  const base: ConnectionInfo = { transport: "memory", secure: false };
  const a = new MemoryDuplex(bToA, aToB, {
    ...base,
    ...options.info,
    ...options.infoA,
  });
  const b = new MemoryDuplex(aToB, bToA, {
    ...base,
    ...options.info,
    ...options.infoB,
  });
  a.link(b);
  b.link(a);
  return [a, b];
}
