/**
 * The timeline of a connection: when each step of `connect()` started and
 * ended, in milliseconds since the connection began, so that a demo, the
 * probe or a benchmark can show where the time went and how many round
 * trips each step took.
 *
 * The steps, in the order they happen:
 *
 * | step          | from                                   | to                                                  |
 * | ------------- | -------------------------------------- | --------------------------------------------------- |
 * | `dns`         | discovery starts                       | both SRV lookups (and host-meta, if asked) answered |
 * | `resolve`     | the winner's A/AAAA lookups start      | its addresses could be dialled                      |
 * | `tcp`         | `connect()` to the address             | the TCP connection is up                            |
 * | `tls`         | ClientHello sent                       | handshake and certificate checks done               |
 * | `stream-open` | our stream header sent                 | the server's stream header received                 |
 * | `features`    | waiting for `<stream:features/>`       | features received                                   |
 * | `starttls`    | `<starttls/>` sent                     | `<proceed/>` received                               |
 * | `auth`        | SASL `<auth/>` sent                    | `<success/>` verified, stream restarted, features   |
 * | `bind`        | the bind request sent                  | the full JID received                               |
 *
 * With STARTTLS, `stream-open` and `features` appear twice: before TLS and
 * after it. Steps that did not happen (no login, an IP literal with nothing
 * to resolve) are simply absent.
 *
 * @module
 */

/** A step of a connection; see the module documentation. */
export type TimelineStep =
  | "dns"
  | "resolve"
  | "tcp"
  | "tls"
  | "stream-open"
  | "features"
  | "starttls"
  | "auth"
  | "bind";

/**
 * One step: when it started and ended, in milliseconds since the timeline's
 * origin (fractions of a millisecond kept).
 *
 * @example
 * ```ts
 * import type { TimelineEntry } from "./timeline.ts";
 * const entry: TimelineEntry = { step: "tcp", start: 1.5, end: 2.25 };
 * console.log(entry.end - entry.start); // 0.75
 * ```
 */
export interface TimelineEntry {
  /** Which step. */
  step: TimelineStep;
  /** When it started, ms since the origin. */
  start: number;
  /** When it ended, ms since the origin. */
  end: number;
  /** A short note, such as the TLS version or the SASL mechanism. */
  detail?: string;
}

/**
 * A recorder of {@linkcode TimelineEntry} values against one origin.
 *
 * @example
 * ```ts
 * import { Timeline } from "./timeline.ts";
 *
 * const timeline = new Timeline();
 * const done = timeline.begin("tcp");
 * await new Promise((r) => setTimeout(r, 5));
 * done("127.0.0.1:5222");
 * console.log(timeline.entries[0].step, timeline.entries[0].end >= 5); // tcp true
 * console.log(timeline.get("tcp")?.detail); // 127.0.0.1:5222
 * ```
 */
export class Timeline {
  /** `performance.now()` at the origin. */
  readonly origin: number;
  /** Wall-clock time of the origin, ms since the Unix epoch. */
  readonly startedAt: number;
  /** The recorded steps, in the order they ended. */
  readonly entries: TimelineEntry[] = [];

  /**
   * Start a timeline.
   *
   * @param origin `performance.now()` at the origin (default: now).
   */
  constructor(origin: number = performance.now()) {
    if (typeof origin !== "number" || !Number.isFinite(origin)) {
      throw new TypeError(
        `origin must be a performance.now() value, got ${String(origin)}`,
      );
    }
    this.origin = origin;
    this.startedAt = Date.now() - (performance.now() - origin);
  }

  /**
   * Milliseconds since the origin.
   *
   * @returns The time now on this timeline.
   */
  now(): number {
    return performance.now() - this.origin;
  }

  /**
   * Start a step now; call the returned function when it ends.
   *
   * @param step The step.
   * @returns A function that records the step as ended now (with an
   * optional detail) and returns its entry.
   */
  begin(step: TimelineStep): (detail?: string) => TimelineEntry {
    const start = this.now();
    return (detail?: string) =>
      this.add({ step, start, end: this.now(), detail });
  }

  /**
   * Record a step measured elsewhere (times on this timeline).
   *
   * @param entry The step.
   * @returns The entry as stored.
   */
  add(entry: TimelineEntry): TimelineEntry {
    const e: TimelineEntry = {
      step: entry.step,
      start: entry.start,
      end: entry.end,
    };
    if (entry.detail !== undefined) e.detail = entry.detail;
    this.entries.push(e);
    return e;
  }

  /**
   * The last entry of a step.
   *
   * @param step The step.
   * @returns The entry, or `undefined` if the step did not happen.
   */
  get(step: TimelineStep): TimelineEntry | undefined {
    return this.entries.findLast((e) => e.step === step);
  }

  /**
   * When the last step ended (0 when nothing was recorded).
   *
   * @returns Milliseconds since the origin.
   */
  get end(): number {
    return this.entries.reduce((m, e) => Math.max(m, e.end), 0);
  }

