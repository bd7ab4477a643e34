/**
 * `serve()`: an XMPP client-to-server listener that hands every negotiated,
 * authenticated and bound stream to one handler.
 *
 * It listens on any set of endpoints:
 *
 * - **STARTTLS** ports (RFC 6120 §5): plain TCP, the stream header, then
 *   `<starttls/>` (required by default), SASL and resource binding. Bytes a
 *   client pipelines after `<starttls/>` are never processed (command
 *   injection: `<failure/>` and the connection closes).
 * - **Direct TLS** ports (XEP-0368): TLS from the first byte, then SASL and
 *   resource binding; STARTTLS is never offered there.
 * - QUIC (XEP-0467) joins later, as a third kind of endpoint (see
 *   `_serve_listeners.ts`).
 *
 * Every endpoint shares one TLS policy (`tls/`: TLS 1.2+, a certificate per
 * virtual host chosen by SNI, a configurable answer to an unknown SNI name,
 * ALPN `xmpp-client`), one credential store (in memory by default), one set
 * of served domains, and one set of limits:
 *
 * - `maxConnections` open connections (negotiating or in a session) at
 *   most; a connection beyond that is closed at once and reported as
 *   `connection-limit`;
 * - `maxNegotiations` connections negotiating at once (and, per Direct TLS
 *   endpoint, TLS handshakes); beyond that, new connections wait in the
 *   kernel's backlog until a slot frees;
 * - `negotiationTimeout` for everything between accept and a bound session
 *   (header, TLS, login, bind), so idle or slow clients cannot hold slots.
 *
 * The handler gets a {@linkcode Session}: the {@linkcode XmlStream}, the
 * full JID, the endpoint and connection details, and the first stanza if it
 * already arrived during negotiation. When the handler returns, the stream
 * is closed; when it throws, the error goes to `onError`, the client gets
 * `internal-server-error` and the server keeps running. `close()` (or the
 * `signal`) stops listening, sends `system-shutdown` to every session and
 * waits for the handlers.
 *
 * No-delay is set on every accepted TCP socket (otherwise Nagle's algorithm
 * and the client's delayed ACK stall the first write after the TLS
 * handshake by about 40 ms).
 *
 * @example A server that greets its users (not run: it listens)
 * ```ts
 * import { serve } from "./serve.ts";
 * import { Element } from "../stream/element.ts";
 *
 * export async function greeter() {
 *   const dir = new URL("../tests/testdata/", import.meta.url);
 *   const read = (f: string) => Deno.readTextFile(new URL(f, dir));
 *   const localhost = { cert: await read("localhost.pem"), key: await read("localhost.key") };
 *   const server = serve({
 *     domains: ["localhost"],
 *     listen: [
 *       { transport: "starttls", hostname: "127.0.0.1", port: 5222 },
 *       { transport: "directtls", hostname: "127.0.0.1", port: 5223 },
 *     ],
 *     tls: { certificates: { localhost } },
 *   }, async (session) => {
 *     await session.stream.send(
 *       new Element("message", "jabber:client", { to: session.jid, from: session.domain }, [
 *         new Element("body", "jabber:client", {}, [`hello ${session.username}`]),
 *       ]),
 *     );
 *     for await (const stanza of session.stream) console.log(stanza.name);
 *   });
 *   await server.store.setPassword("alice", "secret");
 *   return server;
 * }
 * ```
 *
 * @module
 */

import type { ConnectionInfo, Duplex } from "../stream/duplex.ts";
import type { Element } from "../stream/element.ts";
import type { SessionState, StreamFeature } from "../stream/feature.ts";
import type { ParserLimits } from "../stream/parser.ts";
import { StreamError } from "../stream/stream_error.ts";
import type { XmlStream } from "../stream/xml_stream.ts";
import {
  type CertificateKey,
  tlsAccept,
  type TlsAcceptOptions,
} from "../tls/server.ts";
import { acceptSettings } from "../tls/_accept_settings.ts";
import { normalizeServerName } from "../tls/identity.ts";
import {
  type CredentialStore,
  MemoryCredentialStore,
} from "../sasl/credentials.ts";
import type { SaslServerOptions } from "../sasl/stream_features.ts";
import type { ConflictDecision } from "../sasl/bind.ts";
import { Slots } from "./_serve_slots.ts";
import { connectionFeatures } from "./_serve_features.ts";
import {
  negotiateConnection,
  type NegotiatedSession,
  sendErrorBounded,
} from "./_serve_connection.ts";
import { type EndpointListener, listenEndpoint } from "./_serve_listeners.ts";

