/**
 * `connect()`: from a JID (or a domain) to a secure, optionally
 * authenticated XML stream, composing the toolkit's layers:
 *
 * 1. **Discovery** (`srv/discover.ts`): both SRV services at once, one
 *    RFC 2782 order across STARTTLS and Direct TLS (XEP-0368), the RFC 6120
 *    fallback; host-meta when a source is given. Candidates whose transport
 *    is not allowed (`transports`) or cannot be dialled (QUIC without
 *    `--unstable-net`) are left out and listed in the report with the
 *    reason. QUIC candidates come from host-meta, or from `quic: true`
 *    (XEP-0467's UDP 443, tried after every SRV candidate).
 * 2. **Racing** (`srv/race.ts`, RFC 8305): every attempt performs the whole
 *    secure handshake of its transport, so the first attempt to hold a
 *    secure stream with its features wins and the others are aborted and
 *    closed:
 *    - Direct TLS: TCP to the address, TLS at once (SNI = the JID domain,
 *      ALPN `xmpp-client`/`xmpp-server`), the stream header, the features;
 *    - STARTTLS: TCP, the stream header, the features, `<starttls/>`,
 *      `<proceed/>`, TLS (SNI = the JID domain), the new stream header, the
 *      secure features. A server that offers no STARTTLS gets a
 *      `policy-violation` stream error; `<failure/>` and data injected after
 *      `<proceed/>` fail the attempt.
 *
 *    The certificate is always checked against the JID domain, never the SRV
 *    target or the address (`tls/`).
 * 3. **Login** (with `password`): SASL (`sasl/`: SCRAM-SHA-256, SCRAM-SHA-1,
 *    PLAIN; only on the secure stream) and resource binding, continuing the
 *    winner's negotiation with `saslClient()` and `bindClient()`.
 *
 * There is no way to continue without TLS: no option turns it off, and
 * credentials are only ever sent over the secured stream.
 *
 * The result holds the stream and, in `info`, the winning candidate, a
 * {@linkcode Timeline} of every step (DNS, address resolution, TCP, TLS,
 * STARTTLS, stream open, features, auth, bind) and the race report: why
 * each other candidate lost.
 *
 * @example Log in (not run: needs a server)
 * ```ts
 * import { connect } from "./connect.ts";
 * import { formatTimeline } from "./timeline.ts";
 *
 * export async function login() {
 *   await using conn = await connect("alice@example.org", {
 *     password: "secret",
 *     signal: AbortSignal.timeout(20_000),
 *   });
 *   console.log(conn.jid, conn.info.candidate.transport);
 *   console.log(formatTimeline(conn.info.timeline));
 * }
 * ```
 *
 * @module
 */

import { quicSupported } from "../quic/support.ts";
import type { Candidate, CandidateTransport } from "../srv/candidate.ts";
import {
  discover,
  type Discovery,
  type HostMetaSource,
} from "../srv/discover.ts";
import { dnsResolver } from "../srv/dns_resolver.ts";
import type { TargetAddress } from "../srv/addresses.ts";
import {
  type Attempt,
  type AttemptReport,
  race,
  RaceError,
  type ResolutionReport,
} from "../srv/race.ts";
import type { Resolver } from "../srv/resolver.ts";
import type { StreamKind } from "../srv/services.ts";
import type { Element } from "../stream/element.ts";
import type { SessionState, StreamFeature } from "../stream/feature.ts";
import { CLIENT_NS } from "../stream/header.ts";
import { negotiateClient } from "../stream/negotiate.ts";
import type { ParserLimits } from "../stream/parser.ts";
import { StreamError } from "../stream/stream_error.ts";
import type { XmlStream } from "../stream/xml_stream.ts";
import type { ScramCache } from "../sasl/scram_cache.ts";
import { bindClient, saslClient } from "../sasl/stream_features.ts";
import { TlsError } from "../tls/tls_error.ts";
import { _dialSecure, type _Secured } from "./_dial.ts";
import { _withFeatures } from "./_prefetched.ts";
import { Timeline, type TimelineEntry, type TimelineStep } from "./timeline.ts";

