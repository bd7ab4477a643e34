/**
 * Adapt a node `Duplex` stream (`node:net` `Socket`, `node:tls` `TLSSocket`)
 * to a {@linkcode Duplex}, with backpressure in both directions and the TLS
 * details node exposes (ALPN, SNI, version, cipher, peer certificate).
 *
 * @module
 */

import type { Duplex as NodeDuplex } from "node:stream";
import type { PeerCertificate as NodePeerCertificate } from "node:tls";
import type {
  Address,
  ConnectionInfo,
  Duplex,
  PeerCertificate,
} from "./duplex.ts";

/**
 * Options for {@linkcode fromNodeDuplex}.
 *
 * @example
 * ```ts
 * import type { FromNodeDuplexOptions } from "./node_duplex.ts";
 *
 * const options: FromNodeDuplexOptions = {
 *   highWaterMark: 16384,
 *   info: { serverName: "example.net" },
 * };
 * console.log(options.noDelay ?? true); // true
 * ```
 */
export interface FromNodeDuplexOptions {
  /**
   * Bytes the `readable` buffers before the socket is paused. Must be a
   * non-negative number. `Infinity` never pauses the socket (unbounded
   * buffering): only a workaround for the Deno `node:tls` bug described in
   * {@linkcode fromNodeDuplex}.
   *
   * @default {65536}
   */
  highWaterMark?: number;
  /**
   * Call `setNoDelay(true)` on the socket where it has that method.
   * `false` leaves the socket's setting as it is.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * Overrides applied last to the computed `info` (also after it is
   * refreshed on `connect` / `secureConnect`).
   *
   * @default {{}}
   */
  info?: Partial<ConnectionInfo>;
}

/** The parts of `net.Socket` / `tls.TLSSocket` this module may use. */
interface SocketLike {
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  connecting?: boolean;
  encrypted?: boolean;
  alpnProtocol?: string | false | null;
  servername?: string | false | null;
  setNoDelay?(noDelay?: boolean): unknown;
  getProtocol?(): string | null;
  getCipher?(): { name: string } | undefined | null;
  getPeerCertificate?(detailed: true): NodePeerCertificate | null;
}

const DEFAULT_HIGH_WATER_MARK = 65536;

/** Format a node certificate subject object as `"CN=a, O=b"`. */
function formatSubject(subject: unknown): string | undefined {
  if (typeof subject === "string") return subject;
  if (subject === null || typeof subject !== "object") return undefined;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(subject as Record<string, unknown>)) {
    for (const value of Array.isArray(v) ? v : [v]) parts.push(`${k}=${value}`);
  }
  return parts.length > 0 ? parts.join(", ") : undefined;
}

/**
 * The `DNS:` names of node's `subjectaltname` string, such as
 * `DNS:a.example, DNS:"b, c", IP Address:127.0.0.1` (node quotes values with
 * special characters as JSON strings).
 */
function parseDnsNames(san: unknown): string[] | undefined {
  if (typeof san !== "string") return undefined;
  const names: string[] = [];
  const re = /(?:^|, )([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const m of san.matchAll(re)) {
    if (m[1] !== "DNS") continue;
    let value = m[2];
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value);
      } catch {
        continue;
      }
    }
    names.push(value);
  }
  return names;
}

function peerCertificate(socket: SocketLike): PeerCertificate | undefined {
  let cert: NodePeerCertificate | null | undefined;
  try {
    cert = socket.getPeerCertificate?.(true);
  } catch {
    return undefined;
  }
  const raw = cert?.raw as Uint8Array | undefined;
  if (!cert || !(raw instanceof Uint8Array) || raw.byteLength === 0) {
    return undefined;
  }
  const out: PeerCertificate = { raw: new Uint8Array(raw) };
  const subject = formatSubject(cert.subject);
  if (subject !== undefined) out.subject = subject;
  const dnsNames = parseDnsNames(cert.subjectaltname);
  if (dnsNames !== undefined) out.dnsNames = dnsNames;
  if (typeof cert.valid_to === "string") {
    const validTo = new Date(cert.valid_to);
    if (!Number.isNaN(validTo.getTime())) out.validTo = validTo;
  }
  return out;
}

function address(host: unknown, port: unknown): Address | undefined {
  if (typeof host !== "string" || host === "") return undefined;
  return {
    transport: "tcp",
    hostname: host,
    port: typeof port === "number" ? port : 0,
  };
}

function isTlsSocket(socket: SocketLike): boolean {
  return socket.encrypted === true ||
    typeof socket.getPeerCertificate === "function";
}