/**
 * How clients reach an endpoint: STARTTLS over TCP, or Direct TLS
 * (XEP-0368). The names match `srv/`'s candidate transports; `"quic"` will
 * join them.
 */
export type ServeTransport = "starttls" | "directtls" | "quic";

/**
 * One endpoint to listen on.
 *
 * @example
 * ```ts
 * import type { ServeListen } from "./serve.ts";
 * const endpoints: ServeListen[] = [
 *   { transport: "starttls", port: 5222 },
 *   { transport: "directtls", hostname: "127.0.0.1", port: 0 },
 * ];
 * console.log(endpoints[0].hostname ?? "0.0.0.0");
 * ```
 */
export interface ServeListen {
  /** STARTTLS or Direct TLS. */
  transport: ServeTransport;
  /**
   * The address to listen on.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /** The TCP (or, for QUIC, UDP) port; 0 picks a free one (see {@linkcode Server.addrs}). */
  port: number;
  /**
   * QUIC only: the one certificate to serve (Deno's QUIC cannot choose one
   * per SNI name). Default: `tls.defaultCertificate`, else the only
   * certificate in `tls.certificates`.
   */
  certificate?: CertificateKey;
}

/**
 * An endpoint being listened on, with its actual port.
 *
 * @example
 * ```ts
 * import type { ServeAddr } from "./serve.ts";
 * const addr: ServeAddr = { transport: "directtls", hostname: "127.0.0.1", port: 5223 };
 * console.log(`${addr.transport} ${addr.hostname}:${addr.port}`);
 * ```
 */
export interface ServeAddr {
  /** STARTTLS or Direct TLS. */
  transport: ServeTransport;
  /** The address listened on. */
  hostname: string;
  /** The port listened on. */
  port: number;
}

/**
 * The TLS options shared by every endpoint (see `tlsAccept`): certificates
 * per SNI name, the answer to an unknown name, ALPN, client certificates and
 * the handshake timeout. `alpn` defaults to `["xmpp-client"]` here: this is
 * a client-to-server listener.
 *
 * @example
 * ```ts
 * import type { ServeTlsOptions } from "./serve.ts";
 * const dir = new URL("../tests/testdata/", import.meta.url);
 * const read = (f: string) => Deno.readTextFile(new URL(f, dir));
 * const tls: ServeTlsOptions = {
 *   certificates: { localhost: { cert: await read("localhost.pem"), key: await read("localhost.key") } },
 *   unknownServerName: "refuse",
 * };
 * console.log(Object.keys(tls.certificates)); // [ "localhost" ]
 * ```
 */
export type ServeTlsOptions = Omit<TlsAcceptOptions, "signal">;

/**
 * Options for {@linkcode serve}.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "./serve.ts";
 * const options: ServeOptions = {
 *   domains: ["example.org"],
 *   listen: [{ transport: "directtls", port: 5223 }],
 *   tls: { certificates: {} },
 *   maxConnections: 100,
 * };
 * console.log(options.negotiationTimeout ?? 30_000); // 30000
 * ```
 */
