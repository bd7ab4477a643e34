/**
 * Adapt a `Deno.Conn` (TCP, Unix) or `Deno.TlsConn` to a {@linkcode Duplex}.
 *
 * The adapter reads and writes through `conn.read()` / `conn.write()` rather
 * than handing out `conn.readable` / `conn.writable`, because Deno's own
 * streams close the whole resource on EOF and on `writable.close()`, which
 * makes a half-close impossible (an XMPP peer must still read the other
 * side's `</stream:stream>` after sending its own). Here:
 *
 * - the `readable` reads only when the consumer asks (no read-ahead), and
 *   ends with `done: true` on EOF without closing the connection;
 * - closing the `writable` calls `conn.closeWrite()` (TCP FIN, or TLS
 *   close_notify): the peer sees EOF and can still answer;
 * - once the `readable` has ended and the `writable` is closed, the
 *   connection is closed automatically; `close()` does it at any time.
 *
 * TCP connections get `setNoDelay(true)`: with Nagle's algorithm on (Deno's
 * default) the write-write-read pattern stalls about 40 ms per round trip
 * on the peer's delayed ACK. `Deno.TlsConn` has no `setNoDelay()`, so set it
 * on the `Deno.TcpConn` before `Deno.startTls()` where that is possible.
 *
 * @module
 */

import type { Address, ConnectionInfo, Duplex } from "./duplex.ts";

/**
 * Options for {@linkcode fromConn} and {@linkcode fromTlsConn}.
 *
 * @example
 * ```ts
 * import type { FromConnOptions } from "./conn_duplex.ts";
 *
 * const options: FromConnOptions = {
 *   serverName: "example.net",
 *   readSize: 4096,
 *   info: { alpn: null },
 * };
 * console.log(options.noDelay ?? true); // true
 * ```
 */
export interface FromConnOptions {
  /**
   * Call `setNoDelay(true)` on the connection where it has that method (TCP).
   * `false` leaves the socket's setting as it is.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * The SNI server name, for `info.serverName`. Deno does not report it, so a
   * client passes the name it connected with.
   *
   * @default {undefined}
   */
  serverName?: string;
  /**
   * The most bytes one read of the connection returns. Must be a positive
   * integer.
   *
   * @default {16384}
   */
  readSize?: number;
  /**
   * Overrides applied last to the computed `info`.
   *
   * @default {{}}
   */
  info?: Partial<ConnectionInfo>;
}

const DEFAULT_READ_SIZE = 16384;

function isTlsConn(conn: Deno.Conn): conn is Deno.TlsConn {
  return typeof (conn as Partial<Deno.TlsConn>).handshake === "function";
}

/** Convert a `Deno.Addr` to an {@linkcode Address}. */
function toAddress(addr: Deno.Addr | undefined): Address | undefined {
  if (addr === undefined || addr === null) return undefined;
  if ("hostname" in addr) {
    return {
      transport: addr.transport,
      hostname: addr.hostname,
      port: addr.port,
    };
  }
  if ("path" in addr) {
    return { transport: addr.transport, hostname: addr.path, port: 0 };
  }
  if ("cid" in addr) {
    return {
      transport: addr.transport,
      hostname: String(addr.cid),
      port: addr.port,
    };
  }
  return undefined;
}

/** Whether an error means the resource is already gone. */
function isClosedError(e: unknown): boolean {
  return e instanceof Deno.errors.BadResource ||
    e instanceof Deno.errors.Interrupted;
}

class ConnDuplex implements Duplex {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: ConnectionInfo;
  #conn: Deno.Conn;
  #readController!: ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  #readDone = false;
  #writeDone = false;
  #closed = false;

  constructor(conn: Deno.Conn, info: ConnectionInfo, readSize: number) {
    this.#conn = conn;
    this.info = info;
    const scratch = new Uint8Array(readSize);

    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#readController = controller;
      },
      pull: async (controller) => {
        let n: number | null;
        try {
          n = await conn.read(scratch);
        } catch (e) {
          if (this.#readDone) return;
          this.#readDone = true;
          if (this.#closed && isClosedError(e)) controller.close();
          else controller.error(e);
          this.#releaseIfDone();
          return;
        }
        if (this.#readDone) return;
        if (n === null) {
          this.#readDone = true;
          controller.close();
          this.#releaseIfDone();
        } else if (n > 0) {
          controller.enqueue(scratch.slice(0, n));
        }
      },
      cancel: () => {
        this.#readDone = true;
        this.#releaseIfDone();
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
        let off = 0;
        while (off < chunk.byteLength) {
          off += await conn.write(chunk.subarray(off));
        }
      },
      close: async () => {
        if (this.#closed) {
          throw new Deno.errors.BadResource("The duplex is closed");
        }
        try {
          await conn.closeWrite();
        } finally {
          this.#writeDone = true;
          this.#releaseIfDone();
        }
      },
      abort: () => {
        this.#writeDone = true;
        this.close();
      },
    });
  }

  /** Close the connection once both directions are finished. */
  #releaseIfDone(): void {
    if (this.#readDone && this.#writeDone) this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#readDone) {
      this.#readDone = true;
      this.#readController.close();
    }
    // A no-op if the writable is already closed or errored.
    this.#writeController.error(
      new Deno.errors.BadResource("The duplex is closed"),
    );
    try {
      this.#conn.close();
    } catch (e) {
      if (!(e instanceof Deno.errors.BadResource)) throw e;
    }
  }
}

