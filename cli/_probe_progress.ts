/**
 * Progress while probing, for a terminal: {@linkcode progressLine} keeps one
 * status line up to date (rewritten in place with `\r` and "erase line"),
 * fed by `probe()`'s `onProgress` events. The CLI only uses it when stdout
 * is a terminal and `--json` is not given, and clears it before printing
 * the report.
 *
 * @module
 */

import type { ProbeStep } from "./_probe_report.ts";
import type { ProbeProgress } from "./_probe_run.ts";

const _STEP: Record<ProbeStep, string> = {
  resolve: "resolving",
  tcp: "TCP",
  stream: "stream",
  starttls: "STARTTLS",
  tls: "TLS",
  features: "features",
};

/** Carriage return plus "erase the whole line". */
const _ERASE = "\r\x1b[2K";

/** Options for {@linkcode progressLine}. */
export interface ProgressLineOptions {
  /**
   * The terminal width; the line is cut to one character less.
   *
   * @default {80}
   */
  columns?: number;
}

/** A status line fed by progress events. */
export interface ProgressLine {
  /** Update the line for an event (pass as `onProgress`). */
  onProgress(event: ProbeProgress): void;
  /** Erase the line (before printing anything else). Idempotent. */
  clear(): void;
}

/**
 * Keep one terminal line showing what the probe is doing.
 *
 * @example
 * ```ts
 * import { progressLine } from "./_probe_progress.ts";
 *
 * let screen = "";
 * const line = progressLine((text) => screen += text);
 * line.onProgress({ type: "discovering", domain: "example.org" });
 * line.clear();
 * console.log(JSON.stringify(screen));
 * // "\r\u001b[2Kexample.org: looking up SRV records…\r\u001b[2K"
 * ```
 *
 * @param write Writes text to the terminal, unbuffered.
 * @param options The terminal width.
 * @returns The line.
 */
export function progressLine(
  write: (text: string) => void,
  options: ProgressLineOptions = {},
): ProgressLine {
  const columns = Math.max(20, options.columns ?? 80);
  const active = new Map<number, string>();
  let domain = "";
  let total = 0;
  let finished = 0;
  let shown = false;
  const show = (text: string) => {
    const cut = text.length > columns - 1
      ? text.slice(0, columns - 2) + "…"
      : text;
    write(_ERASE + cut);
    shown = true;
  };
  return {
    onProgress(event: ProbeProgress): void {
      switch (event.type) {
        case "discovering":
          domain = event.domain;
          show(`${domain}: looking up SRV records…`);
          return;
        case "discovered":
          total = event.total;
          show(`${domain}: ${total} candidate${total === 1 ? "" : "s"}`);
          return;
        case "step": {
          const c = event.candidate;
          const host = c.host.includes(":") ? `[${c.host}]` : c.host;
          active.set(
            event.index,
            `${host}:${c.port} ${_STEP[event.step]}`,
          );
          break;
        }
        case "done":
          finished = event.finished;
          active.delete(event.index);
          break;
      }
      const doing = [...active.values()].join(", ");
      show(
        `${domain}: ${finished}/${total} done${doing ? `; ${doing}…` : ""}`,
      );
    },
    clear(): void {
      if (!shown) return;
      write(_ERASE);
      shown = false;
    },
  };
}
