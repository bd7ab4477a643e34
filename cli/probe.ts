/**
 * `probe`: check how an XMPP domain can be reached, securely — a better
 * xmpp-dns.
 *
 * ```sh
 * deno run -A cli/probe.ts example.org
 * deno run -A https://…/cli/probe.ts --json --server example.org
 * ```
 *
 * It shows the SRV lookups of both services (records, `.` targets,
 * errors), the merged candidate list with priorities and weights, and for
 * each candidate: the TCP connect, whether STARTTLS is offered and
 * required, the TLS handshake (SNI = the domain, ALPN), the TLS version,
 * cipher and negotiated ALPN, the certificate's subject, names and expiry
 * and whether it is valid for the domain (a refused certificate is still
 * shown, from a second handshake that never calls it valid), the stream
 * features over TLS, and a verdict.
 *
 * Options: `--json`, `--nameserver IP:PORT`, `--ca FILE`, `--server`,
 * `--timeout MS`, `--no-connect`, `--help` (see {@linkcode PROBE_USAGE}).
 * Exit status: 0 when a secure candidate works, 1 when none does, 2 for
 * usage errors. On a terminal a progress line shows what is being probed;
 * with `--json` or when piped, nothing but the report is printed.
 *
 * The probing itself is the library function `probe()` in
 * `_probe_run.ts`; this file parses the command line and prints.
 *
 * @module
 */

import type { Resolver } from "../srv/resolver.ts";
import { trustAnchors } from "../tls/policy.ts";
import { parseProbeArgs, PROBE_USAGE, UsageError } from "./_probe_args.ts";
import { progressLine } from "./_probe_progress.ts";
import { exitCodeOf } from "./_probe_report.ts";
import { renderJson, renderText } from "./_probe_render.ts";
import { probe } from "./_probe_run.ts";

export { PROBE_USAGE };

/** Where {@linkcode main} reads and writes; every field has a default. */
export interface ProbeCliIo {
  /**
   * Write to standard output.
   *
   * @default {writes to Deno.stdout}
   */
  stdout(text: string): void;
  /**
   * Write to standard error.
   *
   * @default {writes to Deno.stderr}
   */
  stderr(text: string): void;
  /**
   * Whether standard output is a terminal (then progress is shown, unless
   * `--json`).
   *
   * @default {Deno.stdout.isTerminal()}
   */
  isTerminal: boolean;
  /**
   * The terminal width, for the progress line.
   *
   * @default {Deno.consoleSize().columns, or 80}
   */
  columns: number;
  /**
   * Read a `--ca` file.
   *
   * @default {Deno.readTextFile}
   */
  readTextFile(path: string): Promise<string>;
  /**
   * A resolver to use instead of DNS (for tests and embedding); overrides
   * `--nameserver`.
   *
   * @default {undefined}
   */
  resolver?: Resolver;
  /**
   * Also trust the OS store.
   *
   * @default {true}
   */
  systemCa?: boolean;
  /**
   * Aborting it stops the probe (exit code 1).
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

const _encoder = new TextEncoder();

/** Write all of `text` to a synchronous writer. */
function _writeAll(
  out: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  let bytes = _encoder.encode(text);
  while (bytes.byteLength > 0) bytes = bytes.subarray(out.writeSync(bytes));
}

function _columns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

function _defaultIo(): ProbeCliIo {
  return {
    stdout: (text) => _writeAll(Deno.stdout, text),
    stderr: (text) => _writeAll(Deno.stderr, text),
    isTerminal: Deno.stdout.isTerminal(),
    columns: _columns(),
    readTextFile: (path) => Deno.readTextFile(path),
  };
}

/**
 * Run the probe command line: parse `args`, probe, print the report (text
 * or `--json`), and return the exit code: 0 when a secure candidate works
 * (with `--no-connect`: when candidates were found), 1 when none does, 2
 * for usage errors (printed to stderr with a hint).
 *
 * @example Usage errors and help
 * ```ts
 * import { main } from "./probe.ts";
 *
 * let out = "";
 * let err = "";
 * const io = { stdout: (t: string) => out += t, stderr: (t: string) => err += t };
 * console.log(await main(["--timeout", "soon", "example.org"], io)); // 2
 * console.log(err.split("\n")[0]);
 * // probe: --timeout needs a whole number of milliseconds from 1 to 2147483647; got "soon"
 * console.log(await main(["--help"], io), out.startsWith("Usage: probe")); // 0 true
 * ```
 *
 * @example Discovery only, with an in-memory zone
 * ```ts
 * import { main } from "./probe.ts";
 * import { memoryResolver } from "../srv/memory_resolver.ts";
 *
 * let out = "";
 * const code = await main(["--json", "--no-connect", "example.org"], {
 *   stdout: (t) => out += t,
 *   resolver: memoryResolver({
 *     "_xmpps-client._tcp.example.org": {
 *       srv: [{ priority: 0, weight: 0, port: 443, target: "xmpp.example.org" }],
 *     },
 *   }),
 * });
 * const report = JSON.parse(out);
 * console.log(code, report.candidates[0].transport, report.verdict);
 * // 0 directtls discovered 1 candidate (not connected: --no-connect)
 * ```
 *
 * @param args The command-line arguments.
 * @param io Output, terminal, file reading and test hooks.
 * @returns The exit code.
 */
export async function main(
  args: readonly string[],
  io: Partial<ProbeCliIo> = {},
): Promise<number> {
  const env: ProbeCliIo = { ..._defaultIo(), ...io };
  let parsed;
  const ca: string[] = [];
  try {
    parsed = parseProbeArgs(args);
    if (parsed.help) {
      env.stdout(PROBE_USAGE);
      return 0;
    }
    for (const file of parsed.caFiles) {
      let pem: string;
      try {
        pem = await env.readTextFile(file);
      } catch (e) {
        throw new UsageError(
          `cannot read --ca ${file}: ${e instanceof Error ? e.message : e}`,
        );
      }
      try {
        trustAnchors({ ca: pem, systemCa: false });
      } catch (e) {
        throw new UsageError(
          `--ca ${file} holds no usable PEM certificate: ${
            e instanceof Error ? e.message : e
          }`,
        );
      }
      ca.push(pem);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    env.stderr(`probe: ${e.message}\nTry: probe --help\n`);
    return 2;
  }

  const progress = env.isTerminal && !parsed.json
    ? progressLine(env.stdout, { columns: env.columns })
    : undefined;
  let report;
  try {
    report = await probe(parsed.domain, {
      kind: parsed.server ? "server" : "client",
      ...(env.resolver
        ? { resolver: env.resolver }
        : parsed.nameServer
        ? { nameServer: parsed.nameServer }
        : {}),
      ca,
      systemCa: env.systemCa,
      timeout: parsed.timeout,
      connect: parsed.connect,
      signal: env.signal,
      onProgress: progress?.onProgress,
    });
  } catch (e) {
    progress?.clear();
    env.stderr(
      `probe: ${parsed.domain}: ${
        e instanceof Error ? e.message : String(e)
      }\n`,
    );
    return 1;
  }
  progress?.clear();
  env.stdout(parsed.json ? renderJson(report) : renderText(report));
  return exitCodeOf(report);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
