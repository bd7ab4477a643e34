/**
 * Connection racing: RFC 8305 Happy Eyeballs over the ordered candidates
 * that discovery found.
 *
 * Every (candidate, address) pair is one attempt. The attempts are taken in
 * order: the candidates in discovery order and, within one candidate, its
 * A and AAAA addresses interleaved as RFC 8305 §4 asks (see
 * `interleaveAddresses()`). The caller's `dial(attempt, signal)` performs the
 * whole secure handshake for one attempt (TCP + TLS, TCP + STARTTLS, or
 * QUIC), so "connected" means "secured", and a server that accepts TCP but
 * never answers loses like one that refuses.
 *
 * The schedule:
 *
 * - Attempt 1 starts at once. Whenever the latest attempt has run for
 *   `attemptDelay` (250 ms by default, RFC 8305's recommendation) without
 *   anyone winning, the next attempt starts while the earlier ones keep
 *   trying.
 * - When an attempt fails, the next one starts at once, without waiting for
 *   the delay.
 * - Each attempt has its own `timeout`; when it runs out, the attempt's
 *   signal aborts with a `TimeoutError` and it counts as failed.
 * - A candidate's addresses are resolved only when its turn comes (when the
 *   previous candidate has no untried address left and a new attempt is
 *   due). If the resolution is slow, the next candidate's turn comes one
 *   attempt delay later, so a slow name holds up the schedule by at most
 *   one attempt delay; its addresses are used, before later candidates', as
 *   soon as they arrive.
 * - Resolution follows RFC 8305 §3: the A and AAAA lookups run in
 *   parallel, and the candidate's first attempt does not wait for both.
 *   When the preferred family (`preferredFamily`, IPv6 by default) answers
 *   with addresses, dialling starts at once. When the other family answers
 *   first, dialling waits up to `resolutionDelay` (50 ms) for the preferred
 *   one, then starts with what it has; a negative or failed answer of the
 *   preferred family ends that wait at once. Addresses that arrive after
 *   dialling started join the candidate's untried addresses, which are
 *   interleaved again (RFC 8305 §4), continuing the alternation from the
 *   family of the last address tried. A family that fails is ignored when
 *   the other gives addresses; when both fail (or find nothing) the
 *   candidate fails with a `ResolveError` naming both reasons.
 * - The first `dial` to resolve wins. Every other attempt's signal is
 *   aborted, pending resolutions are abandoned, and anything a losing `dial`
 *   resolves to afterwards is closed at once. `settled` on the result says
 *   when all of that is over.
 * - When every attempt has failed, the race rejects with a
 *   {@linkcode RaceError} listing each attempt and its reason. Aborting the
 *   overall `signal` aborts every attempt, closes anything that connects
 *   later, and rejects with the signal's reason.
 *
 * The result names the winner and says, for every other attempt, why it
 * lost (failed with an error, aborted because another won, or never
 * started), with times in milliseconds since the race began.
 *
 * @module
 */

import type { Candidate } from "./candidate.ts";
import { dnsResolver } from "./dns_resolver.ts";
import type { Resolver } from "./resolver.ts";
import {
  type AddressFamily,
  type FamilyAnswer,
  interleaveAddresses,
  ipFamily,
  resolveAddresses,
  type TargetAddress,
} from "./addresses.ts";

/** What a `dial` resolves to: anything that can be closed. */
export interface Closable {
  /** Release the connection. A returned promise is awaited for errors only. */
  close(): void | Promise<void>;
}

/** One connection attempt: a candidate at one of its addresses. */
export interface Attempt {
  /** The candidate, as discovery gave it. */
  candidate: Candidate;
  /** The candidate's index in the list given to {@linkcode race}. */
  candidateIndex: number;
  /** The IP address to connect to (with `candidate.port`). */
  address: TargetAddress;
  /** The attempt's number, counting from 0 in start order. */
  index: number;
}

/**
 * Connect to one attempt's address and complete the secure handshake.
 * Must reject (or at least stop working) when `signal` aborts.
 */
export type Dial<T extends Closable> = (
  attempt: Attempt,
  signal: AbortSignal,
) => Promise<T>;

/**
 * Options for {@linkcode race}.
 *
 * @example
 * ```ts
 * import type { RaceOptions } from "./race.ts";
 * const options: RaceOptions = { attemptDelay: 300, timeout: 5000 };
 * console.log(options.preferredFamily ?? 6); // 6
 * console.log(options.resolutionDelay ?? 50); // 50
 * ```
 */