export interface ServeOptions<S extends CredentialStore = CredentialStore> {
  /**
   * The domains served. A stream to another domain gets `host-unknown`.
   * With a `certificates` map, each needs a certificate unless
   * `tls.unknownServerName` is `"default"`.
   */
  domains: readonly string[];
  /** The endpoints to listen on (at least one). */
  listen: readonly ServeListen[];
  /** The TLS policy options and certificates for every endpoint. */
  tls: ServeTlsOptions;
  /**
   * Offer STARTTLS as `<required/>`. Either way no client logs in without
   * TLS: SASL is only offered on a secure stream.
   *
   * @default {true}
   */
  requireStartTls?: boolean;
  /**
   * Where SCRAM and PLAIN credentials are looked up.
   *
   * @default {new MemoryCredentialStore(): empty; add users through Server.store}
   */
  store?: S;
  /**
   * More SASL server options: mechanisms, channel binding, EXTERNAL,
   * attempts, sizes.
   *
   * @default {{}}
   */
  sasl?: Omit<SaslServerOptions, "store" | "allowInsecure">;
  /**
   * `"client"`: bind the resource the client asks for; `"server"`: always
   * assign a random one.
   *
   * @default {"client"}
   */
  resourcePolicy?: "client" | "server";
  /**
   * When a client binds a full JID that is already online: `"replace"` ends
   * the older session with a `conflict` stream error (RFC 6120 §7.7.2.2);
   * `"refuse"` answers the bind request with `<conflict/>`; `"rename"`
   * assigns a random resource.
   *
   * @default {"replace"}
   */
  resourceConflict?: "replace" | "refuse" | "rename";
  /**
   * More receiving-entity stream features, offered after SASL and binding
   * (for example an optional legacy `<session/>`). A client that skips the
   * optional ones and sends a stanza gets its session, with that stanza as
   * {@linkcode Session.pending}.
   *
   * @default {[]}
   */
  features?: readonly StreamFeature[];
  /**
   * Open connections (negotiating or in a session) at most, over all
   * endpoints. A connection beyond that is closed at once.
   *
   * @default {1024}
   */
  maxConnections?: number;
  /**
   * Connections negotiating at once at most; also the most TLS handshakes
   * in flight per Direct TLS endpoint. Beyond that, new connections wait in
   * the kernel's backlog.
   *
   * @default {128}
   */
  maxNegotiations?: number;
  /**
   * Milliseconds from accept (for Direct TLS: from the end of the TLS
   * handshake, itself bounded by `tls.timeout`) to a bound session; then
   * the client gets `connection-timeout` and is closed.
   *
   * @default {30000}
   */
  negotiationTimeout?: number;
  /**
   * Milliseconds a closing stream waits for the client's
   * `</stream:stream>`, and `close()` waits for handlers to return.
   *
   * @default {5000}
   */
  closeTimeout?: number;
  /**
   * XML parser limits per stream (stanza size, depth, attributes).
   *
   * @default {the parser's defaults: 256 KiB stanzas, depth 64, 64 attributes}
   */
  limits?: ParserLimits;
  /**
   * Aborting it closes the server, as `close()` does.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Told about every failure: refused and failed connections, failed
   * negotiations (including TLS handshakes and logins) and handler errors.
   * It must not throw (what it throws is ignored).
   *
   * @default {logs "handler-failed" errors with console.error, ignores the rest}
   */
  onError?: (error: ServeError) => void;
}

/**
 * A negotiated, authenticated and bound client stream, as the handler gets
 * it.
 *
 * @example
 * ```ts
 * import type { Session } from "./serve.ts";
 *
 * export function describe(session: Session): string {
 *   return `${session.jid} via ${session.endpoint.transport} ` +
 *     `(${session.info.tlsVersion}, SNI ${session.info.serverName})`;
 * }
 * ```
 */
export interface Session {
  /** The XML stream, after negotiation: read stanzas, send stanzas. */
  readonly stream: XmlStream;
  /** The full JID bound (`user@domain/resource`). */
  readonly jid: string;
  /** The bare JID (`user@domain`). */
  readonly bareJid: string;
  /** The authenticated user name (the JID's localpart). */
  readonly username: string;
  /** The domain the client connected to (one of `domains`). */
  readonly domain: string;
  /** The endpoint the client came through (its transport and port). */
  readonly endpoint: ServeAddr;
  /** The connection: TLS version, cipher, ALPN, SNI, addresses. */
  readonly info: ConnectionInfo;
  /** What the negotiation established. */
  readonly state: Readonly<SessionState>;
  /**
   * The first stanza, if the client sent it before the negotiation ended
   * (only when optional extra features were offered); handle it first.
   */
  readonly pending?: Element;
  /**
   * Aborted when the session is being ended by the server (`close()`, or a
   * newer session replacing this JID); its reason is the `StreamError`
   * sent to the client.
   */
  readonly signal: AbortSignal;
}