/** What node tells about the socket now. */
function describe(socket: SocketLike): ConnectionInfo {
  const tls = isTlsSocket(socket);
  const remoteAddr = address(socket.remoteAddress, socket.remotePort);
  const localAddr = address(socket.localAddress, socket.localPort);
  const info: ConnectionInfo = {
    transport: tls ? "tls" : remoteAddr ? "tcp" : "other",
    secure: tls && socket.encrypted === true,
  };
  if (tls) {
    info.alpn = socket.alpnProtocol || null;
    if (typeof socket.servername === "string" && socket.servername !== "") {
      info.serverName = socket.servername;
    }
    const version = socket.getProtocol?.();
    if (typeof version === "string" && version !== "unknown") {
      info.tlsVersion = version;
    }
    const cipher = socket.getCipher?.();
    if (cipher && typeof cipher.name === "string") info.cipher = cipher.name;
    const cert = peerCertificate(socket);
    if (cert) info.peerCertificate = cert;
  }
  if (localAddr) info.localAddr = localAddr;
  if (remoteAddr) info.remoteAddr = remoteAddr;
  return info;
}

class NodeSocketDuplex implements Duplex {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: ConnectionInfo;
  #socket: NodeDuplex;
  #readController!: ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  #readDone = false;
  #writeDone = false;
  #closed = false;

  constructor(
    socket: NodeDuplex,
    highWaterMark: number,
    overrides: Partial<ConnectionInfo> | undefined,
  ) {
    this.#socket = socket;
    const like = socket as unknown as SocketLike;
    this.info = { ...describe(like), ...overrides };

    // Refresh what was not known yet once the connection is up.
    const refresh = () => {
      for (const k of Object.keys(this.info)) {
        delete (this.info as unknown as Record<string, unknown>)[k];
      }
      Object.assign(this.info, describe(like), overrides);
    };
    if (like.connecting) socket.once("connect", refresh);
    if (isTlsSocket(like) && like.getProtocol?.() == null) {
      socket.once("secureConnect", refresh);
      socket.once("secure", refresh);
    }

    // Always listen for 'error': an unhandled one would crash the process.
    socket.on("error", (err: unknown) => this.#onError(err));
    socket.on("close", () => this.#onClose());

    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#readController = controller;
        socket.on("data", (data: Uint8Array | string) => {
          if (this.#readDone) return;
          const bytes = typeof data === "string"
            ? new TextEncoder().encode(data)
            : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
          if (bytes.byteLength === 0) return;
          controller.enqueue(bytes);
          if ((controller.desiredSize ?? 0) <= 0) socket.pause();
        });
        socket.on("end", () => {
          if (this.#readDone) return;
          this.#readDone = true;
          controller.close();
          this.#releaseIfDone();
        });
        // Start paused; pull() resumes when the consumer wants bytes.
        socket.pause();
      },
      pull: () => {
        if (!this.#readDone && socket.isPaused()) socket.resume();
      },
      cancel: () => {
        this.#readDone = true;
        socket.pause();
        this.#releaseIfDone();
      },
    }, { highWaterMark, size: (chunk) => chunk.byteLength });

    this.writable = new WritableStream<Uint8Array>({
      start: (controller) => {
        this.#writeController = controller;
      },
      write: (chunk, controller) => {
        if (!(chunk instanceof Uint8Array)) {
          throw new TypeError("Chunks written to a duplex must be Uint8Array");
        }
        // Resolve when node has handed the bytes on (its write callback), so
        // the caller may reuse the buffer and node's buffer stays small.
        return this.#untilDone(controller.signal, (done) => {
          socket.write(chunk, (err?: Error | null) => done(err));
        });
      },
      close: async (): Promise<void> => {
        try {
          await this.#untilDone(undefined, (done) => {
            socket.end(() => done(null));
          });
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

  /**
   * Run `start`, settling when it calls `done`, the socket closes, or
   * `signal` aborts.
   */
  #untilDone(
    signal: AbortSignal | undefined,
    start: (done: (err?: Error | null) => void) => void,
  ): Promise<void> {
    const socket = this.#socket;
    if (this.#closed || socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("The socket is closed"));
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const onClose = () =>
      finish(new Deno.errors.BrokenPipe("The socket closed"));
    const onAbort = () => finish(signal?.reason ?? new Error("Aborted"));
    let settled = false;
    const finish = (err?: Error | null) => {
      if (settled) return;
      settled = true;
      socket.off("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    socket.on("close", onClose);
    signal?.addEventListener("abort", onAbort, { once: true });
    start(finish);
    return promise;
  }

  #onError(err: unknown): void {
    if (!this.#readDone) {
      this.#readDone = true;
      this.#readController.error(err);
    }
    this.#writeController.error(err);
  }

  #onClose(): void {
    // Closed without 'end' (destroyed, reset): the readable ends here.
    if (!this.#readDone) {
      this.#readDone = true;
      this.#readController.close();
    }
    this.#writeController.error(
      new Deno.errors.BrokenPipe("The socket is closed"),
    );
  }

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
    this.#writeController.error(
      new Deno.errors.BadResource("The duplex is closed"),
    );
    this.#socket.destroy();
  }
}