export interface RaceOptions {
  /**
   * How long an attempt runs before the next one starts beside it, in
   * milliseconds. At least 10 (RFC 8305 §5); RFC 8305 recommends 250 and no
   * more than 2000.
   *
   * @default {250}
   */
  attemptDelay?: number;
  /**
   * The longest one attempt may take (its `dial`, or the A/AAAA resolution
   * of one candidate), in milliseconds. `Infinity` for no limit.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Abort the whole race: every attempt is aborted and the race rejects
   * with `signal.reason`. No effect once the race has a winner.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * The resolver for candidates' A and AAAA lookups (the same one discovery
   * used, so a custom name server applies to the whole chain). Not used for
   * candidates with `ips` or an IP literal `host`.
   *
   * @default {dnsResolver()}
   */
  resolver?: Resolver;
  /**
   * The address family tried first within a candidate.
   *
   * @default {6}
   */
  preferredFamily?: AddressFamily;
  /**
   * RFC 8305 §3's Resolution Delay, in milliseconds: when the other family
   * answers before the preferred one, how long to wait for the preferred
   * family before dialling the addresses at hand. A finite number ≥ 0; 0
   * dials at once. RFC 8305 recommends 50. Keep it under `attemptDelay`:
   * a candidate still waiting holds the next candidate back for one
   * attempt delay at most.
   *
   * @default {50}
   */
  resolutionDelay?: number;
}

/**
 * How an attempt ended:
 *
 * - `"won"`: its `dial` resolved first;
 * - `"failed"`: its `dial` or its candidate's resolution rejected or timed
 *   out (`error` says why);
 * - `"aborted"`: stopped because another attempt won (`error` is the abort
 *   reason);
 * - `"not-started"`: never tried, because another attempt won first.
 */
export type AttemptOutcome = "won" | "failed" | "aborted" | "not-started";

/** What happened to one attempt, or to the resolution of one candidate. */
export interface AttemptReport {
  /** The candidate. */
  candidate: Candidate;
  /** The candidate's index in the list given to {@linkcode race}. */
  candidateIndex: number;
  /**
   * `"connect"` for a `dial` of one address; `"resolve"` for the A/AAAA
   * resolution of a candidate that never got to dialling (it failed, was
   * abandoned, or was not reached).
   */
  phase: "resolve" | "connect";
  /** The address dialled (or not started); absent in the resolve phase. */
  address?: TargetAddress;
  /** How it ended. */
  outcome: AttemptOutcome;
  /** Why it failed, or the abort reason; absent for `won`, `not-started`. */
  error?: unknown;
  /** When it started, in milliseconds since the race began. */
  startedAt?: number;
  /** When it ended (won, failed, or was aborted), likewise. */
  endedAt?: number;
}

/** One A or AAAA lookup of a candidate's host, with its time. */
export interface LookupReport {
  /** 4 for the A lookup, 6 for the AAAA lookup. */
  family: AddressFamily;
  /**
   * `"answered"` (maybe with no records), `"failed"` (`error` says why), or
   * `"aborted"` (still pending when the race ended; `error` is the reason).
   */
  outcome: "answered" | "failed" | "aborted";
  /** The addresses it gave, in the resolver's order. */
  addresses: TargetAddress[];
  /** Why it failed, or the abort reason. */
  error?: unknown;
  /** When it ended, in milliseconds since the race began. */
  endedAt: number;
}

/** The A/AAAA resolution of one candidate, with its times. */
export interface ResolutionReport {
  /** The candidate. */
  candidate: Candidate;
  /** The candidate's index in the list given to {@linkcode race}. */
  candidateIndex: number;
  /**
   * `"resolved"`: addresses were found (a lookup still pending when the
   * race ended shows as aborted in `lookups`); `"failed"`: none were;
   * `"aborted"`: the race ended before any answer gave an address.
   */
  outcome: "resolved" | "failed" | "aborted";
  /**
   * The addresses found, in dialling order (those tried first), when
   * resolved.
   */
  addresses?: TargetAddress[];
  /** Why it failed, or the abort reason. */
  error?: unknown;
  /** When it started, in milliseconds since the race began. */
  startedAt: number;
  /**
   * When its addresses could first be dialled (RFC 8305 §3: the preferred
   * family answered, or the resolution delay ran out), likewise; absent if
   * never.
   */
  readyAt?: number;
  /**
   * When it ended (both lookups settled, or the race ended), likewise.
   */
  endedAt: number;
  /**
   * The A and AAAA lookups, in the order they ended; empty when nothing
   * was looked up (`ips` or an IP literal host).
   */
  lookups: LookupReport[];
}