function checkReadSize(readSize: number): number {
  if (!Number.isInteger(readSize) || readSize <= 0) {
    throw new RangeError(
      `readSize must be a positive integer, got ${readSize}`,
    );
  }
  return readSize;
}

/**
 * Adapt a connected `Deno.Conn` or `Deno.TlsConn` to a {@linkcode Duplex},
 * taking ownership of it (close it through the duplex).
 *
 * `info.transport` is `"tls"` for a `Deno.TlsConn`, `"tcp"` for TCP and
 * `"other"` otherwise (Unix, vsock); `secure` is true for a `Deno.TlsConn`.
 * Addresses come from `conn.localAddr` / `conn.remoteAddr`. For a
 * `Deno.TlsConn`, `info.alpn` stays `undefined` (not known without awaiting
 * the handshake): use {@linkcode fromTlsConn} to have it filled. Deno does not
 * expose the TLS version, cipher or peer certificate, so those stay unset.
 *
 * @example A TCP client
 * ```ts
 * import { fromConn } from "./conn_duplex.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const client = fromConn(
 *   await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
 * );
 * const server = fromConn(await accepted);
 * console.log(client.info.transport, client.info.remoteAddr?.port); // "tcp", port
 * const writer = client.writable.getWriter();
 * await writer.write(new TextEncoder().encode("<?xml version='1.0'?>"));
 * const { value } = await server.readable.getReader().read();
 * console.log(new TextDecoder().decode(value));
 * client.close();
 * server.close();
 * listener.close();
 * ```
 *
 * @param conn The connection; the duplex owns it from now on.
 * @param options No-delay, server name, read size and `info` overrides.
 * @returns The duplex over `conn`.
 * @throws {RangeError} If `readSize` is not a positive integer.
 */
export function fromConn(
  conn: Deno.Conn | Deno.TlsConn,
  options: FromConnOptions = {},
): Duplex {
  const readSize = checkReadSize(options.readSize ?? DEFAULT_READ_SIZE);
  if (options.noDelay ?? true) {
    const tcp = conn as Partial<Deno.TcpConn>;
    if (typeof tcp.setNoDelay === "function") tcp.setNoDelay(true);
  }
  const tls = isTlsConn(conn);
  const remoteAddr = toAddress(conn.remoteAddr);
  const info: ConnectionInfo = {
    transport: tls ? "tls" : remoteAddr?.transport === "tcp" ? "tcp" : "other",
    secure: tls,
  };
  if (options.serverName !== undefined) info.serverName = options.serverName;
  const localAddr = toAddress(conn.localAddr);
  if (localAddr) info.localAddr = localAddr;
  if (remoteAddr) info.remoteAddr = remoteAddr;
  Object.assign(info, options.info);
  return new ConnDuplex(conn, info, readSize);
}

/**
 * Complete the TLS handshake of a `Deno.TlsConn` and adapt it to a
 * {@linkcode Duplex} whose `info.alpn` is the negotiated protocol (`null` if
 * none). Otherwise as {@linkcode fromConn}. If the handshake fails the promise
 * rejects and `conn` is left to the caller to close.
 *
 * @example A TLS client with ALPN
 * ```ts
 * import { fromTlsConn } from "./conn_duplex.ts";
 * import type { Duplex } from "./duplex.ts";
 *
 * async function connectXmpps(host: string): Promise<Duplex> {
 *   const conn = await Deno.connectTls({
 *     hostname: host,
 *     port: 5223,
 *     alpnProtocols: ["xmpp-client"],
 *   });
 *   const duplex = await fromTlsConn(conn, { serverName: host });
 *   console.log(duplex.info.alpn); // "xmpp-client" or null
 *   return duplex;
 * }
 * console.log(typeof connectXmpps); // "function"
 * ```
 *
 * @example With STARTTLS: no-delay on the TCP socket first
 * ```ts
 * import { fromTlsConn } from "./conn_duplex.ts";
 * import type { Duplex } from "./duplex.ts";
 *
 * async function startTls(host: string): Promise<Duplex> {
 *   const tcp = await Deno.connect({ hostname: host, port: 5222 });
 *   tcp.setNoDelay(true); // a Deno.TlsConn cannot set it afterwards
 *   // ... XMPP <starttls/> negotiation on tcp ...
 *   const tls = await Deno.startTls(tcp, { hostname: host });
 *   return await fromTlsConn(tls, { serverName: host });
 * }
 * console.log(typeof startTls); // "function"
 * ```
 *
 * @param conn The TLS connection; the duplex owns it once this resolves.
 * @param options As for {@linkcode fromConn}.
 * @returns The duplex, after the handshake.
 * @throws {TypeError} If `conn` is not a `Deno.TlsConn`.
 * @throws {RangeError} If `readSize` is not a positive integer.
 */
export async function fromTlsConn(
  conn: Deno.TlsConn,
  options: FromConnOptions = {},
): Promise<Duplex> {
  if (!isTlsConn(conn)) {
    throw new TypeError("fromTlsConn needs a Deno.TlsConn");
  }
  checkReadSize(options.readSize ?? DEFAULT_READ_SIZE);
  const { alpnProtocol } = await conn.handshake();
  return fromConn(conn, {
    ...options,
    info: { alpn: alpnProtocol ?? null, ...options.info },
  });
}
