/**
 * The probe as a library function: {@linkcode probe} discovers a domain's
 * candidates (both SRV services, one RFC 2782 order, the `.` rules and the
 * RFC 6120 fallback), probes each (see `_probe_candidate.ts`) and returns a
 * {@linkcode ProbeReport} with a verdict. Printing is elsewhere
 * (`_probe_render.ts`), so the report can be tested and reused.
 *
 * @module
 */

import type { Candidate } from "../srv/candidate.ts";
import {
  discover,
  DiscoveryError,
  type ServiceLookup,
} from "../srv/discover.ts";
import { dnsResolver } from "../srv/dns_resolver.ts";
import type { Resolver } from "../srv/resolver.ts";
import type { StreamKind } from "../srv/services.ts";
import {
  DEFAULT_CANDIDATE_TIMEOUT,
  probeCandidate,
} from "./_probe_candidate.ts";
import {
  type CandidateReport,
  type CandidateResult,
  type LookupReport,
  type ProbeReport,
  type ProbeStatus,
  type ProbeStep,
  verdictOf,
} from "./_probe_report.ts";

/** What {@linkcode ProbeOptions.onProgress} is told, as it happens. */
export type ProbeProgress =
  /** Discovery started. */
  | { type: "discovering"; domain: string }
  /** Discovery ended: this many candidates (0 when it failed). */
  | { type: "discovered"; total: number }
  /** Candidate `index` (0-based, in dialling order) started a step. */
  | { type: "step"; index: number; candidate: Candidate; step: ProbeStep }
  /** Candidate `index` is done; `finished` of `total` are done now. */
  | {
    type: "done";
    index: number;
    candidate: Candidate;
    result: CandidateResult;
    finished: number;
    total: number;
  };

/** Options for {@linkcode probe}. */
export interface ProbeOptions {
  /**
   * `"client"` (c2s: `_xmpp-client`/`_xmpps-client`, ALPN `xmpp-client`,
   * `jabber:client`) or `"server"` (s2s: the `-server` services, ALPN
   * `xmpp-server`, `jabber:server`).
   *
   * @default {"client"}
   */
  kind?: StreamKind;
  /**
   * The resolver for the SRV, A and AAAA lookups.
   *
   * @default {dnsResolver({ nameServer })}
   */
  resolver?: Resolver;
  /**
   * The name server to ask, when no `resolver` is given.
   *
   * @default {the system's}
   */
  nameServer?: { ipAddr: string; port?: number };
  /**
   * Extra trust anchors: PEM text, or a list of them.
   *
   * @default {[]}
   */
  ca?: string | readonly string[];
  /**
   * Also trust the OS store (needs `--allow-sys`).
   *
   * @default {true}
   */
  systemCa?: boolean;
  /**
   * Milliseconds for discovery, and again for each candidate.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Connect to the candidates; `false` only discovers them.
   *
   * @default {true}
   */
  connect?: boolean;
  /**
   * Candidates probed at the same time.
   *
   * @default {4}
   */
  concurrency?: number;
  /**
   * Seed for a reproducible RFC 2782 order (tests).
   *
   * @default {undefined} (random)
   */
  seed?: number;
  /**
   * Aborting it rejects the probe with the signal's reason and closes every
   * connection.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Told about discovery and each candidate's steps as they happen.
   *
   * @default {undefined}
   */
  onProgress?: (event: ProbeProgress) => void;
}

function _lookup(l: ServiceLookup): LookupReport {
  return {
    service: l.service,
    name: l.name,
    transport: l.transport,
    status: l.status,
    records: l.records.map((r) => ({ ...r })),
    error: l.error ? l.error.message : null,
    ms: Math.round(l.ms * 10) / 10,
  };
}

function _candidate(c: Candidate): Candidate {
  const out: Candidate = {
    transport: c.transport,
    host: c.host,
    port: c.port,
    serverName: c.serverName,
    alpn: c.alpn,
    priority: c.priority,
    weight: c.weight,
    source: c.source,
  };
  if (c.ips) out.ips = [...c.ips];
  if (c.pins) out.pins = [...c.pins];
  return out;
}