/** The outcome of a race that was won. */
export interface RaceResult<T> {
  /** What the winning `dial` resolved to. The caller now owns it. */
  value: T;
  /** The winning attempt (outcome `"won"`, phase `"connect"`). */
  winner: AttemptReport;
  /**
   * Every attempt, the winner included: those started, in start order, then
   * those never started, in candidate order.
   */
  attempts: AttemptReport[];
  /** Every resolution started, in start order. */
  resolutions: ResolutionReport[];
  /**
   * Resolves when every losing `dial` has settled and anything it produced
   * has been closed. A `dial` that ignores its signal can delay this
   * forever.
   */
  settled: Promise<void>;
}

/**
 * Every attempt of a race failed. `errors` holds each failure's reason and
 * `attempts` the full reports.
 *
 * @example
 * ```ts
 * import { RaceError } from "./race.ts";
 * const error = new RaceError([{
 *   candidate: {
 *     transport: "directtls",
 *     host: "xmpp.example.org",
 *     port: 5223,
 *     serverName: "example.org",
 *     alpn: "xmpp-client",
 *     priority: 0,
 *     weight: 0,
 *     source: "srv",
 *   },
 *   candidateIndex: 0,
 *   phase: "connect",
 *   address: { ip: "192.0.2.1", family: 4 },
 *   outcome: "failed",
 *   error: new Error("connection refused"),
 *   startedAt: 0,
 *   endedAt: 3,
 * }]);
 * console.log(error.errors.length); // 1
 * console.log(error.message.includes("192.0.2.1:5223: connection refused")); // true
 * ```
 */
export class RaceError extends AggregateError {
  /** Every attempt, in start order. */
  readonly attempts: readonly AttemptReport[];
  /** Every resolution, in start order. */
  readonly resolutions: readonly ResolutionReport[];

  /**
   * Make a race error.
   *
   * @param attempts The attempts, with their errors.
   * @param options The resolutions, for the timeline.
   */
  constructor(
    attempts: readonly AttemptReport[],
    options: { resolutions?: readonly ResolutionReport[] } = {},
  ) {
    const failed = attempts.filter((a) => a.outcome === "failed");
    const shown = failed.slice(0, 8).map((a) =>
      `${describe(a)}: ${errorText(a.error)}`
    );
    if (failed.length > shown.length) {
      shown.push(`and ${failed.length - shown.length} more`);
    }
    super(
      failed.map((a) => a.error),
      `could not connect: all ${failed.length} attempt${
        failed.length === 1 ? "" : "s"
      } failed (${shown.join("; ")}). Check that the service's addresses ` +
        "are right and the server is reachable, or raise options.timeout",
    );
    this.name = "RaceError";
    this.attempts = attempts;
    this.resolutions = options.resolutions ?? [];
  }
}

const DEFAULT_ATTEMPT_DELAY = 250;
const MIN_ATTEMPT_DELAY = 10;
const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_RESOLUTION_DELAY = 50;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `starttls xmpp.example.org at [2001:db8::1]:5222`, or without `at`. */
function describe(
  a: Pick<AttemptReport, "candidate" | "phase" | "address">,
): string {
  const { transport, host, port } = a.candidate;
  if (a.phase === "resolve" || a.address === undefined) {
    return `${transport} ${host}`;
  }
  const ip = a.address.family === 6 ? `[${a.address.ip}]` : a.address.ip;
  return `${transport} ${host} at ${ip}:${port}`;
}

function _otherFamily(family: AddressFamily): AddressFamily {
  return family === 4 ? 6 : 4;
}

function closeQuietly(value: unknown): void {
  try {
    const closing = (value as Partial<Closable> | null)?.close?.();
    if (closing instanceof Promise) closing.catch(() => {});
  } catch {
    // Closing a loser is best effort.
  }
}

/** Whether a candidate needs DNS to find its addresses. */
function needsResolver(candidate: Candidate): boolean {
  return !(candidate.ips !== undefined && candidate.ips.length > 0) &&
    ipFamily(candidate.host) === undefined;
}

type Timer = ReturnType<typeof setTimeout>;

