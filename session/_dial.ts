/**
 * Private to `connect.ts`: one race attempt, from the TCP connect to the
 * secure `<stream:features/>`, for each transport.
 *
 * - Direct TLS (XEP-0368): TCP to the address (no-delay), the TLS handshake
 *   at once (SNI = the JID domain, ALPN offered), then the stream header and
 *   the features. The same steps as `dialDirectTls()` in `tls/`, done here
 *   in two calls so the timeline can tell the TCP connect from the
 *   handshake.
 * - STARTTLS (RFC 6120 §5): TCP, the stream header, the plaintext features,
 *   `startTlsClient()` (which refuses `<failure/>` and a response injected
 *   after `<proceed/>`), the TLS handshake (SNI = the JID domain, no ALPN),
 *   the new stream header and the secure features. A server that does not
 *   offer STARTTLS gets a `policy-violation` stream error: nothing else is
 *   ever sent in plaintext.
 *
 * Every step is recorded on the attempt's own list of timeline entries,
 * whether the attempt wins or not. On any failure or abort, whatever was
 * opened is closed before the error is thrown.
 *
 * @module
 */

import { dialQuic } from "../quic/dial.ts";
import type { Attempt } from "../srv/race.ts";
import { fromConn } from "../stream/conn_duplex.ts";
import type { Duplex } from "../stream/duplex.ts";
import type { Element } from "../stream/element.ts";
import { StreamError } from "../stream/stream_error.ts";
import type { ParserLimits } from "../stream/parser.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { TLS_NS } from "../starttls/feature.ts";
import { startTlsClient } from "../starttls/negotiator.ts";
import { tlsConnect } from "../tls/client.ts";
import type { Timeline, TimelineEntry, TimelineStep } from "./timeline.ts";

/** TCP read size for Direct TLS: as `dialDirectTls()` (bench/tls.ts). */
const DIRECT_TLS_READ_SIZE = 65536;

/** What every attempt needs to know. */
export interface _DialSettings {
  /** The JID domain (A-label): `to`, SNI and the certificate name. */
  domain: string;
  /** The stream namespace: `jabber:client` or `jabber:server`. */
  ns: string;
  /** `from` for the stream header (s2s). */
  from?: string;
  /** The clock every step is measured on. */
  timeline: Timeline;
  /** Extra trust anchors. */
  ca?: string | readonly string[];
  /** Whether to add the OS store. */
  systemCa?: boolean;
  /** SPKI pins (else the candidate's). */
  pins?: readonly string[];
  /** Refuse a Direct TLS server that selects no ALPN protocol. */
  requireAlpn?: boolean;
  /** Parser limits. */
  limits?: ParserLimits;
  /** Milliseconds for one TLS handshake. */
  tlsTimeout: number;
}

/** A secured stream: what a winning attempt hands over. */
export interface _Secured {
  /** The stream over TLS, its secure features read. */
  stream: XmlStream;
  /** The secure `<stream:features/>`. */
  features: Element;
  /** The steps of this attempt. */
  steps: TimelineEntry[];
  /** Close the stream (a loser that finished after the race was decided). */
  close(): Promise<void>;
}

