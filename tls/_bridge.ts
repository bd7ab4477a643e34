/**
 * Plumbing between our WHATWG {@linkcode Duplex} and `node:tls`:
 *
 * - {@linkcode NodeBridge}: any `Duplex` as a node `Duplex` stream, for
 *   `tls.connect({ socket })` and `new tls.TLSSocket(socket)`. It reads from
 *   the duplex only while its gate is open: that is where backpressure is
 *   applied (on ciphertext), not on the `TLSSocket`.
 * - {@linkcode TlsDuplex}: a `TLSSocket` as a `Duplex`. The socket is kept
 *   flowing from the start and never paused, because Deno 2.9.6's
 *   `node:tls` loses `'end'` when close_notify / EOF arrives while a
 *   `TLSSocket` is paused (all the data is delivered on resume, the end
 *   never is). When the `readable` is full the bridge's gate closes instead,
 *   so no more ciphertext reaches the engine until the consumer reads.
 * - {@linkcode awaitHandshake} and {@linkcode toTlsError}: waiting for the
 *   handshake with a timeout and an AbortSignal, and turning engine errors
 *   into {@linkcode TlsError}s with advice.
 *
 * @module
 */

import { Duplex as NodeDuplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { ConnectionInfo, Duplex } from "../stream/duplex.ts";
import { TlsError } from "./tls_error.ts";

/** Bytes the cleartext `readable` buffers before the gate closes. */
export const DEFAULT_HIGH_WATER_MARK = 65536;

/** A WHATWG duplex as a node `Duplex`, reading only while its gate is open. */
export class NodeBridge extends NodeDuplex {
  readonly inner: Duplex;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #open = true;
  #pumping = false;
  #innerClosed = false;
  /** Bytes read ahead (a peeked ClientHello), delivered before the rest. */
  #prefix: Uint8Array[] = [];

  constructor(inner: Duplex) {
    super({ allowHalfOpen: true });
    this.inner = inner;
    this.#reader = inner.readable.getReader();
    this.#writer = inner.writable.getWriter();
    // Closing the inner duplex errors the writer; nobody may be waiting.
    this.#writer.closed.catch(() => {});
  }

  /** Open or close the gate; opening resumes reading. */
  gate(open: boolean): void {
    this.#open = open;
    if (open) this.#pump();
  }

  override _read(): void {
    this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#open && !this.destroyed) {
        const early = this.#prefix.shift();
        if (early !== undefined) {
          if (!this.push(early)) break;
          continue;
        }
        const { value, done } = await this.#reader.read();
        if (this.destroyed) return;
        if (done) {
          this.push(null);
          return;
        }
        if (!this.push(value)) break;
      }
    } catch (e) {
      if (!this.destroyed) this.destroy(e as Error);
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Read one more chunk from the duplex ahead of the engine (it is delivered
   * to the engine later, in order). `null` at EOF.
   */
  async readAhead(): Promise<Uint8Array | null> {
    const { value, done } = await this.#reader.read();
    if (done) return null;
    this.#prefix.push(value);
    return value;
  }

  /**
   * Refuse the connection before the engine runs: write `bytes` (a TLS
   * alert), close the sending side, and give the peer up to `lingerMs` to
   * read it and close its side (discarding what it still sends), so that
   * the alert is not lost to a reset. Then close everything.
   */
  async refuse(bytes: Uint8Array, lingerMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        (async () => {
          await this.#writer.write(bytes);
          await this.#writer.close();
          while (!(await this.#reader.read()).done) { /* discard */ }
        })(),
        new Promise((resolve) => (timer = setTimeout(resolve, lingerMs))),
      ]);
    } catch {
      /* the peer is gone already */
    } finally {
      clearTimeout(timer);
      this.destroy();
    }
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#writer.write(chunk).then(() => callback(), (e) => callback(e));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#writer.close().then(() => callback(), (e) => callback(e));
  }

  override _destroy(
    error: Error | null,
    callback: (error?: Error | null) => void,
  ): void {
    this.closeInner();
    callback(error);
  }

  /** Close the wrapped duplex (idempotent). */
  closeInner(): void {
    if (this.#innerClosed) return;
    this.#innerClosed = true;
    this.#reader.cancel().catch(() => {});
    this.inner.close();
  }
}

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string"
    ? new TextEncoder().encode(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A `TLSSocket` over a {@linkcode NodeBridge}, as a {@linkcode Duplex}. */
export class TlsDuplex implements Duplex {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: ConnectionInfo;
  readonly socket: TLSSocket;
  readonly bridge: NodeBridge;
  #readController!: ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  #readDone = false;
  #writeDone = false;
  #closed = false;

  constructor(socket: TLSSocket, bridge: NodeBridge, highWaterMark: number) {
    this.socket = socket;
    this.bridge = bridge;
    this.info = { transport: "tls", secure: false };
    // Listen for 'error' at once: an unhandled one would crash the process.
    socket.on("error", (e: Error) => this.#fail(e));
    socket.on("close", () => this.#onClose());
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#readController = controller;
        // Flowing from the start, never paused (see the module doc).
        socket.on("data", (data: Uint8Array | string) => {
          if (this.#readDone) return;
          const bytes = bytesOf(data);
          if (bytes.byteLength === 0) return;
          controller.enqueue(bytes);
          if ((controller.desiredSize ?? 0) <= 0) bridge.gate(false);
        });
        socket.on("end", () => {
          if (this.#readDone) return;
          this.#readDone = true;
          controller.close();
          this.#releaseIfDone();
        });
      },
      pull: () => bridge.gate(true),
      cancel: () => {
        this.#readDone = true;
        bridge.gate(true); // drain and drop what still comes
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
        return this.#untilDone(controller.signal, (done) => {
          socket.write(chunk, (err?: Error | null) => done(err));
        });
      },
      close: async () => {
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

  /** Fill `info` in place (after the handshake). */
  setInfo(info: ConnectionInfo): void {
    for (const k of Object.keys(this.info)) {
      delete (this.info as unknown as Record<string, unknown>)[k];
    }
    Object.assign(this.info, info);
  }

  #untilDone(
    signal: AbortSignal | undefined,
    start: (done: (err?: Error | null) => void) => void,
  ): Promise<void> {
    const socket = this.socket;
    if (this.#closed || socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("The socket is closed"));
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    let settled = false;
    const onClose = () =>
      finish(new Deno.errors.BrokenPipe("The socket closed"));
    const onAbort = () => finish(signal?.reason ?? new Error("Aborted"));
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

  #fail(err: unknown): void {
    if (!this.#readDone) {
      this.#readDone = true;
      this.#readController.error(err);
    }
    this.#writeController.error(err);
  }

  #onClose(): void {
    if (!this.#readDone) {
      this.#readDone = true;
      this.#readController.close();
    }
    this.#writeController.error(
      new Deno.errors.BrokenPipe("The socket is closed"),
    );
    this.bridge.closeInner();
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
    this.socket.destroy();
    this.bridge.destroy();
  }
}

/** Options for {@linkcode awaitHandshake}. */
export interface HandshakeWait {
  /** `"secureConnect"` (client) or `"secure"` (server). */
  event: "secureConnect" | "secure";
  /** Milliseconds before `handshake-timeout`. */
  timeout: number;
  /** Aborting rejects with its reason. */
  signal?: AbortSignal;
  /** Turns an engine error into a {@linkcode TlsError}. */
  mapError: (err: unknown) => TlsError;
  /** The error for a connection closed before the handshake finished. */
  closedError: () => TlsError;
  /** The domain or SNI name, for the timeout message. */
  serverName?: string;
}

/**
 * Wait for the handshake of `socket`: resolves on `event`, rejects on an
 * error, a close, the timeout or an abort. Does not destroy anything.
 */
export function awaitHandshake(
  socket: TLSSocket,
  wait: HandshakeWait,
): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  let settled = false;
  const onReady = () => finish();
  const onError = (e: unknown) => finish(wait.mapError(e));
  const onClose = () => finish(wait.closedError());
  const onAbort = () => finish(wait.signal?.reason ?? new Error("Aborted"));
  const timer = setTimeout(() => {
    finish(
      new TlsError(
        "handshake-timeout",
        `the TLS handshake${
          wait.serverName ? ` with ${wait.serverName}` : ""
        } did not finish within ${wait.timeout} ms: the peer may not speak TLS ` +
          `on this port (try STARTTLS instead of Direct TLS, or the other way ` +
          `round), or the network is slow (raise \`timeout\`)`,
        { serverName: wait.serverName },
      ),
    );
  }, wait.timeout);
  const finish = (err?: unknown) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.off(wait.event, onReady);
    socket.off("error", onError);
    socket.off("close", onClose);
    socket.off("end", onClose);
    wait.signal?.removeEventListener("abort", onAbort);
    if (err === undefined) resolve();
    else reject(err);
  };
  socket.once(wait.event, onReady);
  socket.on("error", onError);
  socket.on("close", onClose);
  socket.on("end", onClose);
  if (wait.signal?.aborted) onAbort();
  else wait.signal?.addEventListener("abort", onAbort, { once: true });
  return promise;
}

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_REVOKED",
  "INVALID_PURPOSE",
  "INVALID_CA",
]);
const EXPIRED = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);