interface CandidateState {
  index: number;
  candidate: Candidate;
  /** `"resolving"` while a lookup is pending. */
  status: "idle" | "resolving" | "resolved" | "failed" | "aborted";
  /** Whether its addresses may be dialled (RFC 8305 §3). */
  open: boolean;
  /** Those tried (`next` of them), then the untried in dialling order. */
  addresses: TargetAddress[];
  next: number;
  /** Whether A and AAAA are looked up (no `ips`, no IP literal). */
  dns: boolean;
  lookups: LookupReport[];
  controller?: AbortController;
  resolutionTimer?: Timer;
  startedAt?: number;
  readyAt?: number;
  endedAt?: number;
  error?: unknown;
}

interface AttemptState {
  report: AttemptReport;
  controller: AbortController;
  timer?: Timer;
}

class Racer<T extends Closable> {
  readonly #dial: Dial<T>;
  readonly #attemptDelay: number;
  readonly #timeout: number;
  readonly #signal?: AbortSignal;
  readonly #resolver?: Resolver;
  readonly #preferredFamily: AddressFamily;
  readonly #resolutionDelay: number;
  readonly #start = performance.now();
  readonly #candidates: CandidateState[];
  readonly #attempts: AttemptState[] = [];
  readonly #resolving: CandidateState[] = [];
  readonly #pending = new Set<AttemptState>();
  readonly #settles: Promise<unknown>[] = [];
  readonly #result = Promise.withResolvers<RaceResult<T>>();
  #cursor = 0;
  #demand = true;
  #decided = false;
  #delayTimer?: Timer;

