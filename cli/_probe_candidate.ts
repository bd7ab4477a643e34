/**
 * Probe one connection candidate, step by step, and say how far it got:
 * {@linkcode probeCandidate}.
 *
 * 1. Resolve the host to addresses (with the discovery's resolver).
 * 2. TCP to each address in turn until one connects (no-delay set).
 * 3. STARTTLS candidates: open the stream in plaintext, read the features
 *    (is STARTTLS offered, is it required?), send `<starttls/>`, expect
 *    `<proceed/>` with nothing pipelined after it.
 * 4. The verifying TLS handshake, `tlsConnect` (the one TLS policy), with
 *    SNI = the JID domain and the candidate's ALPN protocol (offered for
 *    STARTTLS too, so the identity check knows c2s from s2s).
 * 5. The identity check, run here again on the certificate the handshake
 *    accepted, to report which identifier matched.
 * 6. The stream over TLS, up to its features (SASL mechanisms), then a
 *    clean close.
 *
 * When the verifying handshake refuses the server, a second connection
 * repeats steps 2–3 and runs an inspecting handshake that accepts any
 * certificate, only to report what the server presents (subject, names,
 * expiry, version, cipher, ALPN), so a wrong certificate shows its names.
 * Such a certificate is never called valid. Everything is bounded by one
 * timeout per candidate, and an AbortSignal.
 *
 * @module
 */

import { resolveAddresses, type TargetAddress } from "../srv/addresses.ts";
import type { Candidate } from "../srv/candidate.ts";
import { dnsResolver } from "../srv/dns_resolver.ts";
import { ResolveError, type Resolver } from "../srv/resolver.ts";
import { fromConn } from "../stream/conn_duplex.ts";
import type { Duplex, PeerCertificate } from "../stream/duplex.ts";
import { Element } from "../stream/element.ts";
import { CLIENT_NS, SERVER_NS } from "../stream/header.ts";
import { StreamError } from "../stream/stream_error.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { starttlsOffer, TLS_NS } from "../starttls/feature.ts";
import { tlsConnect } from "../tls/client.ts";
import {
  matchServerIdentity,
  presentedIdentifiers,
  verifyServerIdentity,
} from "../tls/identity.ts";
import { trustAnchors } from "../tls/policy.ts";
import { TlsError, type TlsErrorCode } from "../tls/tls_error.ts";
import { inspectTls } from "./_probe_inspect.ts";
import type {
  CandidateResult,
  CertificateReport,
  ProbeStep,
} from "./_probe_report.ts";

const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";

/** The default time allowed per candidate, in milliseconds. */
export const DEFAULT_CANDIDATE_TIMEOUT = 10_000;

/** Options for {@linkcode probeCandidate}. */
export interface ProbeCandidateOptions {
  /**
   * The resolver for the host's A and AAAA lookups: the one discovery used.
   *
   * @default {dnsResolver()}
   */
  resolver?: Resolver;
  /**
   * Extra trust anchors (PEM), as `tlsConnect`'s `ca`.
   *
   * @default {[]}
   */
  ca?: readonly string[];
  /**
   * Also trust the OS store, as `tlsConnect`'s `systemCa`.
   *
   * @default {true}
   */
  systemCa?: boolean;
  /**
   * Milliseconds for the whole candidate: resolving, TCP, STARTTLS, TLS and
   * the stream features (the inspecting handshake gets the time left).
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Aborting it rejects with the signal's reason and closes everything.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called as each step starts (for progress output).
   *
   * @default {undefined}
   */
  onStep?: (step: ProbeStep) => void;
  /**
   * The current time in milliseconds since the epoch, for `daysLeft`.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** TLS refusals after which an inspecting handshake shows the certificate. */
const _INSPECT: ReadonlySet<TlsErrorCode> = new Set<TlsErrorCode>([
  "untrusted-certificate",
  "certificate-expired",
  "name-mismatch",
  "pin-mismatch",
  "alpn-mismatch",
  "alpn-missing",
  "cipher-not-allowed",
]);

/**
 * Refusals that `tlsConnect` only makes after the engine verified the
 * chain and the name during the handshake: the certificate was valid.
 */
const _VERIFIED_BEFORE: ReadonlySet<TlsErrorCode> = new Set<TlsErrorCode>([
  "alpn-mismatch",
  "alpn-missing",
  "cipher-not-allowed",
]);

const _STEP_WORDS: Record<ProbeStep, string> = {
  resolve: "resolving the host",
  tcp: "connecting over TCP",
  stream: "waiting for the plaintext stream header and features",
  starttls: "waiting for the answer to <starttls/>",
  tls: "in the TLS handshake",
  features: "waiting for the stream features over TLS",
};

/** A failure this module describes itself. */
class _Failure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "ProbeFailure";
    this.code = code;
  }
}