/** Context for {@linkcode toTlsError}. */
export interface ErrorContext {
  /** `"client"` or `"server"`: this side. */
  side: "client" | "server";
  /** The JID domain (client) or the SNI name (server). */
  serverName?: string;
  /** Why the OS trust store is missing, if it is. */
  trustNote?: string;
}

/** Turn an engine error (or anything thrown) into a {@linkcode TlsError}. */
export function toTlsError(err: unknown, ctx: ErrorContext): TlsError {
  if (err instanceof TlsError) return err;
  const code = String((err as { code?: unknown })?.code ?? "");
  const msg = err instanceof Error ? err.message : String(err);
  const name = ctx.serverName;
  const opts = { serverName: name, cause: err };
  const peer = ctx.side === "client"
    ? `the server${name ? ` for ${name}` : ""}`
    : "the client";
  if (UNTRUSTED.has(code)) {
    return new TlsError(
      "untrusted-certificate",
      `the certificate of ${peer} is not trusted (${code}): it does not chain ` +
        `to a trusted CA. If the server uses a private CA, pass its certificate ` +
        `in \`ca\`; otherwise the server must send its full chain` +
        (ctx.trustNote ? ` (note: ${ctx.trustNote})` : ""),
      opts,
    );
  }
  if (EXPIRED.has(code)) {
    return new TlsError(
      "certificate-expired",
      `the certificate of ${peer} is ${
        code === "CERT_HAS_EXPIRED" ? "expired" : "not valid yet"
      } (${code}): the server must renew it, or this machine's clock is wrong`,
      opts,
    );
  }
  if (/UnrecognisedName|UnrecognizedName/i.test(msg)) {
    return new TlsError(
      "unknown-server-name",
      `${peer} does not serve ${name ?? "the name sent"} (it refused the SNI ` +
        `name with an unrecognized_name alert): check the JID domain, or the ` +
        `server's virtual hosts`,
      opts,
    );
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new TlsError("name-mismatch", msg, opts);
  }
  if (
    code === "ERR_SSL_NO_APPLICATION_PROTOCOL" ||
    /NoApplicationProtocol/i.test(msg)
  ) {
    return new TlsError(
      "alpn-mismatch",
      `${peer} supports none of the ALPN protocols offered: ` +
        `use "xmpp-client" for client-to-server and "xmpp-server" for ` +
        `server-to-server streams (XEP-0368)`,
      opts,
    );
  }
  if (
    code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE" ||
    /CertificateRequired/i.test(msg)
  ) {
    return new TlsError(
      "certificate-required",
      ctx.side === "server"
        ? "the client sent no certificate, and this server requires one"
        : `${peer} requires a client certificate: pass \`cert\` and \`key\``,
      opts,
    );
  }
  if (
    code === "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" ||
    /ProtocolVersion|Tls12NotOffered|unsupported protocol/i.test(msg)
  ) {
    return new TlsError(
      "protocol-version",
      `${peer} and this side share no TLS version: only TLS 1.2 and 1.3 ` +
        `are accepted (RFC 7590); the peer must enable TLS 1.2 or later (${msg})`,
      opts,
    );
  }
  if (
    code === "ERR_SSL_WRONG_VERSION_NUMBER" || /InvalidContentType/.test(msg)
  ) {
    return new TlsError(
      "handshake-failed",
      `${peer} did not answer with TLS (${msg}): is this a STARTTLS ` +
        `(plaintext) port dialled as Direct TLS? Use the port from the ` +
        `_xmpps-client / _xmpps-server SRV records for Direct TLS`,
      opts,
    );
  }
  return new TlsError(
    "handshake-failed",
    `the TLS handshake with ${peer} failed: ${msg}. ` +
      `This side accepts only TLS 1.2+ with ECDHE and AEAD cipher suites; ` +
      `check that the peer speaks TLS on this port and supports them`,
    opts,
  );
}