/**
 * The one handler every session goes to. The stream is closed when it
 * returns (or throws).
 *
 * @example
 * ```ts
 * import type { SessionHandler } from "./serve.ts";
 * const echo: SessionHandler = async ({ stream }) => {
 *   for await (const stanza of stream) await stream.send(stanza);
 * };
 * console.log(typeof echo); // "function"
 * ```
 */
export type SessionHandler = (session: Session) => Promise<void> | void;

/** What a {@linkcode ServeError} reports. */
export type ServeErrorCode =
  /** A connection beyond `maxConnections`; it was closed at once. */
  | "connection-limit"
  /** A Direct TLS handshake failed (the STARTTLS ones: `negotiation-failed`). */
  | "tls-failed"
  /** The negotiation did not end within `negotiationTimeout`. */
  | "negotiation-timeout"
  /** The negotiation failed: stream error, TLS, authentication, binding. */
  | "negotiation-failed"
  /** The handler threw; the session was closed. */
  | "handler-failed"
  /**
   * The session's stream failed under the handler: the client sent a stream
   * error or bad XML, or dropped the connection without closing the stream.
   */
  | "stream-failed"
  /** Accepting on an endpoint failed. */
  | "accept-failed";

/**
 * A failure `serve()` reports to `onError`: the server keeps running.
 *
 * @example
 * ```ts
 * import { ServeError } from "./serve.ts";
 * const e = new ServeError("connection-limit", "1024 connections are open", {
 *   endpoint: { transport: "starttls", hostname: "0.0.0.0", port: 5222 },
 * });
 * console.log(e.code, e.message);
 * ```
 */
export class ServeError extends Error {
  /** What failed. */
  readonly code: ServeErrorCode;
  /** The endpoint involved, if any. */
  readonly endpoint?: ServeAddr;
  /** The client's address, if known. */
  readonly remoteAddr?: { hostname: string; port: number };
  /** The full JID, for session failures. */
  readonly jid?: string;