/** The s2s stream namespace. */
const SERVER_NS = "jabber:server";
/** The transports `connect()` can dial today. */
const DIALABLE: readonly CandidateTransport[] = quicSupported()
  ? ["directtls", "starttls", "quic"]
  : ["directtls", "starttls"];

/**
 * Options for {@linkcode connect}.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "./connect.ts";
 * const options: ConnectOptions = {
 *   password: "secret",
 *   nameServer: { ipAddr: "127.0.0.1", port: 5353 },
 *   transports: ["directtls"],
 * };
 * console.log(options.timeout ?? 30_000); // 30000
 * ```
 */
export interface ConnectOptions {
  /**
   * The password: when given, `connect()` logs in (SASL) and binds a
   * resource. Without it the stream is returned secured, before SASL.
   *
   * @default {undefined}
   */
  password?: string;
  /**
   * The resource to ask for when binding. Default: the JID's resourcepart,
   * else the server picks one.
   *
   * @default {undefined}
   */
  resource?: string;
  /**
   * SASL mechanisms allowed, in order of preference.
   *
   * @default {DEFAULT_CLIENT_MECHANISMS from sasl/negotiate.ts}
   */
  mechanisms?: readonly string[];
  /**
   * A SCRAM key cache shared across logins (skips the PBKDF2 work when the
   * server's salt and iteration count are unchanged).
   *
   * @default {undefined}
   */
  scramCache?: ScramCache;
  /**
   * `"client"` (c2s) or `"server"` (s2s: `_xmpp-server` SRV records, the
   * `jabber:server` namespace, ALPN `xmpp-server`; no login).
   *
   * @default {"client"}
   */
  kind?: StreamKind;
  /**
   * `from` of the stream header: this server's domain, for s2s.
   *
   * @default {undefined}
   */
  from?: string;
  /**
   * The resolver for the SRV and A/AAAA lookups.
   *
   * @default {dnsResolver({ nameServer })}
   */
  resolver?: Resolver;
  /**
   * The name server to ask, when no `resolver` is given. Default: the
   * system's.
   *
   * @default {undefined}
   */
  nameServer?: { ipAddr: string; port?: number };
  /**
   * Also ask host-meta (XEP-0487, XEP-0156) through this source.
   *
   * @default {undefined}
   */
  hostMeta?: HostMetaSource;
  /**
   * Seed of the RFC 2782 weighted draw, for a reproducible order.
   *
   * @default {undefined}
   */
  seed?: number;
  /**
   * The transports allowed; candidates of the others are left out (and
   * listed in the report). `["directtls"]` forces Direct TLS.
   *
   * @default {["directtls", "starttls"]}
   */
  transports?: readonly CandidateTransport[];
  /**
   * Also try XMPP over QUIC at the domain's UDP port 443 (XEP-0467) when
   * discovery found no QUIC endpoint; it goes after every SRV candidate.
   * Needs `--unstable-net`.
   *
   * @default {false}
   */
  quic?: boolean;
  /**
   * Extra trust anchors (PEM), in addition to the system roots.
   *
   * @default {[]}
   */
  ca?: string | readonly string[];
  /**
   * Also trust the operating system's store (needs `--allow-sys`); see
   * `TrustOptions` in `tls/policy.ts`.
   *
   * @default {true}
   */
  systemCa?: boolean;
  /**
   * Base64 SHA-256 SPKI pins: the server's chain must have one of them, on
   * top of every other check. Default: the candidate's (host-meta), if any.
   *
   * @default {undefined}
   */
  pins?: readonly string[];
  /**
   * Refuse a Direct TLS server that selects no ALPN protocol.
   *
   * @default {false}
   */
  requireAlpn?: boolean;
  /**
   * Milliseconds an attempt runs before the next one starts beside it
   * (RFC 8305; at least 10).
   *
   * @default {250}
   */
  attemptDelay?: number;
  /**
   * Milliseconds one attempt (TCP, TLS, STARTTLS, features) may take.
   *
   * @default {10000}
   */
  attemptTimeout?: number;
  /**
   * Milliseconds the whole `connect()` may take: discovery, racing, login.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * Aborting it stops `connect()` (it rejects with the signal's reason) and
   * closes everything it opened.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * XML parser limits for the stream.
   *
   * @default {the parser's defaults}
   */
  limits?: ParserLimits;
}