/**
 * Discover and probe an XMPP domain, and judge it: `"ok"` when at least one
 * candidate gives a secure stream (TLS under the policy, a certificate
 * valid for the domain, stream features over TLS).
 *
 * Discovery failures are part of the report (`status` `"no-service"` or
 * `"discovery-failed"`, with both lookups when they ran), never thrown.
 *
 * @example Discovery only, with an in-memory zone
 * ```ts
 * import { probe } from "./_probe_run.ts";
 * import { memoryResolver } from "../srv/memory_resolver.ts";
 *
 * const resolver = memoryResolver({
 *   "_xmpp-client._tcp.example.org": {
 *     srv: [{ priority: 10, weight: 5, port: 5222, target: "xmpp.example.org" }],
 *   },
 *   "_xmpps-client._tcp.example.org": {
 *     srv: [{ priority: 5, weight: 0, port: 443, target: "tls.example.org" }],
 *   },
 * });
 * const report = await probe("example.org", { resolver, connect: false });
 * for (const c of report.candidates) {
 *   console.log(c.transport, c.host, c.port, c.priority, c.weight);
 * }
 * // directtls tls.example.org 443 5 0
 * // starttls xmpp.example.org 5222 10 5
 * console.log(report.verdict); // discovered 2 candidates (not connected: --no-connect)
 * ```
 *
 * @param domain The JID domain (or a JID: its domainpart is used).
 * @param options Kind, resolver or name server, trust, timeout, connect,
 *   concurrency, seed, signal, progress.
 * @returns The report.
 * @throws {TypeError} For an invalid domain or option.
 * @throws {RangeError} For a timeout or concurrency out of range.
 * @throws {unknown} The signal's reason, when `options.signal` aborts.
 */
export async function probe(
  domain: string,
  options: ProbeOptions = {},
): Promise<ProbeReport> {
  const started = performance.now();
  const kind = options.kind ?? "client";
  const timeout = options.timeout ?? DEFAULT_CANDIDATE_TIMEOUT;
  if (!(typeof timeout === "number" && timeout > 0 && timeout < 2 ** 31)) {
    throw new RangeError(
      `timeout must be a positive number of milliseconds, got ${
        String(timeout)
      }`,
    );
  }
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `concurrency must be a positive integer, got ${String(concurrency)}`,
    );
  }
  const connect = options.connect ?? true;
  const ca = options.ca === undefined
    ? []
    : typeof options.ca === "string"
    ? [options.ca]
    : [...options.ca];
  const resolver = options.resolver ??
    dnsResolver(
      options.nameServer ? { nameServer: options.nameServer, timeout } : {
        timeout,
      },
    );
  const signal = options.signal;
  const progress = options.onProgress ?? (() => {});
  signal?.throwIfAborted();

  progress({ type: "discovering", domain });
  const finish = (
    fields: Omit<ProbeReport, "verdict" | "ms" | "secure"> & {
      secure?: number;
      reason?: "lookup-failed" | "no-usable-records";
    },
  ): ProbeReport => {
    const { reason, ...rest } = fields;
    const secure = fields.secure ?? 0;
    return {
      ...rest,
      secure,
      verdict: verdictOf({
        status: fields.status,
        domain: fields.domain,
        secure,
        total: fields.candidates.length,
        reason,
      }),
      ms: Math.round(performance.now() - started),
    };
  };

  let discovery;
  try {
    discovery = await discover(domain, {
      kind,
      resolver,
      timeout,
      signal,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    });
  } catch (e) {
    if (!(e instanceof DiscoveryError)) throw e;
    progress({ type: "discovered", total: 0 });
    return finish({
      domain: e.domain,
      kind,
      connect,
      lookups: {
        starttls: _lookup(e.lookups.starttls),
        directTls: _lookup(e.lookups.directTls),
      },
      skipped: [],
      candidates: [],
      status: e.code === "no-service" ? "no-service" : "discovery-failed",
      ...(e.code === "no-service" ? {} : { reason: e.code }),
      error: e.message,
    });
  }
  const total = discovery.candidates.length;
  progress({ type: "discovered", total });
  const candidates: CandidateReport[] = discovery.candidates.map((c) => ({
    ..._candidate(c),
    result: null,
  }));

  if (connect) {
    let next = 0;
    let finished = 0;
    const worker = async () => {
      while (next < total) {
        const index = next++;
        const candidate = discovery.candidates[index];
        const result = await probeCandidate(candidate, {
          resolver,
          ca,
          systemCa: options.systemCa,
          timeout,
          signal,
          onStep: (step) => progress({ type: "step", index, candidate, step }),
        });
        candidates[index].result = result;
        finished++;
        progress({
          type: "done",
          index,
          candidate,
          result,
          finished,
          total,
        });
      }
    };
    // Settle every worker (each closes its connections) before rethrowing.
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(concurrency, total) }, worker),
    );
    for (const s of settled) if (s.status === "rejected") throw s.reason;
  }

  const secure = candidates.filter((c) => c.result?.ok).length;
  const status: ProbeStatus = !connect
    ? "discovered"
    : secure > 0
    ? "ok"
    : "no-secure-candidate";
  return finish({
    domain: discovery.domain,
    kind,
    connect,
    lookups: {
      starttls: _lookup(discovery.lookups.starttls),
      directTls: _lookup(discovery.lookups.directTls),
    },
    skipped: discovery.skipped.map((s) => ({
      service: s.service,
      record: { ...s.record },
      reason: s.reason,
    })),
    candidates,
    secure,
    status,
    error: null,
  });
}