  /**
   * Make a serve error.
   *
   * @param code What failed.
   * @param message What happened.
   * @param options The endpoint, client address, JID and cause.
   */
  constructor(
    code: ServeErrorCode,
    message: string,
    options: {
      endpoint?: ServeAddr;
      remoteAddr?: { hostname: string; port: number };
      jid?: string;
      cause?: unknown;
    } = {},
  ) {
    const where = options.remoteAddr
      ? ` (client ${options.remoteAddr.hostname}:${options.remoteAddr.port}` +
        (options.endpoint
          ? ` on ${options.endpoint.transport} port ${options.endpoint.port})`
          : ")")
      : "";
    super(
      `${message}${where}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ServeError";
    this.code = code;
    this.endpoint = options.endpoint;
    this.remoteAddr = options.remoteAddr;
    this.jid = options.jid;
  }
}

/**
 * A running server.
 *
 * @example
 * ```ts
 * import type { Server } from "./serve.ts";
 * export async function report(server: Server) {
 *   for (const a of server.addrs) console.log(`${a.transport} on ${a.hostname}:${a.port}`);
 *   console.log(`${server.connections} connections, ${server.sessions.length} sessions`);
 *   await server.close();
 * }
 * ```
 */
export interface Server<S extends CredentialStore = CredentialStore>
  extends AsyncDisposable {
  /** The endpoints listened on, in `listen` order, with actual ports. */
  readonly addrs: readonly ServeAddr[];
  /** The credential store (the default in-memory one if none was given). */
  readonly store: S;
  /** Open connections: negotiating or in a session. */
  readonly connections: number;
  /** The sessions handed to the handler and not ended yet. */
  readonly sessions: Session[];
  /** Resolves once the server is closed and its handlers have returned. */
  readonly finished: Promise<void>;
  /**
   * Stop listening, end negotiations and sessions (`system-shutdown`),
   * and wait for the handlers (at most `closeTimeout` once the streams are
   * closed). Idempotent.
   */
  close(): Promise<void>;
}

interface Live {
  session: Session;
  ctl: AbortController;
}

function positive(value: number, name: string): number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `${name} must be a positive number of milliseconds, got ${value}`,
    );
  }
  return value;
}

function remoteOf(info: ConnectionInfo) {
  const a = info.remoteAddr;
  return a ? { hostname: a.hostname, port: a.port } : undefined;
}

function shutdownError(): StreamError {
  return new StreamError("system-shutdown", "the server is shutting down");
}

class ServerImpl<S extends CredentialStore> implements Server<S> {
  readonly addrs: ServeAddr[] = [];
  readonly store: S;
  readonly finished: Promise<void>;
  #resolveFinished: () => void;
  #options: ServeOptions<S>;
  #handler: SessionHandler;
  #domains: string[];
  #tls: ServeTlsOptions;
  #negotiationTimeout: number;
  #closeTimeout: number;
  #connections: Slots;
  #negotiations: Slots;
  #listeners: EndpointListener[] = [];
  #loops: Promise<void>[] = [];
  #tasks = new Set<Promise<void>>();
  #live = new Set<Live>();
  #byJid = new Map<string, Live>();
  #abort = new AbortController();
  #closing = false;
  #onError: (e: ServeError) => void;

  constructor(options: ServeOptions<S>, handler: SessionHandler) {
    this.#options = options;
    this.#handler = handler;
    this.#domains = options.domains.map((d) => d.toLowerCase());
    this.#tls = { alpn: ["xmpp-client"], ...options.tls };
    this.#negotiationTimeout = positive(
      options.negotiationTimeout ?? 30_000,
      "negotiationTimeout",
    );
    this.#closeTimeout = positive(options.closeTimeout ?? 5000, "closeTimeout");
    this.#connections = new Slots(
      options.maxConnections ?? 1024,
      "maxConnections",
    );
    this.#negotiations = new Slots(
      options.maxNegotiations ?? 128,
      "maxNegotiations",
    );
    this.store = options.store ??
      new MemoryCredentialStore() as CredentialStore as S;
    const onError = options.onError ?? ((e: ServeError) => {
      if (e.code === "handler-failed") console.error(e);
    });
    this.#onError = (e) => {
      try {
        onError(e);
      } catch { /* a throwing callback must not stop the server */ }
    };
    const { promise, resolve } = Promise.withResolvers<void>();
    this.finished = promise;
    this.#resolveFinished = resolve;

    try {
      for (const spec of options.listen) {
        const at: { addr?: ServeAddr } = {}; // known once listening
        const l = listenEndpoint(spec, {
          tls: this.#tls,
          domains: this.#domains,
          maxHandshakes: this.#negotiations.max,
          onTlsError: (error, remote) => {
            if (this.#closing) return;
            this.#onError(
              new ServeError("tls-failed", `TLS handshake failed: ${error}`, {
                endpoint: at.addr,
                remoteAddr: remote,
                cause: error,
              }),
            );
          },
        });
        at.addr = l.addr;
        this.#listeners.push(l);
        this.addrs.push(l.addr);
      }
    } catch (e) {
      for (const l of this.#listeners) l.close();
      throw e;
    }
    for (const l of this.#listeners) this.#loops.push(this.#acceptLoop(l));
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.#shutdown();
      signal.addEventListener("abort", onAbort, { once: true });
      this.finished.then(() => signal.removeEventListener("abort", onAbort));
      if (signal.aborted) this.#shutdown();
    }
  }

  get connections(): number {
    return this.#connections.used;
  }

  get sessions(): Session[] {
    return [...this.#live].map((l) => l.session);
  }

  /**
   * Accept on one endpoint. A connection takes a connection slot at once
   * (or is refused), then waits for a negotiation slot; the loop accepts
   * the next connection only once it has one, so beyond `maxNegotiations`
   * connections wait in the kernel's backlog. (Holding a negotiation slot
   * while waiting in `accept()` would let an idle endpoint starve a busy
   * one.)
   */
  async #acceptLoop(l: EndpointListener): Promise<void> {
    const signal = this.#abort.signal;
    while (!this.#closing) {
      let duplex: Duplex;
      try {
        duplex = await l.accept();
      } catch (e) {
        if (this.#closing) return;
        if (
          e instanceof Deno.errors.ConnectionAborted ||
          e instanceof Deno.errors.ConnectionReset
        ) continue;
        this.#onError(
          new ServeError(
            "accept-failed",
            `accepting on ${l.addr.transport} port ${l.addr.port} failed: ${e}`,
            { endpoint: l.addr, cause: e },
          ),
        );
        if (e instanceof Deno.errors.BadResource) return; // the listener is gone
        // Such as EMFILE: wait a little rather than spin.
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, 1000);
          signal.addEventListener("abort", done, { once: true });
          function done() {
            clearTimeout(t);
            signal.removeEventListener("abort", done);
            resolve();
          }
        });
        continue;
      }
      if (this.#closing) {
        duplex.close();
        return;
      }
      if (!this.#connections.tryAcquire()) {
        duplex.close();
        this.#onError(
          new ServeError(
            "connection-limit",
            `refused a connection: ${this.#connections.max} connections are open (maxConnections)`,
            { endpoint: l.addr, remoteAddr: remoteOf(duplex.info) },
          ),
        );
        continue;
      }
      try {
        await this.#negotiations.acquire(signal);
      } catch {
        duplex.close(); // closing
        this.#connections.release();
        return;
      }
      this.#track(this.#connection(duplex, l.addr));
    }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** One connection: negotiate (holding a negotiation slot), then the handler. */
  async #connection(duplex: Duplex, endpoint: ServeAddr): Promise<void> {
    let negotiated: NegotiatedSession;
    const remoteAddr = remoteOf(duplex.info);
    try {
      negotiated = await negotiateConnection(duplex, {
        domains: this.#domains,
        features: (tracker) =>
          connectionFeatures({
            starttls: endpoint.transport === "starttls"
              ? {
                upgrade: (raw, signal) =>
                  tlsAccept(raw, { ...this.#tls, signal }),
                required: this.#options.requireStartTls ?? true,
              }
              : undefined,
            sasl: { ...this.#options.sasl, store: this.store },
            bind: {
              resourcePolicy: this.#options.resourcePolicy,
              conflict: (jid) => this.#conflict(jid),
            },
            extra: this.#options.features ?? [],
          }, tracker),
        timeout: this.#negotiationTimeout,
        closeTimeout: this.#closeTimeout,
        limits: this.#options.limits,
        signal: this.#abort.signal,
      });
    } catch (e) {
      this.#negotiations.release();
      this.#connections.release();
      if (!this.#closing) {
        const timedOut = e instanceof StreamError &&
          e.condition === "connection-timeout" && e.origin === "local";
        this.#onError(
          new ServeError(
            timedOut ? "negotiation-timeout" : "negotiation-failed",
            `${timedOut ? "negotiation timed out" : "negotiation failed"}: ${
              e instanceof Error ? e.message : String(e)
            }`,
            { endpoint, remoteAddr, cause: e },
          ),
        );
      }
      return;
    }
    this.#negotiations.release();
    const { stream, state, pending, jid, username } = negotiated;
    const ctl = new AbortController();
    const at = jid.indexOf("@");
    const slash = jid.indexOf("/", at);
    const session: Session = {
      stream,
      jid,
      bareJid: jid.slice(0, slash),
      username,
      domain: jid.slice(at + 1, slash),
      endpoint,
      info: stream.info,
      state,
      signal: ctl.signal,
      ...(pending ? { pending } : {}),
    };
    const live: Live = { session, ctl };
    // A race between two binds of one JID: the newer session wins.
    const older = this.#byJid.get(jid);
    if (older) {
      this.#end(
        older,
        new StreamError(
          "conflict",
          "replaced by a new session for this resource",
        ),
      );
    }
    this.#byJid.set(jid, live);
    this.#live.add(live);
    if (this.#closing) this.#end(live, shutdownError());
    try {
      await this.#handler(session);
    } catch (e) {
      if (!ctl.signal.aborted) {
        const streamFailed = e instanceof StreamError;
        this.#onError(
          new ServeError(
            streamFailed ? "stream-failed" : "handler-failed",
            `${
              streamFailed ? "the stream of" : "the session handler for"
            } ${jid} failed: ${e instanceof Error ? e.message : String(e)}`,
            { endpoint, remoteAddr, jid, cause: e },
          ),
        );
        // A handler bug: tell the client. (A stream error was already sent,
        // or came from the client.)
        if (!streamFailed) {
          await sendErrorBounded(stream, "internal-server-error");
        }
      }
    } finally {
      this.#live.delete(live);
      if (this.#byJid.get(jid) === live) this.#byJid.delete(jid);
      try {
        await stream.close();
      } catch { /* already failed */ }
      stream.duplex.close();
      this.#connections.release();
    }
  }

  #conflict(jid: string): ConflictDecision {
    const older = this.#byJid.get(jid);
    if (older === undefined) return "accept";
    switch (this.#options.resourceConflict ?? "replace") {
      case "refuse":
        return "refuse";
      case "rename":
        return "rename";
      default:
        this.#end(
          older,
          new StreamError(
            "conflict",
            "replaced by a new session for this resource",
          ),
        );
        return "accept";
    }
  }

  /** End a session from the server side: abort its signal, send the error. */
  #end(live: Live, error: StreamError): void {
    if (live.ctl.signal.aborted) return;
    live.ctl.abort(error);
    if (this.#byJid.get(live.session.jid) === live) {
      this.#byJid.delete(live.session.jid);
    }
    this.#track(
      sendErrorBounded(live.session.stream, error.condition, error.text),
    );
  }

  #shutdown(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#abort.abort(shutdownError());
    for (const live of this.#live) this.#end(live, shutdownError());
    const closed = Promise.allSettled(this.#listeners.map((l) => l.close()));
    (async () => {
      await closed;
      await Promise.allSettled(this.#loops);
      // Handlers see their stream end now; give them closeTimeout to return.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        (async () => {
          while (this.#tasks.size > 0) {
            await Promise.allSettled([...this.#tasks]);
          }
        })(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.#closeTimeout + 1000);
        }),
      ]);
      clearTimeout(timer);
      this.#resolveFinished();
    })();
  }

  async close(): Promise<void> {
    this.#shutdown();
    await this.finished;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function checkOptions(
  options: ServeOptions<CredentialStore>,
  handler: SessionHandler,
): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError("serve needs options: { domains, listen, tls }");
  }
  if (typeof handler !== "function") {
    throw new TypeError("serve needs a session handler function");
  }
  const { domains, listen, tls } = options;
  if (
    !Array.isArray(domains) || domains.length === 0 ||
    !domains.every((d) => typeof d === "string" && /^[^\s@/]+$/.test(d))
  ) {
    throw new TypeError("domains must be a non-empty list of domain names");
  }
  if (!Array.isArray(listen) || listen.length === 0) {
    throw new TypeError(
      'listen must list at least one endpoint, such as { transport: "starttls", port: 5222 }',
    );
  }
  for (const spec of listen) {
    if (spec === null || typeof spec !== "object") {
      throw new TypeError("each listen entry must be { transport, port }");
    }
    if (
      spec.transport !== "starttls" && spec.transport !== "directtls" &&
      spec.transport !== "quic"
    ) {
      throw new TypeError(
        `unknown transport ${
          JSON.stringify(spec.transport)
        }: use "starttls", ` +
          `"directtls" or "quic"`,
      );
    }
    if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65535) {
      throw new RangeError(
        `port must be an integer from 0 to 65535, got ${spec.port}`,
      );
    }
  }
  if (tls === null || typeof tls !== "object") {
    throw new TypeError("tls must be an object with certificates");
  }
  acceptSettings(tls); // bad certificates fail now, not per connection
  const { certificates } = tls;
  if (
    typeof certificates !== "function" && tls.unknownServerName !== "default"
  ) {
    const names = new Set(
      Object.keys(certificates).map((n) => normalizeServerName(n)),
    );
    const missing = domains.filter((d) =>
      !names.has(normalizeServerName(d.toLowerCase()))
    );
    if (missing.length > 0) {
      throw new TypeError(
        `no certificate for ${
          missing.join(", ")
        }: add it to tls.certificates, ` +
          `or set tls.unknownServerName: "default" with a defaultCertificate`,
      );
    }
  }
  if (
    options.resourceConflict !== undefined &&
    !["replace", "refuse", "rename"].includes(options.resourceConflict)
  ) {
    throw new TypeError(
      `resourceConflict must be "replace", "refuse" or "rename", got ${
        JSON.stringify(options.resourceConflict)
      }`,
    );
  }
  if (
    options.store !== undefined &&
    (options.store === null || typeof options.store.scram !== "function")
  ) {
    throw new TypeError("store must be a CredentialStore (with scram())");
  }
}