/**
 * A candidate that was not dialled, and why.
 *
 * @example
 * ```ts
 * import type { SkippedCandidate } from "./connect.ts";
 * export function show(s: SkippedCandidate): string {
 *   return `${s.candidate.transport} ${s.candidate.host}:${s.candidate.port}: ${s.reason}`;
 * }
 * ```
 */
export interface SkippedCandidate {
  /** The candidate. */
  candidate: Candidate;
  /** Why it was left out. */
  reason: string;
}

/**
 * One attempt of the race, with how far it got and why it lost.
 *
 * @example
 * ```ts
 * import type { AttemptSummary } from "./connect.ts";
 * export function show(a: AttemptSummary): string {
 *   return `${a.candidate.transport} ${a.address?.ip ?? a.candidate.host}: ${a.outcome} (${a.reason})`;
 * }
 * ```
 */
export interface AttemptSummary extends AttemptReport {
  /** The steps it completed, on the connection's timeline. */
  steps: TimelineEntry[];
  /** In words: `won`, the error, or why it was stopped or never started. */
  reason: string;
}

/**
 * How the candidates were found and how the race went.
 *
 * @example
 * ```ts
 * import type { ConnectReport } from "./connect.ts";
 * export function losers(report: ConnectReport): string[] {
 *   return report.attempts.filter((a) => a.outcome !== "won").map((a) => a.reason);
 * }
 * ```
 */
export interface ConnectReport {
  /** The discovery result: SRV lookups, skipped records, candidates. */
  discovery: Discovery;
  /** Candidates not dialled (transport not allowed, no QUIC dialer). */
  skipped: SkippedCandidate[];
  /** Every attempt, the winner included, in start order, then the unstarted. */
  attempts: AttemptSummary[];
  /** The A/AAAA resolutions of the candidates, with their times. */
  resolutions: readonly ResolutionReport[];
}

/**
 * What {@linkcode connect} found out on the way.
 *
 * @example
 * ```ts
 * import type { ConnectInfo } from "./connect.ts";
 * import { formatTimeline } from "./timeline.ts";
 * export function show(info: ConnectInfo): string {
 *   return `${info.candidate.transport} ${info.address.ip}:${info.candidate.port}\n` +
 *     formatTimeline(info.timeline);
 * }
 * ```
 */
export interface ConnectInfo {
  /** The JID domain as an A-label (SNI and certificate name). */
  domain: string;
  /** `"client"` or `"server"`. */
  kind: StreamKind;
  /** The winning candidate. */
  candidate: Candidate;
  /** The address the winner connected to. */
  address: TargetAddress;
  /** When each step happened, ms since `connect()` was called. */
  timeline: Timeline;
  /** Discovery and the race, with the losers' reasons. */
  report: ConnectReport;
}

/**
 * A secure XML stream returned by {@linkcode connect}.
 *
 * @example
 * ```ts
 * import type { Connection } from "./connect.ts";
 * export async function hello(conn: Connection) {
 *   console.log(conn.state.secure, conn.jid, conn.stream.info.tlsVersion);
 *   await conn.close();
 * }
 * ```
 */
export interface Connection extends AsyncDisposable {
  /** The stream: secured, and logged in and bound when a password was given. */
  readonly stream: XmlStream;
  /** The last `<stream:features/>` received. */
  readonly features: Element;
  /** What was negotiated (`secure`, `authenticated`, `bound`, `jid`). */
  readonly state: SessionState;
  /** The full JID after binding. */
  readonly jid: string | undefined;
  /** The winning candidate, the timeline and the race report. */
  readonly info: ConnectInfo;
  /**
   * Close the stream (`</stream:stream>`, then the connection).
   *
   * @param options `timeout`: ms to wait for the server's closing tag.
   */
  close(options?: { timeout?: number }): Promise<void>;
}

