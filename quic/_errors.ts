/**
 * Turn the errors of Deno's QUIC API (plain `Error`s whose message is
 * quinn's or rustls's text) into `TlsError`s and `QuicError`s with clear
 * messages. Measured with Deno 2.9.6:
 *
 * - ALPN: `the cryptographic handshake failed: error 120: peer doesn't
 *   support any known protocol` (prefixed `aborted by peer: ` on the side
 *   that received the alert; ngtcp2 sends no text after `error 120`);
 * - name: `... error 42: invalid peer certificate: certificate not valid for
 *   name "x"; certificate is only valid for DnsName("y") ...`;
 * - trust: `... error 48: invalid peer certificate: UnknownIssuer`;
 * - a refused connection: `aborted by peer: the server refused to accept a
 *   new connection`;
 * - the handshake idle timeout: `timed out`;
 * - a 0-RTT stream the server did not accept: `ConnectionReset: 0-RTT
 *   rejected`.
 *
 * @module
 */

import { TlsError } from "../tls/tls_error.ts";
import { QuicError } from "./quic_error.ts";

/** Where a failed handshake was going, for the messages. */
export interface _HandshakeContext {
  /** `"client"` (dialing) or `"server"` (accepting). */
  role: "client" | "server";
  /** The JID domain (client) or the SNI name if known (server). */
  serverName?: string;
  /** The peer's address as `host:port`, when known. */
  peer?: string;
  /** The ALPN protocol(s) offered (client) or accepted (server). */
  alpn: readonly string[];
}

/** Whether `e` is Deno's error for a stream whose 0-RTT data was rejected. */
export function _isZeroRttRejected(e: unknown): boolean {
  return e instanceof Error && /0-RTT rejected/i.test(e.message);
}

/** The message of `e`, or its string form. */
function _text(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The error to report for a failed QUIC handshake.
 *
 * @param e The error from `Deno.connectQuic`, `QuicIncoming.accept` or
 *   `QuicConn.handshake`.
 * @param ctx The role, names and addresses for the message.
 * @returns A `TlsError` (or a `QuicError` for a refused connection).
 */
export function _handshakeError(
  e: unknown,
  ctx: _HandshakeContext,
): TlsError | QuicError {
  if (e instanceof TlsError || e instanceof QuicError) return e;
  const msg = _text(e);
  const at = ctx.peer ? ` at ${ctx.peer}` : "";
  const byPeer = /aborted by peer/i.test(msg);
  const name = ctx.serverName;
  const forName = name ? ` (for ${name})` : "";
  const options = { serverName: name, cause: e };
  const alpn = ctx.alpn.map((p) => JSON.stringify(p)).join(", ");
  if (/error 120\b|doesn't support any known protocol/i.test(msg)) {
    if (ctx.role === "client") {
      return new TlsError(
        "alpn-mismatch",
        byPeer
          ? `the QUIC server${at}${forName} refused ALPN ${alpn} ` +
            `(TLS alert 120, no_application_protocol): it does not offer ` +
            `XMPP over QUIC (XEP-0467); an HTTP/3-only server, which offers ` +
            `only "h3", answers like this`
          : `the QUIC server${at}${forName} selected none of ` +
            `the ALPN protocols offered (${alpn}); XEP-0467 requires one`,
        options,
      );
    }
    return new TlsError(
      "alpn-mismatch",
      `the QUIC client${at}${forName} offered none of the ALPN ` +
        `protocols this server accepts (${alpn})`,
      options,
    );
  }
  const sideCert = ctx.role === "client"
    ? `the certificate of the QUIC server${at}`
    : `the client${at} refused this server's certificate:`;
  if (/not valid for name/i.test(msg)) {
    const only = /certificate is only valid for (.*)$/i.exec(msg)?.[1];
    const names = only
      ? ` (it is only valid for ${
        only.replace(/DnsName\("([^"]*)"\)/g, "$1")
          .replace(/IpAddress\(([^)]*)\)/g, "$1")
      })`
      : "";
    return new TlsError(
      "name-mismatch",
      ctx.role === "client"
        ? `${sideCert} is not valid for ${name ?? "the JID domain"}${names}`
        : `${sideCert} it is not valid for the name the client asked for${names}`,
      options,
    );
  }
  if (/expired|notvalidyet|not valid yet/i.test(msg)) {
    return new TlsError(
      "certificate-expired",
      ctx.role === "client"
        ? `${sideCert}${forName} is expired or not yet valid`
        : `${sideCert} it is expired or not yet valid`,
      options,
    );
  }
  if (/invalid peer certificate|UnknownIssuer|BadSignature/i.test(msg)) {
    const why = /invalid peer certificate: (.*)$/i.exec(msg)?.[1] ?? msg;
    return new TlsError(
      "untrusted-certificate",
      ctx.role === "client"
        ? `${sideCert}${forName} is not trusted (${why}): its chain does not ` +
          `lead to a trust anchor; pass the CA with \`ca\` if it is a private one`
        : `${sideCert} it is not trusted (${why})`,
      options,
    );
  }
  if (/refused to accept a new connection/i.test(msg)) {
    return new QuicError(
      "refused",
      `the QUIC server${at}${forName} refused the connection ` +
        `(it is at its connection limit or shutting down)`,
      options,
    );
  }
  if (/timed out/i.test(msg)) {
    return new TlsError(
      "handshake-timeout",
      `no QUIC handshake with ${
        ctx.peer ?? "a client"
      }${forName}: the peer stopped ` +
        `answering (QUIC idle timeout)`,
      options,
    );
  }
  return new TlsError(
    "handshake-failed",
    `the QUIC handshake with ${
      ctx.peer ?? "a client"
    }${forName} failed: ${msg}`,
    options,
  );
}
