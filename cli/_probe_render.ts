/**
 * Printing a {@linkcode ProbeReport}: {@linkcode renderText} for people
 * (DNS lookups, the candidate table, each candidate's findings, the
 * verdict) and {@linkcode renderJson} for programs (the report as one JSON
 * object).
 *
 * @module
 */

import type {
  CandidateReport,
  CandidateResult,
  LookupReport,
  ProbeReport,
} from "./_probe_report.ts";

/** Pad to `width` characters. */
function _pad(text: string, width: number): string {
  return text.length >= width
    ? text + " "
    : text + " ".repeat(width - text.length);
}

function _ms(ms: number | null): string {
  return ms === null ? "" : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function _lookupStatus(l: LookupReport): string {
  switch (l.status) {
    case "records":
      return `${l.records.length} record${l.records.length === 1 ? "" : "s"}`;
    case "unavailable":
      return 'target "." (the service is not offered)';
    case "empty":
      return "no records (NXDOMAIN or NODATA)";
    case "error":
      return `lookup failed: ${l.error}`;
  }
}

function _hostPort(c: { host: string; port: number }): string {
  return c.host.includes(":") ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;
}

function _dnsSection(report: ProbeReport, out: string[]): void {
  if (report.lookups === null) return;
  out.push("DNS");
  const lookups = [report.lookups.starttls, report.lookups.directTls];
  const width = Math.max(...lookups.map((l) => l.name.length)) + 2;
  for (const l of lookups) {
    out.push(`  ${_pad(l.name, width)}${_lookupStatus(l)} (${_ms(l.ms)})`);
    for (const r of l.records) {
      const target = r.target === "." || r.target === "" ? "." : `${r.target}.`;
      out.push(
        `    priority ${r.priority}  weight ${r.weight}  port ${r.port}  ${target}`,
      );
    }
  }
  for (const s of report.skipped) {
    const why = s.reason === "no-service"
      ? 'target "." among other records'
      : "port 0";
    out.push(
      `  skipped from ${s.service}: ${s.record.priority} ${s.record.weight} ${s.record.port} ${s.record.target} (${why})`,
    );
  }
  out.push("");
}

function _candidateTable(report: ProbeReport, out: string[]): void {
  if (report.candidates.length === 0) return;
  out.push(
    "Candidates, in dialling order (one RFC 2782 order over both services)",
  );
  const rows = [
    ["#", "transport", "host:port", "priority", "weight", "source"],
    ...report.candidates.map((c, i) => [
      String(i + 1),
      c.transport,
      _hostPort(c),
      String(c.priority),
      String(c.weight),
      c.source === "fallback"
        ? "fallback (no SRV records: RFC 6120)"
        : c.source,
    ]),
  ];
  const widths = rows[0].map((_, col) =>
    Math.max(...rows.map((r) => r[col].length)) + 2
  );
  for (const row of rows) {
    out.push(
      "  " +
        row.map((cell, col) =>
          col === row.length - 1 ? cell : _pad(cell, widths[col])
        ).join(""),
    );
  }
  out.push("");
}

function _field(out: string[], name: string, value: string): void {
  out.push(`   ${_pad(name, 13)}${value}`);
}

function _resultLines(r: CandidateResult, out: string[]): void {
  if (r.addresses.length > 0) {
    _field(out, "addresses", r.addresses.join(", "));
    for (const e of r.tcpErrors) _field(out, "", `TCP failed: ${e}`);
    if (r.address !== null) {
      _field(out, "TCP", `connected to ${r.address} in ${_ms(r.tcpMs)}`);
    }
  }
  if (r.starttls !== null) {
    _field(
      out,
      "STARTTLS",
      r.starttls === "none"
        ? "NOT offered"
        : `offered, ${
          r.starttls === "required" ? "required" : "optional (not required)"
        }`,
    );
  }
  if (r.tlsVersion !== null) {
    _field(
      out,
      "TLS",
      `${r.tlsVersion}, ${r.cipher ?? "unknown cipher"}, ALPN ${
        r.alpn ?? "none selected"
      }, SNI ${r.sni}${r.tlsMs !== null ? `, ${_ms(r.tlsMs)}` : ""}`,
    );
    if (r.inspected) {
      _field(
        out,
        "",
        "(from a second, non-verifying handshake, to show what the server presents)",
      );
    }
  }
  const cert = r.certificate;
  if (cert !== null) {
    _field(out, "certificate", cert.subject ?? "(no subject)");
    const names = [
      ...cert.dnsNames,
      ...cert.srvNames.map((n) => `SRV:${n}`),
      ...cert.xmppAddrs.map((n) => `XmppAddr:${n}`),
    ];
    _field(out, "", `names: ${names.length > 0 ? names.join(", ") : "none"}`);
    if (cert.validTo !== null) {
      const days = cert.daysLeft ?? 0;
      _field(
        out,
        "",
        days < 0
          ? `EXPIRED on ${cert.validTo.slice(0, 10)} (${-days} days ago)`
          : `expires ${cert.validTo.slice(0, 10)} (in ${days} days)${
            days < 14 ? " SOON" : ""
          }`,
      );
    }
    _field(
      out,
      "",
      r.certificateValid === true
        ? `valid for ${r.sni}${r.identity ? ` (${r.identity})` : ""}`
        : r.certificateValid === false
        ? `NOT valid for ${r.sni}`
        : `validity for ${r.sni} not established`,
    );
  }
  if (r.ok) {
    _field(
      out,
      "features",
      `${r.features.join(", ") || "none"}${
        r.mechanisms.length > 0 ? ` (SASL: ${r.mechanisms.join(", ")})` : ""
      }`,
    );
  }
  if (r.error !== null) {
    _field(out, "error", `${r.failedStep}: ${r.error}`);
  }
}

function _candidateSection(
  c: CandidateReport,
  index: number,
  out: string[],
): void {
  const r = c.result;
  if (r === null) return;
  out.push(
    `${index + 1}. ${c.transport} ${_hostPort(c)}  ${
      r.ok ? "SECURE" : "FAILED"
    }  (${_ms(r.ms)})`,
  );
  _resultLines(r, out);
  out.push("");
}

/**
 * The report for people: the DNS lookups (records, `.` targets, errors),
 * the candidates with priorities and weights, what each candidate showed,
 * and the verdict.
 *
 * @example
 * ```ts
 * import { renderText } from "./_probe_render.ts";
 * import { probe } from "./_probe_run.ts";
 * import { memoryResolver } from "../srv/memory_resolver.ts";
 *
 * const report = await probe("example.org", {
 *   resolver: memoryResolver({}),
 *   connect: false,
 * });
 * console.log(renderText(report).includes("fallback (no SRV records")); // true
 * ```
 *
 * @param report The probe's report.
 * @returns Lines of text, ending with a newline.
 */
export function renderText(report: ProbeReport): string {
  const out: string[] = [
    `XMPP ${
      report.kind === "client" ? "client-to-server" : "server-to-server"
    } probe of ${report.domain}`,
    "",
  ];
  _dnsSection(report, out);
  _candidateTable(report, out);
  report.candidates.forEach((c, i) => _candidateSection(c, i, out));
  if (report.error !== null && report.status !== "no-service") {
    out.push(`error: ${report.error}`, "");
  }
  out.push(`Verdict: ${report.verdict}`);
  return out.join("\n") + "\n";
}

/**
 * The report for programs: one JSON object, `domain`, `kind`, `lookups`,
 * `skipped`, `candidates[]` (each candidate's discovery fields and its
 * `result`: `ok`, `tlsVersion`, `alpn`, `certificateValid`, `error`, …),
 * `secure`, `status` and `verdict`.
 *
 * @example
 * ```ts
 * import { renderJson } from "./_probe_render.ts";
 * import { probe } from "./_probe_run.ts";
 * import { memoryResolver } from "../srv/memory_resolver.ts";
 *
 * const report = await probe("example.org", {
 *   resolver: memoryResolver({}),
 *   connect: false,
 * });
 * const json = JSON.parse(renderJson(report));
 * console.log(json.candidates[0].port, json.candidates[0].result); // 5222 null
 * ```
 *
 * @param report The probe's report.
 * @returns Indented JSON text, ending with a newline.
 */
export function renderJson(report: ProbeReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