/** The parts of a JID (no stringprep: the server checks). */
function _splitJid(jid: string): { local?: string; resource?: string } {
  const slash = jid.indexOf("/");
  const bare = slash === -1 ? jid : jid.slice(0, slash);
  const resource = slash === -1 ? undefined : jid.slice(slash + 1);
  const at = bare.indexOf("@");
  const local = at === -1 ? undefined : bare.slice(0, at);
  return { local: local || undefined, resource: resource || undefined };
}

function _errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Whether a failure is a refusal that says it all (no network noise). */
function _isRefusal(e: unknown): boolean {
  if (e instanceof TlsError) {
    return e.code !== "handshake-timeout" && e.code !== "handshake-failed";
  }
  return e instanceof StreamError && e.condition !== "connection-timeout";
}

function _refusalKey(e: unknown): string {
  if (e instanceof TlsError) return `tls:${e.code}`;
  if (e instanceof StreamError) return `stream:${e.condition}`;
  return "";
}

function _check(options: ConnectOptions, jid: { local?: string }): void {
  const positive = (v: unknown, name: string) => {
    if (v !== undefined && !(typeof v === "number" && v > 0)) {
      throw new RangeError(
        `options.${name} must be a positive number of milliseconds, got ${
          String(v)
        }`,
      );
    }
  };
  positive(options.timeout, "timeout");
  positive(options.attemptTimeout, "attemptTimeout");
  const kind = options.kind ?? "client";
  if (kind !== "client" && kind !== "server") {
    throw new TypeError(
      `options.kind must be "client" or "server", got ${String(kind)}`,
    );
  }
  if (options.password !== undefined) {
    if (typeof options.password !== "string" || options.password === "") {
      throw new TypeError("options.password must be a non-empty string");
    }
    if (kind === "server") {
      throw new TypeError(
        "login (options.password) is for client streams; server-to-server " +
          "authentication is not part of connect() yet: leave out the password",
      );
    }
    if (jid.local === undefined) {
      throw new TypeError(
        'a login needs a JID with a user name, such as "alice@example.org", ' +
          "not a bare domain",
      );
    }
  }
  if (options.resource !== undefined && typeof options.resource !== "string") {
    throw new TypeError("options.resource must be a string");
  }
  if (options.resolver !== undefined && options.nameServer !== undefined) {
    throw new TypeError(
      "give options.resolver or options.nameServer, not both " +
        "(a resolver already knows its name server)",
    );
  }
  if (options.transports !== undefined) {
    if (
      !Array.isArray(options.transports) || options.transports.length === 0 ||
      options.transports.some((t) =>
        !["directtls", "starttls", "quic"].includes(t)
      )
    ) {
      throw new TypeError(
        'options.transports must be a non-empty list of "directtls", ' +
          `"starttls" and "quic", got ${JSON.stringify(options.transports)}`,
      );
    }
  }
}

/** Close a stream politely, then for sure. */
async function _closeStream(stream: XmlStream, timeout: number): Promise<void> {
  try {
    await stream.close({ timeout });
  } catch { /* already failed */ }
  stream.duplex.close();
}

/**
 * Connect to the XMPP service of a JID's domain: discover, race the
 * candidates to a secure stream, and log in when a password is given.
 *
 * @example Against a local test server, found through an in-memory zone (not run)
 * ```ts
 * import { connect } from "./connect.ts";
 * import { memoryResolver } from "../srv/memory_resolver.ts";
 *
 * export async function local(port: number, ca: string) {
 *   const resolver = memoryResolver({
 *     "_xmpps-client._tcp.example.test": {
 *       srv: [{ priority: 0, weight: 0, port, target: "xmpp.example.test" }],
 *     },
 *     "xmpp.example.test": { a: ["127.0.0.1"] },
 *   });
 *   const conn = await connect("alice@example.test", { password: "secret", resolver, ca });
 *   for (const a of conn.info.report.attempts) console.log(a.outcome, a.reason);
 *   await conn.close();
 * }
 * ```
 *
 * @param jidOrDomain A JID (`alice@example.org`, `alice@example.org/phone`)
 * or a domain (`example.org`).
 * @param options Password, resolver, trust, transports, timing; see
 * {@linkcode ConnectOptions}.
 * @returns The connection: its stream, state, features and how it was made.
 * @throws {DiscoveryError} When discovery finds nothing to connect to.
 * @throws {TlsError} When every attempt was refused for the same TLS reason
 * (such as a certificate not valid for the domain).
 * @throws {StreamError} When every attempt was refused for the same stream
 * reason (no STARTTLS offered: `policy-violation`; `<failure/>`; a response
 * injection), or the login's stream failed.
 * @throws {RaceError} When the attempts failed for other or differing
 * reasons; its `attempts` say why each failed.
 * @throws {SaslError} When the login is refused (such as a wrong password).
 * @throws {TypeError} For a malformed JID or options (a password without a
 * user name, a password for s2s, both `resolver` and `nameServer`).
 * @throws {RangeError} For timeouts that are not positive, or when
 * `transports` leaves no candidate to dial.
 */