/**
 * Adapt a node `Duplex` stream, typically a `node:net` `Socket` or a
 * `node:tls` `TLSSocket`, to a {@linkcode Duplex}, taking ownership of it.
 *
 * The socket is paused whenever the `readable` holds `highWaterMark` bytes and
 * resumed when the consumer reads; a write resolves once node has passed the
 * bytes on. Socket errors error the `readable` and `writable` (an `'error'`
 * listener is always attached, so they never crash the process). `'end'`
 * ends the `readable`; closing the `writable` calls `socket.end()` (a
 * half-close if the socket allows it, see node's `allowHalfOpen`); when both
 * are done, or on `close()`, the socket is destroyed. `close()` is
 * idempotent. `setNoDelay(true)` is called where the socket has it.
 *
 * `info` is read from the socket: for a `TLSSocket` `transport: "tls"`,
 * `secure` (`encrypted`), `alpn` (`alpnProtocol || null`), `serverName`
 * (`servername`), `tlsVersion` (`getProtocol()`), `cipher`
 * (`getCipher().name`) and `peerCertificate` (from
 * `getPeerCertificate(true)`: DER, subject as `"CN=…, O=…"`, the
 * subjectAltName `DNS:` names, not-after date), when the peer sent one;
 * otherwise `transport: "tcp"` (`"other"` without a remote address). Addresses
 * come from `remoteAddress`/`remotePort` and `localAddress`/`localPort`. If
 * the socket is still connecting or handshaking, `info` is refreshed in place
 * on `'connect'` / `'secureConnect'`; best adapt it after those events.
 *
 * Known issue (Deno 2.9.6 `node:tls`): if a `TLSSocket` is paused (reading
 * stopped) when the peer's close_notify / FIN arrives behind more than about
 * 16 KiB of unread data, node emits the data on resume but never `'end'` (nor
 * `'close'`), so the `readable` never ends. Plain `node:net` sockets are not
 * affected. Where a peer may send a bulk of data and then close while this
 * side is not reading, pass `highWaterMark: Infinity` (no pausing, unbounded)
 * or use `Deno.connectTls` with `fromTlsConn` from `./conn_duplex.ts`.
 *
 * @example A node:net client
 * ```ts
 * import net from "node:net";
 * import { fromNodeDuplex } from "./node_duplex.ts";
 *
 * const server = net.createServer((socket) => socket.pipe(socket)); // echo
 * await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
 * const { port } = server.address() as net.AddressInfo;
 * const socket = net.connect({ port, host: "127.0.0.1" });
 * await new Promise((r) => socket.once("connect", r));
 * const duplex = fromNodeDuplex(socket);
 * console.log(duplex.info.transport, duplex.info.remoteAddr?.port === port);
 * const writer = duplex.writable.getWriter();
 * await writer.write(new TextEncoder().encode("echo"));
 * const { value } = await duplex.readable.getReader().read();
 * console.log(new TextDecoder().decode(value)); // "echo"
 * duplex.close();
 * await new Promise((r) => server.close(r));
 * ```
 *
 * @param socket The node stream; the duplex owns it from now on.
 * @param options Buffer size, no-delay and `info` overrides.
 * @returns The duplex over `socket`.
 * @throws {TypeError} If `socket` is not a node `Duplex` stream.
 * @throws {RangeError} If `highWaterMark` is negative or NaN.
 */
export function fromNodeDuplex(
  socket: NodeDuplex,
  options: FromNodeDuplexOptions = {},
): Duplex {
  if (
    socket === null || typeof socket !== "object" ||
    typeof socket.on !== "function" || typeof socket.write !== "function" ||
    typeof socket.pause !== "function"
  ) {
    throw new TypeError("fromNodeDuplex needs a node Duplex stream");
  }
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (
    typeof highWaterMark !== "number" || Number.isNaN(highWaterMark) ||
    highWaterMark < 0
  ) {
    throw new RangeError(
      `highWaterMark must be a non-negative number, got ${highWaterMark}`,
    );
  }
  if (options.noDelay ?? true) {
    const like = socket as unknown as SocketLike;
    if (typeof like.setNoDelay === "function") like.setNoDelay(true);
  }
  return new NodeSocketDuplex(socket, highWaterMark, options.info);
}