  constructor(
    candidates: readonly Candidate[],
    dial: Dial<T>,
    options: Required<Omit<RaceOptions, "signal" | "resolver">> & RaceOptions,
  ) {
    this.#dial = dial;
    this.#attemptDelay = options.attemptDelay;
    this.#timeout = options.timeout;
    this.#signal = options.signal;
    this.#resolver = options.resolver;
    this.#preferredFamily = options.preferredFamily;
    this.#resolutionDelay = options.resolutionDelay;
    this.#candidates = candidates.map((candidate, index) => ({
      index,
      candidate,
      status: "idle",
      open: false,
      addresses: [],
      next: 0,
      dns: needsResolver(candidate),
      lookups: [],
    }));
  }

  run(): Promise<RaceResult<T>> {
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#pump(false);
    return this.#result.promise;
  }

  #now(): number {
    return performance.now() - this.#start;
  }

  /** Start whatever is due. `skipAhead`: the wait has lasted a delay. */
  #pump(skipAhead: boolean): void {
    if (this.#decided) return;
    const resolving = this.#candidates.some((c) => c.status === "resolving");
    // Only a candidate with nothing to dial yet holds the next one back.
    const waiting = this.#candidates.some((c) =>
      c.status === "resolving" && !c.open
    );
    if (this.#demand) {
      const next = this.#nextAddress();
      if (next !== undefined) {
        this.#demand = false;
        this.#startAttempt(next);
        this.#armDelay();
        return;
      }
      if (this.#cursor < this.#candidates.length) {
        if (!waiting || skipAhead) {
          this.#startResolution(this.#candidates[this.#cursor++]);
          this.#armDelay();
          return;
        }
        if (this.#delayTimer === undefined) this.#armDelay();
      }
    }
    if (
      this.#pending.size === 0 && !resolving &&
      this.#cursor === this.#candidates.length &&
      this.#nextAddress() === undefined
    ) {
      this.#fail();
    }
  }

  #armDelay(): void {
    clearTimeout(this.#delayTimer);
    // The dial just started may have aborted the race synchronously.
    if (this.#decided) return;
    this.#delayTimer = setTimeout(() => {
      this.#delayTimer = undefined;
      const waited = this.#demand;
      this.#demand = true;
      this.#pump(waited);
    }, this.#attemptDelay);
  }

  /** The first untried address, earlier candidates first. */
  #nextAddress(): [CandidateState, TargetAddress] | undefined {
    for (const c of this.#candidates) {
      if (c.open && c.next < c.addresses.length) {
        return [c, c.addresses[c.next]];
      }
    }
    return undefined;
  }

  #startResolution(c: CandidateState): void {
    const controller = new AbortController();
    c.status = "resolving";
    c.controller = controller;
    c.startedAt = this.#now();
    this.#resolving.push(c);
    const resolution = resolveAddresses(c.candidate, {
      resolver: this.#resolver,
      timeout: this.#timeout,
      signal: controller.signal,
      preferredFamily: this.#preferredFamily,
      onAnswer: (answer) => {
        if (!this.#decided) this.#answered(c, answer);
      },
    });
    this.#settles.push(resolution.then((addresses) => {
      if (this.#decided) return;
      c.status = "resolved";
      // With DNS, every address already came through #answered.
      if (!c.dns) c.addresses = addresses;
      c.endedAt = this.#now();
      this.#open(c);
      this.#pump(false);
    }, (error) => {
      if (this.#decided) return;
      clearTimeout(c.resolutionTimer);
      c.status = "failed";
      c.error = error;
      c.endedAt = this.#now();
      this.#pump(false);
    }));
  }

  /** One family answered (RFC 8305 §3). */
  #answered(c: CandidateState, answer: FamilyAnswer): void {
    const report: LookupReport = {
      family: answer.family,
      outcome: answer.outcome,
      addresses: answer.addresses,
      endedAt: this.#now(),
    };
    if (answer.outcome === "failed") report.error = answer.error;
    c.lookups.push(report);
    if (answer.addresses.length > 0) this.#merge(c, answer.addresses);
    if (!c.open && c.addresses.length > 0) {
      const preferredDone = c.lookups.some((l) =>
        l.family === this.#preferredFamily
      );
      if (preferredDone || this.#resolutionDelay === 0) {
        this.#open(c);
      } else if (c.resolutionTimer === undefined) {
        c.resolutionTimer = setTimeout(() => {
          c.resolutionTimer = undefined;
          if (this.#decided) return;
          this.#open(c);
          this.#pump(false);
        }, this.#resolutionDelay);
      }
    }
    this.#pump(false);
  }

  /**
   * Add addresses to the untried ones and interleave those again (RFC 8305
   * §4), going on from the family of the last address tried.
   */
  #merge(c: CandidateState, addresses: readonly TargetAddress[]): void {
    const tried = c.addresses.slice(0, c.next);
    const last = tried.at(-1)?.family;
    const preferredFamily = last === undefined
      ? this.#preferredFamily
      : _otherFamily(last);
    c.addresses = [
      ...tried,
      ...interleaveAddresses([...c.addresses.slice(c.next), ...addresses], {
        preferredFamily,
      }),
    ];
  }

  /** Let the candidate's addresses be dialled. */
  #open(c: CandidateState): void {
    clearTimeout(c.resolutionTimer);
    c.resolutionTimer = undefined;
    if (c.open) return;
    c.open = true;
    c.readyAt = this.#now();
  }

  #startAttempt([c, address]: [CandidateState, TargetAddress]): void {
    c.next++;
    const controller = new AbortController();
    const report: AttemptReport = {
      candidate: c.candidate,
      candidateIndex: c.index,
      phase: "connect",
      address,
      outcome: "failed",
      startedAt: this.#now(),
    };
    const state: AttemptState = { report, controller };
    const attempt: Attempt = {
      candidate: c.candidate,
      candidateIndex: c.index,
      address,
      index: this.#attempts.length,
    };
    this.#attempts.push(state);
    this.#pending.add(state);
    if (Number.isFinite(this.#timeout)) {
      state.timer = setTimeout(() => {
        state.timer = undefined;
        if (this.#decided || !this.#pending.has(state)) return;
        const error = new DOMException(
          `timed out after ${this.#timeout} ms: check that the server ` +
            "answers, or raise options.timeout",
          "TimeoutError",
        );
        controller.abort(error);
        this.#failed(state, error);
      }, this.#timeout);
    }
    const dialled = new Promise<T>((resolve) =>
      resolve(this.#dial(attempt, controller.signal))
    );
    this.#settles.push(dialled.then((value) => {
      clearTimeout(state.timer);
      if (!this.#decided && this.#pending.has(state)) this.#won(state, value);
      else closeQuietly(value);
    }, (error) => {
      clearTimeout(state.timer);
      if (!this.#decided && this.#pending.has(state)) {
        this.#failed(state, error);
      }
    }));
  }

  #failed(state: AttemptState, error: unknown): void {
    this.#pending.delete(state);
    state.report.outcome = "failed";
    state.report.error = error;
    state.report.endedAt = this.#now();
    this.#demand = true;
    this.#pump(false);
  }

  #won(state: AttemptState, value: T): void {
    this.#pending.delete(state);
    state.report.outcome = "won";
    state.report.endedAt = this.#now();
    this.#finish(
      new DOMException("another attempt won the race", "AbortError"),
    );
    const settles = this.#settles;
    this.#result.resolve({
      value,
      winner: state.report,
      attempts: this.#reports(),
      resolutions: this.#resolutionReports(),
      settled: Promise.all(settles).then(() => {}),
    });
  }

  #fail(): void {
    this.#finish(undefined);
    this.#result.reject(
      new RaceError(this.#reports(), {
        resolutions: this.#resolutionReports(),
      }),
    );
  }

  #onAbort = (): void => {
    if (this.#decided) return;
    const reason = this.#signal!.reason;
    this.#finish(reason);
    this.#result.reject(reason);
  };

  /** Decide: stop the timers and abort everything still running. */
  #finish(reason: unknown): void {
    this.#decided = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    clearTimeout(this.#delayTimer);
    const now = this.#now();
    for (const state of this.#pending) {
      clearTimeout(state.timer);
      state.report.outcome = "aborted";
      state.report.error = reason;
      state.report.endedAt = now;
      state.controller.abort(reason);
    }
    this.#pending.clear();
    for (const c of this.#candidates) {
      clearTimeout(c.resolutionTimer);
      c.resolutionTimer = undefined;
      if (c.status !== "resolving") continue;
      c.controller!.abort(reason);
      c.endedAt = now;
      if (c.dns) {
        for (
          const family of [
            this.#preferredFamily,
            _otherFamily(this.#preferredFamily),
          ]
        ) {
          if (c.lookups.some((l) => l.family === family)) continue;
          c.lookups.push({
            family,
            outcome: "aborted",
            addresses: [],
            error: reason,
            endedAt: now,
          });
        }
      }
      if (c.addresses.length > 0) {
        c.status = "resolved";
      } else {
        c.status = "aborted";
        c.error = reason;
      }
    }
  }

  #reports(): AttemptReport[] {
    const started: AttemptReport[] = this.#attempts.map((a) => a.report);
    for (const c of this.#resolving) {
      if (c.status !== "failed" && c.status !== "aborted") continue;
      started.push({
        candidate: c.candidate,
        candidateIndex: c.index,
        phase: "resolve",
        outcome: c.status,
        error: c.error,
        startedAt: c.startedAt,
        endedAt: c.endedAt,
      });
    }
    started.sort((x, y) => x.startedAt! - y.startedAt!);
    const notStarted: AttemptReport[] = [];
    for (const c of this.#candidates) {
      const base = {
        candidate: c.candidate,
        candidateIndex: c.index,
        outcome: "not-started" as const,
      };
      if (c.status === "idle") notStarted.push({ ...base, phase: "resolve" });
      for (const address of c.addresses.slice(c.next)) {
        notStarted.push({ ...base, phase: "connect", address });
      }
    }
    return [...started, ...notStarted];
  }

  #resolutionReports(): ResolutionReport[] {
    return this.#resolving.map((c) => ({
      candidate: c.candidate,
      candidateIndex: c.index,
      outcome: c.status === "resolved"
        ? "resolved"
        : c.status === "failed"
        ? "failed"
        : "aborted",
      ...(c.status === "resolved"
        ? { addresses: c.addresses }
        : { error: c.error }),
      startedAt: c.startedAt!,
      ...(c.readyAt === undefined ? {} : { readyAt: c.readyAt }),
      endedAt: c.endedAt!,
      lookups: c.lookups,
    }));
  }
}

