/**
 * One `serve()` connection from its first byte to a bound session: accept
 * the stream header, run the receiving entity's negotiation (STARTTLS, SASL,
 * bind, extras) within one deadline, and make sure the result is an
 * authenticated, bound stream. On any failure the client gets the stream
 * error that applies (when it can still be sent) and the connection is
 * closed.
 *
 * The deadline covers everything after the TCP (or, for Direct TLS, TLS)
 * accept: the stream header (`headerTimeout`), each TLS handshake, every
 * read, and the headers after each restart, so a silent or slow client
 * cannot hold a negotiation slot longer than `timeout`.
 *
 * @module
 */

import type { Duplex } from "../stream/duplex.ts";
import type { StreamFeature } from "../stream/feature.ts";
import { type Negotiated, negotiateServer } from "../stream/negotiate.ts";
import type { ParserLimits } from "../stream/parser.ts";
import { StreamError } from "../stream/stream_error.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import type { StreamTracker } from "./_serve_features.ts";

/** How long a stream error may take to be written before the connection is closed anyway. */
const ERROR_WRITE_TIMEOUT = 1000;

/** Options for {@linkcode negotiateConnection}. */
export interface NegotiateConnectionOptions {
  /** The domains served (others get `host-unknown`). */
  domains: string[];
  /** The features for this connection, given its stream tracker. */
  features: (tracker: StreamTracker) => StreamFeature[];
  /** Milliseconds for the whole negotiation. */
  timeout: number;
  /** Milliseconds a stream's `close()` waits for the peer. */
  closeTimeout: number;
  /** Parser limits. */
  limits?: ParserLimits;
  /**
   * The server's signal: aborting it (with a `StreamError` reason, such as
   * `system-shutdown`) ends the negotiation with that error.
   */
  signal: AbortSignal;
}

/** A negotiated session: authenticated and bound. */
export interface NegotiatedSession extends Negotiated {
  /** The full JID bound. */
  jid: string;
  /** The authenticated user name. */
  username: string;
}

/**
 * Send `condition` on `stream` if it can still be sent, waiting at most
 * {@linkcode ERROR_WRITE_TIMEOUT}; the stream is closed either way.
 *
 * @example
 * ```ts
 * import { sendErrorBounded } from "./_serve_connection.ts";
 * import type { XmlStream } from "../stream/xml_stream.ts";
 *
 * export async function shutdown(xs: XmlStream) {
 *   await sendErrorBounded(xs, "system-shutdown", "the server is shutting down");
 * }
 * ```
 *
 * @param stream The stream.
 * @param condition The stream error condition.
 * @param text The text to include.
 */
export async function sendErrorBounded(
  stream: XmlStream,
  condition: StreamError["condition"],
  text?: string,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      stream.sendError(condition, text === undefined ? {} : { text }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ERROR_WRITE_TIMEOUT);
      }),
    ]);
  } catch {
    /* the peer is gone */
  } finally {
    clearTimeout(timer);
    stream.duplex.close();
  }
}

/**
 * Negotiate one connection into an authenticated, bound session.
 *
 * @example
 * ```ts
 * import { negotiateConnection } from "./_serve_connection.ts";
 * import { connectionFeatures } from "./_serve_features.ts";
 * import type { Duplex } from "../stream/duplex.ts";
 * import { MemoryCredentialStore } from "../sasl/credentials.ts";
 *
 * export async function session(duplex: Duplex, store: MemoryCredentialStore) {
 *   const { stream, jid } = await negotiateConnection(duplex, {
 *     domains: ["example.org"],
 *     features: (tracker) =>
 *       connectionFeatures({ sasl: { store }, bind: { conflict: () => "accept" }, extra: [] }, tracker),
 *     timeout: 30_000,
 *     closeTimeout: 5_000,
 *     signal: new AbortController().signal,
 *   });
 *   console.log(`${jid} is online`);
 *   return stream;
 * }
 * ```
 *
 * @param duplex The connection (plain TCP, or TLS for Direct TLS); owned
 *   from now on: closed on failure.
 * @param options Domains, features, deadline, limits, server signal.
 * @returns The negotiated session.
 * @throws {StreamError} The failure (sent to the client where it applies):
 *   `connection-timeout` for the deadline, the server signal's reason on
 *   shutdown, or what the negotiation raised.
 * @throws {Error} Other failures, such as a `TlsError` from a handshake.
 */
export async function negotiateConnection(
  duplex: Duplex,
  options: NegotiateConnectionOptions,
): Promise<NegotiatedSession> {
  const started = performance.now();
  const { timeout } = options;
  // One signal for the whole negotiation: the server's shutdown and, once
  // the header is in, the deadline. Restarted streams inherit it (their
  // header waits end with it, sending its StreamError reason).
  const ctl = new AbortController();
  const onStop = () => ctl.abort(options.signal.reason);
  if (options.signal.aborted) {
    duplex.close();
    throw options.signal.reason;
  }
  options.signal.addEventListener("abort", onStop, { once: true });
  const tracker: StreamTracker = {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // The header wait has its own timeout, which sends connection-timeout.
    const xs = await XmlStream.accept(duplex, {
      domains: options.domains,
      headerTimeout: timeout,
      closeTimeout: options.closeTimeout,
      limits: options.limits,
      signal: ctl.signal,
    });
    tracker.current = xs;
    const left = Math.max(1, timeout - (performance.now() - started));
    timer = setTimeout(() => {
      ctl.abort(
        new StreamError(
          "connection-timeout",
          `stream negotiation (TLS, authentication, resource binding) did not finish within ${timeout} ms`,
        ),
      );
    }, left);
    const result = await negotiateServer(xs, {
      features: options.features(tracker),
      signal: ctl.signal,
    });
    tracker.current = result.stream;
    const { state } = result;
    if (!state.authenticated || !state.bound || !state.jid) {
      // Only possible with optional extras offered before login: never hand
      // out a stream that is not authenticated and bound.
      const text = "authentication and resource binding are required";
      await sendErrorBounded(result.stream, "not-authorized", text);
      throw new StreamError("not-authorized", text);
    }
    return {
      ...result,
      jid: state.jid,
      username: state.identity ?? state.jid.slice(0, state.jid.indexOf("@")),
    };
  } catch (e) {
    const err = ctl.signal.aborted && !(e instanceof StreamError)
      ? ctl.signal.reason
      : e;
    const current = tracker.current;
    if (current !== undefined) {
      // A no-op when the stream is already closed (the error was sent where
      // it arose) or detached (a failed TLS handshake: nothing can be sent).
      if (!(err instanceof StreamError)) {
        await sendErrorBounded(current, "internal-server-error");
      } else if (err.origin === "local") {
        await sendErrorBounded(current, err.condition, err.text);
      }
      current.duplex.close();
    }
    duplex.close();
    throw err;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", onStop);
  }
}
