/**
 * The probe report: what `probe()` finds out about a domain, as plain data
 * (strings, numbers, booleans, `null`, arrays and objects only), so that
 * `JSON.stringify(report)` is the `--json` output as it is. Also the verdict
 * and the exit code derived from it.
 *
 * @module
 */

import type { Candidate } from "../srv/candidate.ts";
import type { SrvRecord } from "../srv/resolver.ts";
import type { StreamKind } from "../srv/services.ts";

/** One step of probing a candidate, in the order they run. */
export type ProbeStep =
  /** Resolving the candidate's host to addresses. */
  | "resolve"
  /** The TCP connect. */
  | "tcp"
  /** The plaintext stream header and features (STARTTLS candidates). */
  | "stream"
  /** `<starttls/>` and the server's answer. */
  | "starttls"
  /** The TLS handshake. */
  | "tls"
  /** The stream header and features over TLS. */
  | "features";

/** The certificate the server presented, as far as it could be read. */
export interface CertificateReport {
  /** The subject, such as `"O=Example, CN=example.org"`, when known. */
  subject: string | null;
  /** subjectAltName DNS names. */
  dnsNames: string[];
  /** SRV-IDs (RFC 4985), such as `"_xmpp-client.example.org"`. */
  srvNames: string[];
  /** XmppAddr identifiers. */
  xmppAddrs: string[];
  /** The not-after time as an ISO 8601 string, when known. */
  validTo: string | null;
  /** Whole days from the probe until `validTo` (negative once expired). */
  daysLeft: number | null;
}

/** How probing one candidate went. */
export interface CandidateResult {
  /**
   * A secure stream was established under the full TLS policy: TLS 1.2+,
   * a trusted certificate valid for the domain, and the server's stream
   * features read over TLS.
   */
  ok: boolean;
  /** The addresses the host resolved to, in dialling order. */
  addresses: string[];
  /** The address the TCP connection was made to, or `null`. */
  address: string | null;
  /** Milliseconds the successful TCP connect took, or `null`. */
  tcpMs: number | null;
  /** Addresses TCP failed on, each as `"address: reason"`, in order. */
  tcpErrors: string[];
  /**
   * STARTTLS candidates: what the plaintext features offered (`"required"`,
   * `"optional"`, `"none"`), or `null` if not reached; Direct TLS: `null`.
   */
  starttls: "required" | "optional" | "none" | null;
  /** The SNI name sent: the domain, never the SRV target. */
  sni: string;
  /** The TLS version, such as `"TLSv1.3"`, or `null` if none was negotiated. */
  tlsVersion: string | null;
  /** The cipher suite, or `null`. */
  cipher: string | null;
  /** The ALPN protocol the server selected, or `null` (none, or no TLS). */
  alpn: string | null;
  /** Milliseconds the TLS handshake took, or `null`. */
  tlsMs: number | null;
  /** The server's certificate, or `null` if none was seen. */
  certificate: CertificateReport | null;
  /**
   * Whether the certificate is trusted and valid for the domain: `true`
   * only when the verifying handshake accepted it (and the identity check
   * run here on it agreed), `false` when it was refused, `null` when no
   * certificate was seen or the handshake failed for another reason.
   */
  certificateValid: boolean | null;
  /** The identifier that matched the domain, such as `"dns-id example.org"`. */
  identity: string | null;
  /**
   * `true` when the TLS details and the certificate come from a second,
   * non-verifying handshake made only to show what the server presents
   * after the verifying one refused it. Such a certificate is never called
   * valid.
   */
  inspected: boolean;
  /** Names of the stream features offered over TLS, such as `"mechanisms"`. */
  features: string[];
  /** SASL mechanisms offered over TLS. */
  mechanisms: string[];
  /** What went wrong, for a person, or `null`. */
  error: string | null;
  /**
   * What went wrong, for a program: a `TlsError` code (`"name-mismatch"`,
   * …), a stream error condition, or one of `"resolve-failed"`,
   * `"tcp-failed"`, `"timeout"`, `"starttls-not-offered"`,
   * `"starttls-failure"`, `"starttls-unexpected"`, `"identity-mismatch"`;
   * `null` when ok.
   */
  errorCode: string | null;
  /** The step that failed, or `null`. */
  failedStep: ProbeStep | null;
  /** Milliseconds the whole candidate took. */
  ms: number;
}

/** A candidate as discovery ranked it, with how probing it went. */
export interface CandidateReport extends Candidate {
  /** How probing went; `null` with `--no-connect`. */
  result: CandidateResult | null;
}