/**
 * Race connection attempts to the candidates, RFC 8305 style, and return
 * the first that completes its handshake.
 *
 * @example Dial TCP candidates (the handshake left out)
 * ```ts
 * import { race } from "./race.ts";
 * import type { Candidate } from "./candidate.ts";
 * import type { Resolver } from "./resolver.ts";
 *
 * export async function connectTcp(
 *   candidates: Candidate[],
 *   resolver: Resolver,
 * ): Promise<Deno.TcpConn> {
 *   const { value, winner, attempts } = await race(
 *     candidates,
 *     async ({ candidate, address }, signal) => {
 *       const conn = await Deno.connect({
 *         hostname: address.ip,
 *         port: candidate.port,
 *         signal,
 *       });
 *       // A real dial completes TLS or STARTTLS here, closing `conn` if
 *       // `signal` aborts first.
 *       return conn;
 *     },
 *     { resolver, attemptDelay: 250, timeout: 10_000 },
 *   );
 *   console.log(`connected to ${winner.address?.ip} after ${winner.endedAt} ms`);
 *   for (const a of attempts) if (a !== winner) console.log(a.outcome, a.error);
 *   return value;
 * }
 * ```
 *
 * @example All attempts failing
 * ```ts
 * import { race, RaceError } from "./race.ts";
 *
 * const candidate = {
 *   transport: "starttls",
 *   host: "192.0.2.1",
 *   port: 5222,
 *   serverName: "example.org",
 *   alpn: "xmpp-client",
 *   priority: 0,
 *   weight: 0,
 *   source: "fallback",
 * } as const;
 * try {
 *   await race([candidate], () => Promise.reject(new Error("refused")));
 * } catch (e) {
 *   console.log(e instanceof RaceError); // true
 *   console.log((e as RaceError).attempts[0].outcome); // "failed"
 * }
 * ```
 *
 * @typeParam T What `dial` resolves to.
 * @param candidates The candidates, in discovery order.
 * @param dial Connects and secures one attempt; see {@linkcode Dial}.
 * @param options Attempt delay, timeout, signal, resolver, preferred
 * family, resolution delay.
 * @returns The winner and the report of every attempt.
 * @throws {RaceError} When every attempt fails.
 * @throws {RangeError} For an empty candidate list, an attempt delay under
 * 10 ms, a timeout that is not positive, or a resolution delay that is not
 * a finite number ≥ 0.
 * @throws {TypeError} For a `dial` that is not a function, a preferred family
 * other than 4 or 6, or a `resolver` that is not a {@linkcode Resolver}.
 */