/** Records one attempt's steps on the shared clock. */
class _Steps {
  readonly #list: TimelineEntry[];
  readonly #timeline: Timeline;
  constructor(timeline: Timeline, list: TimelineEntry[]) {
    this.#timeline = timeline;
    this.#list = list;
  }
  begin(step: TimelineStep): (detail?: string) => void {
    const start = this.#timeline.now();
    return (detail) => {
      const e: TimelineEntry = { step, start, end: this.#timeline.now() };
      if (detail !== undefined) e.detail = detail;
      this.#list.push(e);
    };
  }
}

/**
 * Dial one attempt and secure it.
 *
 * @param attempt The candidate and address, from `race()`.
 * @param signal The attempt's signal (race timeout, another winner, the
 * caller's abort).
 * @param settings Domain, trust, limits and the clock.
 * @param steps Where the attempt's steps go (kept by the caller, so a
 * failed attempt's progress is reported too).
 * @returns The secured stream.
 */
export async function _dialSecure(
  attempt: Attempt,
  signal: AbortSignal,
  settings: _DialSettings,
  steps: TimelineEntry[],
): Promise<_Secured> {
  const { candidate, address } = attempt;
  const rec = new _Steps(settings.timeline, steps);
  signal.throwIfAborted();
  if (candidate.transport === "quic") {
    // XEP-0467: QUIC's handshake is TLS 1.3 with SNI = the JID domain and
    // the candidate's ALPN, required; the stream is secure from its first
    // byte, so there is no STARTTLS.
    const endQuic = rec.begin("tls");
    const duplex = await dialQuic(candidate, {
      address: address.ip,
      ca: settings.ca,
      systemCa: settings.systemCa,
      timeout: settings.tlsTimeout,
      signal,
    });
    endQuic(
      `QUIC, ${duplex.info.tlsVersion ?? "TLSv1.3"}, ALPN ${duplex.info.alpn}`,
    );
    try {
      const endOpen = rec.begin("stream-open");
      const stream = await XmlStream.open(duplex, {
        ns: settings.ns,
        to: settings.domain,
        from: settings.from,
        limits: settings.limits,
        signal,
      });
      endOpen("secure");
      const endFeatures = rec.begin("features");
      const f = await stream.readFeatures({ signal });
      endFeatures(f.elements.map((e) => e.name).join(" "));
      return secured(stream, f, steps);
    } catch (e) {
      duplex.close();
      throw e;
    }
  }
  if (
    candidate.transport !== "directtls" && candidate.transport !== "starttls"
  ) {
    throw new TypeError(`cannot dial a ${candidate.transport} candidate here`);
  }
  const endTcp = rec.begin("tcp");
  const conn = await Deno.connect({
    hostname: address.ip,
    port: candidate.port,
    transport: "tcp",
    signal,
  });
  conn.setNoDelay(true);
  endTcp(`${address.ip}:${candidate.port}`);
  const trust = {
    ca: settings.ca,
    systemCa: settings.systemCa,
    pins: settings.pins ?? candidate.pins ?? [],
    timeout: settings.tlsTimeout,
    signal,
  };
  let current: { stream?: XmlStream; duplex: Duplex };
  const plain = fromConn(conn, {
    noDelay: true,
    readSize: candidate.transport === "directtls"
      ? DIRECT_TLS_READ_SIZE
      : undefined,
  });
  current = { duplex: plain };
  try {
    const open = async (duplex: Duplex) => {
      const end = rec.begin("stream-open");
      const stream = await XmlStream.open(duplex, {
        ns: settings.ns,
        to: settings.domain,
        from: settings.from,
        limits: settings.limits,
        signal,
      });
      current = { stream, duplex };
      end(duplex.info.secure ? "secure" : "plaintext");
      return stream;
    };
    const features = async (stream: XmlStream) => {
      const end = rec.begin("features");
      const f = await stream.readFeatures({ signal });
      end(f.elements.map((e) => e.name).join(" "));
      return f;
    };
    const handshake = async (raw: Duplex, alpn: string | null) => {
      const end = rec.begin("tls");
      const secure = await tlsConnect(raw, {
        ...trust,
        serverName: settings.domain,
        alpn,
        requireAlpn: alpn === null ? false : settings.requireAlpn,
      });
      current = { duplex: secure };
      const i = secure.info;
      end(
        [i.tlsVersion, i.cipher, i.alpn ? `ALPN ${i.alpn}` : "no ALPN"]
          .filter(Boolean).join(", "),
      );
      return secure;
    };

    if (candidate.transport === "directtls") {
      const secure = await handshake(plain, candidate.alpn);
      const stream = await open(secure);
      const f = await features(stream);
      return secured(stream, f, steps);
    }

    // STARTTLS
    const stream = await open(plain);
    const offer = await features(stream);
    const starttls = offer.getChild("starttls", TLS_NS);
    if (starttls === undefined) {
      const text =
        `${candidate.host}:${candidate.port} offers no STARTTLS for ${settings.domain}, ` +
        "so the stream cannot be secured; nothing was sent in plaintext and the " +
        "connection was closed. Ask the server's operator to enable TLS, or " +
        "connect to a Direct TLS endpoint";
      await stream.sendError("policy-violation", {
        text: "STARTTLS is required by this client",
      }).catch(() => {});
      throw new StreamError("policy-violation", text);
    }
    let endStartTls: ((detail?: string) => void) | undefined = rec.begin(
      "starttls",
    );
    const feature = startTlsClient({
      upgrade: (raw) => {
        endStartTls?.("<proceed/>");
        endStartTls = undefined;
        return handshake(raw, null);
      },
    });
    const result = await feature.negotiate!({
      stream,
      state: { secure: false, authenticated: false, bound: false },
      signal,
      features: offer,
    }, starttls);
    // restart() opened the new stream: record its header as received now.
    const tlsEnd = steps.findLast((e) => e.step === "tls")?.end ??
      settings.timeline.now();
    steps.push({
      step: "stream-open",
      start: tlsEnd,
      end: settings.timeline.now(),
      detail: "secure",
    });
    current = { stream: result.stream, duplex: result.stream.duplex };
    if (!result.stream.info.secure) {
      throw new StreamError(
        "policy-violation",
        "STARTTLS finished without a secure transport; refusing to continue",
      );
    }
    const f = result.features ?? await features(result.stream);
    return secured(result.stream, f, steps);
  } catch (e) {
    current.duplex.close();
    if (current.duplex !== plain) plain.close();
    throw e;
  }
}

function secured(
  stream: XmlStream,
  features: Element,
  steps: TimelineEntry[],
): _Secured {
  return {
    stream,
    features,
    steps,
    close: () => stream.close({ timeout: 0 }).catch(() => {}),
  };
}