/** One SRV lookup, as the report shows it. */
export interface LookupReport {
  /** The service, such as `"_xmpp-client._tcp"`. */
  service: string;
  /** The name looked up. */
  name: string;
  /** The transport its records mean. */
  transport: "starttls" | "directtls";
  /**
   * `"records"`, `"unavailable"` (target `.`), `"empty"` (NXDOMAIN or
   * NODATA) or `"error"`.
   */
  status: "records" | "unavailable" | "empty" | "error";
  /** The records, in answer order. */
  records: SrvRecord[];
  /** Why the lookup failed, or `null`. */
  error: string | null;
  /** Milliseconds the lookup took. */
  ms: number;
}

/** A record that did not become a candidate. */
export interface SkippedReport {
  /** The service it came from. */
  service: string;
  /** The record. */
  record: SrvRecord;
  /** `"no-service"` (target `.`) or `"port-0"`. */
  reason: "no-service" | "port-0";
}

/**
 * The overall outcome:
 * - `"ok"`: at least one candidate gave a secure stream;
 * - `"no-secure-candidate"`: candidates were found, none worked securely;
 * - `"no-service"`: `_xmpp-*` has the target `.` (no XMPP service);
 * - `"discovery-failed"`: lookups failed, or no record was usable;
 * - `"discovered"`: `--no-connect`, candidates found and not probed.
 */
export type ProbeStatus =
  | "ok"
  | "no-secure-candidate"
  | "no-service"
  | "discovery-failed"
  | "discovered";

/** Everything the probe found out about a domain. */
export interface ProbeReport {
  /** The JID domain as an A-label. */
  domain: string;
  /** `"client"` (c2s) or `"server"` (s2s). */
  kind: StreamKind;
  /** Whether candidates were connected to (`false` with `--no-connect`). */
  connect: boolean;
  /** Both SRV lookups, or `null` if discovery did not get that far. */
  lookups: { starttls: LookupReport; directTls: LookupReport } | null;
  /** Records that were skipped. */
  skipped: SkippedReport[];
  /** The candidates in dialling order, each with its result. */
  candidates: CandidateReport[];
  /** How many candidates gave a secure stream. */
  secure: number;
  /** The overall outcome. */
  status: ProbeStatus;
  /** The outcome in words, such as `"ok: 2 secure candidates"`. */
  verdict: string;
  /** Why discovery failed, or `null`. */
  error: string | null;
  /** Milliseconds the whole probe took. */
  ms: number;
}

/** `"1 candidate"`, `"2 candidates"`. */
function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * The verdict sentence for a report's status and candidates.
 *
 * @example
 * ```ts
 * import { verdictOf } from "./_probe_report.ts";
 * console.log(verdictOf({ status: "ok", domain: "example.org", secure: 2, total: 2 }));
 * // ok: 2 secure candidates
 * ```
 *
 * @param facts The status, domain, number of secure candidates, number of
 *   candidates, and for `"discovery-failed"` why (the `DiscoveryError`
 *   code; default `"lookup-failed"`).
 * @returns The verdict.
 */
export function verdictOf(facts: {
  status: ProbeStatus;
  domain: string;
  secure: number;
  total: number;
  reason?: "lookup-failed" | "no-usable-records";
}): string {
  const { status, domain, secure, total } = facts;
  switch (status) {
    case "ok":
      return secure === total
        ? `ok: ${count(secure, "secure candidate")}`
        : `ok: ${count(secure, "secure candidate")} of ${total} (${
          total - secure
        } failed)`;
    case "no-secure-candidate":
      return `no secure candidate: all ${
        count(total, "candidate")
      } of ${domain} failed`;
    case "no-service":
      return `no service: ${domain} declares that it offers no XMPP service (SRV target ".")`;
    case "discovery-failed":
      return facts.reason === "no-usable-records"
        ? `discovery failed: ${domain} publishes SRV records, but none can be used`
        : `discovery failed: the SRV lookups of ${domain} failed`;
    case "discovered":
      return `discovered ${
        count(total, "candidate")
      } (not connected: --no-connect)`;
  }
}

/**
 * The process exit code for a report: 0 when a secure candidate works (or,
 * with `--no-connect`, when candidates were found), 1 otherwise. Usage
 * errors exit with 2 before any report exists.
 *
 * @example
 * ```ts
 * import { exitCodeOf } from "./_probe_report.ts";
 * console.log(exitCodeOf({ status: "no-service" })); // 1
 * ```
 *
 * @param report The report, or just its status.
 * @returns 0 or 1.
 */
export function exitCodeOf(report: Pick<ProbeReport, "status">): number {
  return report.status === "ok" || report.status === "discovered" ? 0 : 1;
}