export async function race<T extends Closable>(
  candidates: readonly Candidate[],
  dial: Dial<T>,
  options: RaceOptions = {},
): Promise<RaceResult<T>> {
  const {
    attemptDelay = DEFAULT_ATTEMPT_DELAY,
    timeout = DEFAULT_TIMEOUT,
    preferredFamily = 6,
    resolutionDelay = DEFAULT_RESOLUTION_DELAY,
    signal,
    resolver,
  } = options;
  if (!Array.isArray(candidates)) {
    throw new TypeError("candidates must be an array of Candidate");
  }
  if (candidates.length === 0) {
    throw new RangeError(
      "candidates is empty: there is nothing to connect to (discovery found no endpoint)",
    );
  }
  if (typeof dial !== "function") {
    throw new TypeError(
      "dial must be a function (attempt, signal) => Promise<connection>",
    );
  }
  if (
    typeof attemptDelay !== "number" || !Number.isFinite(attemptDelay) ||
    attemptDelay < MIN_ATTEMPT_DELAY
  ) {
    throw new RangeError(
      `options.attemptDelay must be at least ${MIN_ATTEMPT_DELAY} ms (RFC 8305 §5; 250 is recommended), got ${
        String(attemptDelay)
      }`,
    );
  }
  if (typeof timeout !== "number" || !(timeout > 0)) {
    throw new RangeError(
      `options.timeout must be a positive number of milliseconds (or Infinity), got ${
        String(timeout)
      }`,
    );
  }
  if (preferredFamily !== 4 && preferredFamily !== 6) {
    throw new TypeError(
      `options.preferredFamily must be 4 or 6, got ${String(preferredFamily)}`,
    );
  }
  if (
    typeof resolutionDelay !== "number" || !Number.isFinite(resolutionDelay) ||
    resolutionDelay < 0
  ) {
    throw new RangeError(
      `options.resolutionDelay must be a finite number of milliseconds ≥ 0 (RFC 8305 §3 recommends 50), got ${
        String(resolutionDelay)
      }`,
    );
  }
  if (
    resolver !== undefined &&
    (typeof resolver?.a !== "function" || typeof resolver.aaaa !== "function")
  ) {
    throw new TypeError(
      "options.resolver must implement Resolver (srv, a, aaaa); use dnsResolver() or memoryResolver(zone)",
    );
  }
  signal?.throwIfAborted();
  return await new Racer(candidates, dial, {
    attemptDelay,
    timeout,
    preferredFamily,
    resolutionDelay,
    signal,
    resolver: resolver ??
      (candidates.some(needsResolver) ? dnsResolver() : undefined),
  }).run();
}