export async function connect(
  jidOrDomain: string,
  options: ConnectOptions = {},
): Promise<Connection> {
  const timeline = new Timeline();
  if (typeof jidOrDomain !== "string") {
    throw new TypeError(
      `connect() needs a JID or a domain string, got ${typeof jidOrDomain}`,
    );
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object");
  }
  const jid = _splitJid(jidOrDomain);
  _check(options, jid);
  const kind = options.kind ?? "client";
  const timeout = options.timeout ?? 30_000;
  const attemptTimeout = options.attemptTimeout ?? 10_000;
  const allowed = options.transports ?? DIALABLE;
  options.signal?.throwIfAborted();

  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new DOMException(
        `connect() to ${jidOrDomain} took longer than ${timeout} ms ` +
          "(options.timeout): check that the server answers, or raise the timeout",
        "TimeoutError",
      ),
    );
  }, timeout);
  const signal = controller.signal;
  const dials = new Set<Promise<_Secured | undefined>>();
  let winner: _Secured | undefined;
  try {
    const resolver = options.resolver ??
      dnsResolver(options.nameServer ? { nameServer: options.nameServer } : {});

    // 1. Discovery.
    const endDns = timeline.begin("dns");
    const discovery = await discover(jidOrDomain, {
      kind,
      resolver,
      quic: options.quic,
      hostMeta: options.hostMeta,
      seed: options.seed,
      signal,
    });
    const { starttls, directTls } = discovery.lookups;
    endDns(
      `${starttls.service} ${starttls.status}, ${directTls.service} ${directTls.status}`,
    );
    const domain = discovery.domain;

    const skipped: SkippedCandidate[] = [];
    const candidates = discovery.candidates.filter((c) => {
      if (!DIALABLE.includes(c.transport)) {
        skipped.push({
          candidate: c,
          reason: `no ${c.transport} dialer yet: connect() dials ${
            DIALABLE.join(" and ")
          } only`,
        });
        return false;
      }
      if (!allowed.includes(c.transport)) {
        skipped.push({
          candidate: c,
          reason: `transport ${c.transport} not allowed by options.transports`,
        });
        return false;
      }
      return true;
    });
    if (candidates.length === 0) {
      throw new RangeError(
        `nothing to dial for ${domain}: discovery found ${
          discovery.candidates.map((c) => `${c.transport} ${c.host}:${c.port}`)
            .join(", ")
        }, and ${skipped.map((s) => s.reason).join("; ")}. ` +
          "Allow more transports in options.transports",
      );
    }

    // 2. The race: each attempt secures its stream.
    const raceStart = timeline.now();
    const attemptSteps = new Map<string, TimelineEntry[]>();
    const key = (candidateIndex: number, ip: string | undefined) =>
      `${candidateIndex} ${ip}`;
    const settings = {
      domain,
      ns: kind === "server" ? SERVER_NS : CLIENT_NS,
      from: options.from,
      timeline,
      ca: options.ca,
      systemCa: options.systemCa,
      pins: options.pins,
      requireAlpn: options.requireAlpn,
      limits: options.limits,
      tlsTimeout: attemptTimeout,
    };
    const dial = (attempt: Attempt, attemptSignal: AbortSignal) => {
      const steps: TimelineEntry[] = [];
      attemptSteps.set(
        key(attempt.candidateIndex, attempt.address.ip),
        steps,
      );
      const p = _dialSecure(attempt, attemptSignal, settings, steps);
      dials.add(p.catch(() => undefined));
      return p;
    };
    let result;
    try {
      result = await race(candidates, dial, {
        attemptDelay: options.attemptDelay,
        timeout: attemptTimeout,
        signal,
        resolver,
      });
    } catch (e) {
      if (e instanceof RaceError) {
        const failed = e.attempts.filter((a) => a.outcome === "failed");
        const errors = failed.map((a) => a.error);
        if (
          errors.length > 0 && errors.every(_isRefusal) &&
          new Set(errors.map(_refusalKey)).size === 1
        ) {
          throw errors[0];
        }
      }
      throw e;
    }
    winner = result.value;
    for (const step of winner.steps) timeline.add(step);
    const resolution = result.resolutions.find((r) =>
      r.candidateIndex === result.winner.candidateIndex
    );
    if (resolution && resolution.lookups.length > 0) {
      timeline.add({
        step: "resolve",
        start: raceStart + resolution.startedAt,
        end: raceStart + (resolution.readyAt ?? resolution.endedAt),
        detail: resolution.addresses?.map((a) => a.ip).join(" "),
      });
    }
    const attempts: AttemptSummary[] = result.attempts.map((a) => ({
      ...a,
      steps: a.phase === "connect" && a.outcome !== "not-started"
        ? attemptSteps.get(key(a.candidateIndex, a.address?.ip)) ?? []
        : [],
      reason: a.outcome === "won"
        ? "won"
        : a.outcome === "failed"
        ? _errorText(a.error)
        : a.outcome === "aborted"
        ? "stopped: another attempt secured its stream first"
        : "not started: another attempt secured its stream first",
    }));
    const report: ConnectReport = {
      discovery,
      skipped,
      attempts,
      resolutions: result.resolutions,
    };
    const settled = result.settled;

    // 3. Login.
    let stream = winner.stream;
    let features = winner.features;
    let state: SessionState = {
      secure: true,
      authenticated: false,
      bound: false,
    };
    if (options.password !== undefined) {
      const timed = (feature: StreamFeature, step: TimelineStep) => ({
        ...feature,
        negotiate: async (
          ctx: Parameters<NonNullable<StreamFeature["negotiate"]>>[0],
          offered: Element,
        ) => {
          const end = timeline.begin(step);
          const r = await feature.negotiate!(ctx, offered);
          stream = r.stream;
          if (r.features) features = r.features;
          end(
            step === "auth"
              ? `as ${r.state?.identity ?? jid.local}`
              : r.state?.jid,
          );
          return r;
        },
      });
      try {
        const negotiated = await negotiateClient(
          _withFeatures(winner.stream, winner.features),
          {
            features: [
              timed(
                saslClient({
                  username: jid.local,
                  password: options.password,
                  mechanisms: options.mechanisms,
                  cache: options.scramCache,
                }),
                "auth",
              ),
              timed(
                bindClient({ resource: options.resource ?? jid.resource }),
                "bind",
              ),
            ],
            state,
            require: ["secure", "authenticated", "bound"],
            signal,
          },
        );
        stream = negotiated.stream;
        features = negotiated.features ?? features;
        state = negotiated.state;
      } catch (e) {
        await _closeStream(stream, 0);
        await settled;
        throw e;
      }
    }
    await settled;
    const info: ConnectInfo = {
      domain,
      kind,
      candidate: result.winner.candidate,
      address: result.winner.address!,
      timeline,
      report,
    };
    const final = stream;
    const close = (o: { timeout?: number } = {}) => final.close(o);
    return {
      stream: final,
      features,
      state,
      jid: state.jid,
      info,
      close,
      [Symbol.asyncDispose]: () => close(),
    };
  } catch (e) {
    // Everything a dial opened is closed before the error goes out.
    const values = await Promise.all(dials);
    await Promise.all(values.map((v) => v?.close()));
    if (signal.aborted && e !== signal.reason && !(e instanceof RaceError)) {
      throw signal.reason;
    }
    throw e;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