/**
 * Listen on the given endpoints and hand every negotiated, authenticated
 * and bound client stream to `handler`.
 *
 * @example A server and one client over STARTTLS, on loopback
 * ```ts
 * import { serve } from "./serve.ts";
 * import { fromConn } from "../stream/conn_duplex.ts";
 * import { XmlStream } from "../stream/xml_stream.ts";
 * import { negotiateClient } from "../stream/negotiate.ts";
 * import { startTlsClient } from "../starttls/negotiator.ts";
 * import { tlsConnect } from "../tls/client.ts";
 * import { bindClient, saslClient } from "../sasl/stream_features.ts";
 * import { MemoryCredentialStore } from "../sasl/credentials.ts";
 *
 * const dir = new URL("../tests/testdata/", import.meta.url);
 * const read = (f: string) => Deno.readTextFile(new URL(f, dir));
 * const ca = await read("ca.pem");
 * const store = new MemoryCredentialStore({ iterations: 4096 });
 * await store.setPassword("alice", "secret");
 * const server = serve({
 *   domains: ["localhost"],
 *   listen: [{ transport: "starttls", hostname: "127.0.0.1", port: 0 }],
 *   tls: { certificates: { localhost: { cert: await read("localhost.pem"), key: await read("localhost.key") } } },
 *   store,
 * }, async (session) => {
 *   console.log(`server: ${session.jid} over ${session.info.tlsVersion}`);
 *   for await (const stanza of session.stream) console.log(stanza.name);
 * });
 *
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
 * const xs = await XmlStream.open(fromConn(conn), { to: "localhost" });
 * const { stream, state } = await negotiateClient(xs, {
 *   features: [
 *     startTlsClient({ upgrade: (raw) => tlsConnect(raw, { serverName: "localhost", ca, systemCa: false, alpn: null }) }),
 *     saslClient({ username: "alice", password: "secret" }),
 *     bindClient({ resource: "laptop" }),
 *   ],
 *   require: ["secure", "authenticated", "bound"],
 * });
 * console.log(state.jid); // "alice@localhost/laptop"
 * await stream.close();
 * await server.close();
 * ```
 *
 * @param options Domains, endpoints, TLS, credentials, limits, timeouts.
 * @param handler Called once per session; the stream is closed when it
 *   returns or throws.
 * @returns The running server.
 * @throws {TypeError} For invalid options (no domains or endpoints, an
 *   unknown transport, a certificate that does not match its key, a domain
 *   without a certificate).
 * @throws {RangeError} For out-of-range ports, limits or timeouts.
 * @throws {Deno.errors.AddrInUse} If a port is taken (nothing is left
 *   listening then).
 */
export function serve<
  S extends CredentialStore = MemoryCredentialStore,
>(options: ServeOptions<S>, handler: SessionHandler): Server<S> {
  checkOptions(options, handler);
  return new ServerImpl(options, handler);
}