/** The per-candidate state every step shares. */
interface _Context {
  candidate: Candidate;
  signal: AbortSignal;
  timer: AbortSignal;
  caller: AbortSignal | undefined;
  deadline: number;
  timeout: number;
  ns: string;
  step: ProbeStep;
  onStep: (step: ProbeStep) => void;
  /** Everything to close when the candidate is done. */
  open: Set<{ close(): void }>;
}

function _enter(ctx: _Context, step: ProbeStep): void {
  ctx.signal.throwIfAborted();
  ctx.step = step;
  ctx.onStep(step);
}

function _remaining(ctx: _Context): number {
  return Math.max(1, ctx.deadline - Date.now());
}

function _emptyResult(candidate: Candidate): CandidateResult {
  return {
    ok: false,
    addresses: [],
    address: null,
    tcpMs: null,
    tcpErrors: [],
    starttls: null,
    sni: candidate.serverName,
    tlsVersion: null,
    cipher: null,
    alpn: null,
    tlsMs: null,
    certificate: null,
    certificateValid: null,
    identity: null,
    inspected: false,
    features: [],
    mechanisms: [],
    error: null,
    errorCode: null,
    failedStep: null,
    ms: 0,
  };
}

/** Round to 0.1 ms. */
function _ms(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/**
 * The certificate as the report shows it.
 *
 * @param cert The peer certificate (DER and what the engine said).
 * @param now The current time, for `daysLeft`.
 * @returns The report fields.
 */
export function certificateReport(
  cert: PeerCertificate,
  now: number,
): CertificateReport {
  let ids: ReturnType<typeof presentedIdentifiers> | undefined;
  try {
    ids = presentedIdentifiers(cert.raw);
  } catch { /* unparsable: show what the engine said */ }
  const validTo = cert.validTo ?? null;
  return {
    subject: cert.subject ?? null,
    dnsNames: ids?.dnsNames ?? cert.dnsNames ?? [],
    srvNames: ids?.srvNames ?? [],
    xmppAddrs: ids?.xmppAddrs ?? [],
    validTo: validTo ? validTo.toISOString() : null,
    daysLeft: validTo
      ? Math.floor((validTo.getTime() - now) / 86_400_000)
      : null,
  };
}

/** Connect over TCP to the first address that accepts. */
async function _tcp(
  ctx: _Context,
  addresses: TargetAddress[],
  failures: string[] = [],
): Promise<{ conn: Deno.TcpConn; address: string; ms: number }> {
  for (const { ip } of addresses) {
    const start = performance.now();
    try {
      const conn = await Deno.connect({
        hostname: ip,
        port: ctx.candidate.port,
        transport: "tcp",
        signal: ctx.signal,
      });
      if (ctx.signal.aborted) {
        conn.close();
        ctx.signal.throwIfAborted();
      }
      conn.setNoDelay(true);
      return { conn, address: ip, ms: _ms(start) };
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      failures.push(`${ip}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new _Failure(
    "tcp-failed",
    `TCP connect to port ${ctx.candidate.port} of ${ctx.candidate.host} failed (${
      failures.join("; ")
    })`,
  );
}

/**
 * STARTTLS up to `<proceed/>`: returns the raw duplex where the TLS
 * handshake starts. `offer` receives what the plaintext features offered.
 */
async function _starttls(
  ctx: _Context,
  raw: Duplex,
  offer: (o: "required" | "optional" | "none") => void,
): Promise<Duplex> {
  _enter(ctx, "stream");
  const xs = await XmlStream.open(raw, {
    to: ctx.candidate.serverName,
    ns: ctx.ns,
    signal: ctx.signal,
    // Our signal, not the header timer, ends a silent server.
    headerTimeout: _remaining(ctx) + 1000,
  });
  const features = await xs.readFeatures({ signal: ctx.signal });
  const offered = starttlsOffer(features);
  offer(offered);
  if (offered === "none") {
    throw new _Failure(
      "starttls-not-offered",
      `the server does not offer STARTTLS on ${ctx.candidate.host}:${ctx.candidate.port}: ` +
        `a client must not go on in plaintext, so this candidate cannot be used securely`,
    );
  }
  _enter(ctx, "starttls");
  await xs.send(new Element("starttls", TLS_NS));
  const answer = await xs.read({ signal: ctx.signal });
  if (answer?.is("failure", TLS_NS)) {
    throw new _Failure(
      "starttls-failure",
      "the server answered <starttls/> with <failure/>: it cannot secure this connection",
    );
  }
  if (!answer?.is("proceed", TLS_NS)) {
    throw new _Failure(
      "starttls-unexpected",
      answer === null
        ? "the server closed the stream instead of answering <starttls/>"
        : `the server answered <starttls/> with <${answer.name} xmlns='${answer.ns}'/> instead of <proceed/>`,
    );
  }
  // Throws policy-violation (and closes) if bytes followed <proceed/>.
  return xs.detach();
}

/** Turn any error into the result's error fields. */
function _fail(ctx: _Context, result: CandidateResult, e: unknown): void {
  result.failedStep = ctx.step;
  if (ctx.timer.aborted && !(e instanceof _Failure)) {
    result.errorCode = "timeout";
    result.error = `no answer within ${ctx.timeout} ms (${
      _STEP_WORDS[ctx.step]
    })`;
  } else if (e instanceof _Failure) {
    result.errorCode = e.code;
    result.error = e.message;
  } else if (e instanceof TlsError) {
    result.errorCode = e.code;
    result.error = e.message;
  } else if (e instanceof StreamError) {
    result.errorCode = e.condition;
    result.error = `${
      e.origin === "remote"
        ? "the server sent the stream error"
        : "stream error"
    } ${e.condition}: ${e.message}`;
  } else if (e instanceof ResolveError) {
    result.errorCode = "resolve-failed";
    result.error = e.message;
  } else {
    result.errorCode = "error";
    result.error = `${_STEP_WORDS[ctx.step]}: ${
      e instanceof Error ? e.message : String(e)
    }`;
  }
}

/**
 * Probe one candidate: resolve, TCP, STARTTLS (if it is a STARTTLS
 * candidate), the verifying TLS handshake, the identity check, the stream
 * features over TLS. See the module documentation. Failures are reported in
 * the result, never thrown; only an abort of `options.signal` rejects.
 *
 * @example A candidate nothing listens on
 * ```ts
 * import { probeCandidate } from "./_probe_candidate.ts";
 *
 * const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = free.addr.port;
 * free.close();
 * const result = await probeCandidate({
 *   transport: "directtls",
 *   host: "127.0.0.1",
 *   port,
 *   serverName: "example.org",
 *   alpn: "xmpp-client",
 *   priority: 0,
 *   weight: 0,
 *   source: "srv",
 * }, { timeout: 2000 });
 * console.log(result.ok, result.errorCode, result.failedStep); // false tcp-failed tcp
 * ```
 *
 * @param candidate The candidate, as discovery gave it.
 * @param options Resolver, trust anchors, timeout, signal, progress.
 * @returns How far the candidate got, and what it showed.
 * @throws {unknown} The signal's reason, if `options.signal` aborts.
 * @throws {RangeError} If `timeout` is not a positive number.
 */
export async function probeCandidate(
  candidate: Candidate,
  options: ProbeCandidateOptions = {},
): Promise<CandidateResult> {
  const timeout = options.timeout ?? DEFAULT_CANDIDATE_TIMEOUT;
  if (!(typeof timeout === "number" && timeout > 0 && timeout < 2 ** 31)) {
    throw new RangeError(
      `timeout must be a positive number of milliseconds, got ${
        String(timeout)
      }`,
    );
  }
  const caller = options.signal;
  caller?.throwIfAborted();
  const started = performance.now();
  const result = _emptyResult(candidate);
  const timer = AbortSignal.timeout(timeout);
  const ctx: _Context = {
    candidate,
    signal: caller ? AbortSignal.any([caller, timer]) : timer,
    timer,
    caller,
    deadline: Date.now() + timeout,
    timeout,
    ns: candidate.alpn === "xmpp-server" ? SERVER_NS : CLIENT_NS,
    step: "resolve",
    onStep: options.onStep ?? (() => {}),
    open: new Set(),
  };
  const now = options.now ?? Date.now;
  const ca = [...(options.ca ?? [])];
  const systemCa = options.systemCa ?? true;
  let addresses: TargetAddress[] = [];
  try {
    if (candidate.transport === "quic") {
      throw new _Failure(
        "unsupported-transport",
        "QUIC candidates are not probed",
      );
    }
    _enter(ctx, "resolve");
    addresses = await resolveAddresses(candidate, {
      resolver: options.resolver ?? dnsResolver(),
      timeout: _remaining(ctx) + 1000,
      signal: ctx.signal,
    });
    result.addresses = addresses.map((a) => a.ip);

    _enter(ctx, "tcp");
    const tcp = await _tcp(ctx, addresses, result.tcpErrors);
    result.address = tcp.address;
    result.tcpMs = tcp.ms;
    let raw: Duplex = fromConn(tcp.conn, { noDelay: true });
    ctx.open.add(raw);
    if (candidate.transport === "starttls") {
      raw = await _starttls(ctx, raw, (o) => result.starttls = o);
    }

    _enter(ctx, "tls");
    const tlsStart = performance.now();
    const secure = await tlsConnect(raw, {
      serverName: candidate.serverName,
      alpn: candidate.alpn,
      ca,
      systemCa,
      // Our signal, not the handshake timer, ends a silent server.
      timeout: _remaining(ctx) + 1000,
      signal: ctx.signal,
    });
    ctx.open.add(secure);
    result.tlsMs = _ms(tlsStart);
    const info = secure.info;
    result.tlsVersion = info.tlsVersion ?? null;
    result.cipher = info.cipher ?? null;
    result.alpn = info.alpn ?? null;
    const cert = info.peerCertificate;
    if (cert === undefined) {
      throw new _Failure(
        "identity-mismatch",
        "the TLS engine reported no peer certificate, so its identity cannot be checked",
      );
    }
    result.certificate = certificateReport(cert, now());
    // The identity check again, here, on the certificate that was accepted.
    const match = verifyServerIdentity(cert.raw, candidate.serverName, {
      service: candidate.alpn,
    });
    result.certificateValid = true;
    result.identity = `${match.type} ${match.presented}`;

    _enter(ctx, "features");
    const xs = await XmlStream.open(secure, {
      to: candidate.serverName,
      ns: ctx.ns,
      signal: ctx.signal,
      // Our signal, not the header timer, ends a silent server.
      headerTimeout: _remaining(ctx) + 1000,
    });
    const features = await xs.readFeatures({ signal: ctx.signal });
    result.features = features.elements.map((el) => el.name);
    result.mechanisms = features.getChild("mechanisms", SASL_NS)?.elements
      .filter((el) => el.name === "mechanism")
      .map((el) => el.text.trim()) ?? [];
    result.ok = true;
    await xs.close({ timeout: Math.min(1000, _remaining(ctx)) }).catch(
      () => {},
    );
  } catch (e) {
    if (caller?.aborted) throw caller.reason;
    _fail(ctx, result, e);
    if (e instanceof TlsError && _INSPECT.has(e.code)) {
      result.certificateValid = _VERIFIED_BEFORE.has(e.code);
      if (result.address !== null && !ctx.signal.aborted) {
        await _inspect(ctx, result, { ca, systemCa, now: now() });
      }
    }
  } finally {
    for (const c of ctx.open) c.close();
    result.ms = _ms(started);
  }
  return result;
}

/**
 * The second, inspecting connection: TCP to the address that worked,
 * STARTTLS again if needed, then a handshake that shows the certificate.
 * Its own failures only add a note to the error.
 */
async function _inspect(
  ctx: _Context,
  result: CandidateResult,
  trust: { ca: string[]; systemCa: boolean; now: number },
): Promise<void> {
  const step = ctx.step;
  let raw: Duplex | undefined;
  try {
    const tcp = await _tcp(ctx, [{ ip: result.address!, family: 4 }]);
    raw = fromConn(tcp.conn, { noDelay: true });
    ctx.open.add(raw);
    if (ctx.candidate.transport === "starttls") {
      raw = await _starttls(ctx, raw, () => {});
    }
    const seen = await inspectTls(raw, {
      serverName: ctx.candidate.serverName,
      alpn: ctx.candidate.alpn,
      ca: trustAnchors({ ca: trust.ca, systemCa: trust.systemCa }).ca,
      timeout: _remaining(ctx) + 1000,
      signal: ctx.signal,
    });
    result.inspected = true;
    result.tlsVersion = seen.tlsVersion;
    result.cipher = seen.cipher;
    result.alpn = seen.alpn;
    if (seen.certificate) {
      result.certificate = certificateReport(seen.certificate, trust.now);
      const match = _safeMatch(seen.certificate.raw, ctx);
      if (match !== undefined) {
        result.identity = `${match.type} ${match.presented}`;
      }
      // What the refusal did not already say.
      const also: string[] = [];
      const code = result.errorCode;
      if (
        seen.chainError !== null && code !== "untrusted-certificate" &&
        code !== "certificate-expired"
      ) {
        also.push(`its chain does not verify (${seen.chainError})`);
      }
      if (match === undefined && code !== "name-mismatch") {
        const names = result.certificate.dnsNames.join(", ") || "no DNS name";
        also.push(
          `it is not valid for ${ctx.candidate.serverName} (it names ${names})`,
        );
      }
      if (also.length > 0) {
        result.error = `${result.error}; also, ${also.join(", and ")}`;
      }
    }
  } catch (e) {
    if (ctx.caller?.aborted) throw ctx.caller.reason;
    result.error = `${result.error} (the certificate could not be shown: ${
      e instanceof Error ? e.message : String(e)
    })`;
  } finally {
    ctx.step = step;
    raw?.close();
  }
}

function _safeMatch(raw: Uint8Array, ctx: _Context) {
  try {
    return matchServerIdentity(
      presentedIdentifiers(raw),
      ctx.candidate.serverName,
      { service: ctx.candidate.alpn },
    );
  } catch {
    return undefined;
  }
}