  /**
   * The entries sorted by start time, for display or JSON.
   *
   * @returns A copy of the entries, earliest first.
   */
  toJSON(): { startedAt: number; entries: TimelineEntry[] } {
    return {
      startedAt: this.startedAt,
      entries: sortEntries(this.entries),
    };
  }
}

function sortEntries(entries: readonly TimelineEntry[]): TimelineEntry[] {
  return entries.map((e) => ({ ...e })).sort((a, b) =>
    a.start - b.start || a.end - b.end
  );
}

/** Options for {@linkcode formatTimeline}. */
export interface FormatTimelineOptions {
  /**
   * A known round-trip time in ms: each line then also shows its duration
   * in round trips.
   *
   * @default {undefined}
   */
  rtt?: number;
  /**
   * Digits after the decimal point of the times.
   *
   * @default {1}
   */
  digits?: number;
}

/**
 * Render a timeline as text, one step per line: start, end, duration (and
 * round trips when `rtt` is given), step, detail.
 *
 * @example
 * ```ts
 * import { formatTimeline, Timeline } from "./timeline.ts";
 *
 * const timeline = new Timeline();
 * timeline.add({ step: "tcp", start: 0, end: 50, detail: "127.0.0.1:5223" });
 * timeline.add({ step: "tls", start: 50, end: 100, detail: "TLSv1.3" });
 * console.log(formatTimeline(timeline, { rtt: 50 }));
 * //     0.0 →   50.0 ms   50.0 ms  1.0 RTT  tcp          127.0.0.1:5223
 * //    50.0 →  100.0 ms   50.0 ms  1.0 RTT  tls          TLSv1.3
 * ```
 *
 * @param timeline The timeline, or its entries.
 * @param options Round-trip time and precision.
 * @returns The text, without a trailing newline.
 * @throws {RangeError} If `rtt` is not a positive number or `digits` is
 * not an integer from 0 to 6.
 */
export function formatTimeline(
  timeline: Timeline | readonly TimelineEntry[],
  options: FormatTimelineOptions = {},
): string {
  const { rtt, digits = 1 } = options;
  if (rtt !== undefined && !(typeof rtt === "number" && rtt > 0)) {
    throw new RangeError(
      `rtt must be a positive number of milliseconds, got ${String(rtt)}`,
    );
  }
  if (!Number.isInteger(digits) || digits < 0 || digits > 6) {
    throw new RangeError(
      `digits must be an integer from 0 to 6, got ${digits}`,
    );
  }
  const entries = sortEntries(
    timeline instanceof Timeline ? timeline.entries : timeline,
  );
  const n = (x: number, w: number) => x.toFixed(digits).padStart(w);
  return entries.map((e) => {
    const d = e.end - e.start;
    let line = `${n(e.start, 7)} → ${n(e.end, 7)} ms ${n(d, 7)} ms`;
    if (rtt !== undefined) line += `  ${(d / rtt).toFixed(1).padStart(4)} RTT`;
    line += `  ${e.step.padEnd(11)}`;
    if (e.detail) line += `  ${e.detail}`;
    return line.trimEnd();
  }).join("\n");
}

/**
 * How many round trips of `rtt` fit in the span from the first step's start
 * to the last step's end among `steps` (all steps when omitted), to one
 * decimal: what the benchmarks report.
 *
 * @example
 * ```ts
 * import { roundTrips, Timeline } from "./timeline.ts";
 *
 * const timeline = new Timeline();
 * timeline.add({ step: "tcp", start: 10, end: 11 });
 * timeline.add({ step: "tls", start: 11, end: 61 });
 * timeline.add({ step: "stream-open", start: 61, end: 112 });
 * console.log(roundTrips(timeline, 50)); // 2
 * console.log(roundTrips(timeline, 50, ["tls"])); // 1
 * ```
 *
 * @param timeline The timeline, or its entries.
 * @param rtt The round-trip time in ms.
 * @param steps Only these steps (default: all).
 * @returns The span divided by `rtt`, rounded to one decimal; 0 when no
 * step matches.
 * @throws {RangeError} If `rtt` is not a positive number.
 */
export function roundTrips(
  timeline: Timeline | readonly TimelineEntry[],
  rtt: number,
  steps?: readonly TimelineStep[],
): number {
  if (!(typeof rtt === "number" && rtt > 0)) {
    throw new RangeError(
      `rtt must be a positive number of milliseconds, got ${String(rtt)}`,
    );
  }
  const all = timeline instanceof Timeline ? timeline.entries : timeline;
  const picked = steps ? all.filter((e) => steps.includes(e.step)) : all;
  if (picked.length === 0) return 0;
  const start = Math.min(...picked.map((e) => e.start));
  const end = Math.max(...picked.map((e) => e.end));
  return Math.round((end - start) / rtt * 10) / 10;
}
