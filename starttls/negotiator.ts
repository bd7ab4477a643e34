/**
 * STARTTLS (RFC 6120 §5) as a {@linkcode StreamFeature} for each side.
 *
 * The TLS handshake itself is injected (`upgrade`), so the same negotiators
 * run over TCP, an in-memory pair or anything else, with whatever TLS policy
 * the caller built (see `tls/`).
 *
 * Two injection attacks are refused, whatever the peer sends:
 * - **Response injection** (client): bytes that arrive after `<proceed/>` in
 *   the same read were sent in plaintext, so anyone on the path could have
 *   written them. They are never parsed; the connection fails.
 * - **Command injection** (server): bytes the client pipelines after
 *   `<starttls/>`, before the handshake, are never processed; the server
 *   answers `<failure/>` and closes.
 *
 * @module
 */

import type { Duplex } from "../stream/duplex.ts";
import { Element } from "../stream/element.ts";
import type { StreamFeature } from "../stream/feature.ts";
import { StreamError } from "../stream/stream_error.ts";
import { starttlsElement, TLS_NS } from "./feature.ts";

/** Turns the raw transport into a TLS-protected one. */
export type Upgrade = (raw: Duplex, signal?: AbortSignal) => Promise<Duplex>;

/** Options for {@linkcode startTlsClient}. */
export interface StartTlsClientOptions {
  /** The client-side TLS handshake (with the JID domain as SNI and identity). */
  upgrade: Upgrade;
}

/** Options for {@linkcode startTlsServer}. */
export interface StartTlsServerOptions {
  /** The server-side TLS handshake. */
  upgrade: Upgrade;
  /**
   * Offer STARTTLS as mandatory-to-negotiate: clients must secure the stream
   * before anything else.
   *
   * @default {true}
   */
  required?: boolean;
}

/**
 * The initiating entity's STARTTLS feature: send `<starttls/>`, and on
 * `<proceed/>` run the TLS handshake and restart the stream over TLS (the
 * negotiation loop then reads the new features; the plaintext ones are
 * discarded).
 *
 * @example
 * ```ts
 * import { startTlsClient } from "./negotiator.ts";
 * import { negotiateClient } from "../stream/negotiate.ts";
 * import type { Upgrade } from "./negotiator.ts";
 * import type { XmlStream } from "../stream/xml_stream.ts";
 *
 * export async function secure(xs: XmlStream, upgrade: Upgrade) {
 *   const { stream } = await negotiateClient(xs, { features: [startTlsClient({ upgrade })] });
 *   return stream; // over TLS; negotiateClient refuses to end without TLS
 * }
 * ```
 *
 * @param options The TLS handshake to run.
 * @returns The feature.
 */
export function startTlsClient(options: StartTlsClientOptions): StreamFeature {
  if (typeof options?.upgrade !== "function") {
    throw new TypeError("startTlsClient needs an upgrade function");
  }
  return {
    name: "starttls",
    ns: TLS_NS,
    prohibited: ["secure"],
    async negotiate({ stream, signal }) {
      await stream.send(new Element("starttls", TLS_NS));
      const answer = await stream.read({ signal });
      if (answer?.is("failure", TLS_NS)) {
        await stream.close();
        throw new StreamError(
          "undefined-condition",
          "the server refused STARTTLS (<failure/>); it cannot secure this connection, so it was closed",
          { origin: "remote", text: "STARTTLS <failure/>" },
        );
      }
      if (!answer?.is("proceed", TLS_NS)) {
        const what = answer === null
          ? "closed the stream"
          : `sent <${answer.name} xmlns='${answer.ns}'/>`;
        await stream.sendError("bad-format", {
          text: "expected <proceed/> or <failure/>",
        });
        throw new StreamError(
          "bad-format",
          `the server ${what} instead of answering STARTTLS`,
        );
      }
      if (stream.buffered) {
        stream.detach({ buffered: "discard" });
        stream.duplex.close();
        throw new StreamError(
          "policy-violation",
          "data arrived after <proceed/> in plaintext, before TLS (a response injection attempt); it was not parsed and the connection was closed",
        );
      }
      const next = await stream.restart((raw) => options.upgrade(raw, signal));
      return { stream: next, state: { secure: true } };
    },
  };
}

/**
 * The receiving entity's STARTTLS feature: offer
 * `<starttls><required/></starttls>` (by default), and on `<starttls/>`
 * answer `<proceed/>`, run the TLS handshake and accept the new stream. It is
 * not offered again once the stream is secure.
 *
 * @example
 * ```ts
 * import { startTlsServer } from "./negotiator.ts";
 * import { negotiateServer } from "../stream/negotiate.ts";
 * import type { Upgrade } from "./negotiator.ts";
 * import type { XmlStream } from "../stream/xml_stream.ts";
 *
 * export async function serveTls(xs: XmlStream, upgrade: Upgrade) {
 *   return await negotiateServer(xs, { features: [startTlsServer({ upgrade })] });
 * }
 * ```
 *
 * @param options The TLS handshake to run, and whether TLS is required.
 * @returns The feature.
 */
export function startTlsServer(options: StartTlsServerOptions): StreamFeature {
  if (typeof options?.upgrade !== "function") {
    throw new TypeError("startTlsServer needs an upgrade function");
  }
  const required = options.required ?? true;
  return {
    name: "starttls",
    ns: TLS_NS,
    prohibited: ["secure"],
    unnegotiated: "policy-violation",
    list: () => starttlsElement({ required }),
    required: () => required,
    async accept({ stream, signal }) {
      if (stream.buffered) {
        // Plaintext pipelined behind <starttls/>: never processed.
        try {
          await stream.send(new Element("failure", TLS_NS));
        } catch { /* the peer may be gone */ }
        await stream.close({ timeout: 0 }); // read nothing more
        throw new StreamError(
          "policy-violation",
          "the client sent data after <starttls/> before the TLS handshake (a command injection attempt); it was not processed and the connection was closed",
        );
      }
      await stream.send(new Element("proceed", TLS_NS));
      const next = await stream.restart((raw) => options.upgrade(raw, signal));
      return { stream: next, state: { secure: true } };
    },
  };
}
