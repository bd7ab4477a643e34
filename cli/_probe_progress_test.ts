import assert from "node:assert/strict";
import type { Candidate } from "../srv/candidate.ts";
import { progressLine } from "./_probe_progress.ts";
import type { CandidateResult } from "./_probe_report.ts";

const candidate = (host: string, port: number): Candidate => ({
  transport: "starttls",
  host,
  port,
  serverName: "example.org",
  alpn: "xmpp-client",
  priority: 0,
  weight: 0,
  source: "srv",
});

Deno.test("progressLine: one line rewritten in place, then cleared", () => {
  const writes: string[] = [];
  const line = progressLine((t) => writes.push(t));
  line.clear(); // nothing shown yet: nothing written
  assert.deepEqual(writes, []);
  const a = candidate("a.example.org", 5222);
  const b = candidate("2001:db8::1", 5223);
  line.onProgress({ type: "discovering", domain: "example.org" });
  line.onProgress({ type: "discovered", total: 2 });
  line.onProgress({ type: "step", index: 0, candidate: a, step: "tcp" });
  line.onProgress({ type: "step", index: 1, candidate: b, step: "tls" });
  line.onProgress({
    type: "done",
    index: 0,
    candidate: a,
    result: {} as CandidateResult,
    finished: 1,
    total: 2,
  });
  line.clear();
  line.clear();
  assert.deepEqual(writes, [
    "\r\x1b[2Kexample.org: looking up SRV records…",
    "\r\x1b[2Kexample.org: 2 candidates",
    "\r\x1b[2Kexample.org: 0/2 done; a.example.org:5222 TCP…",
    "\r\x1b[2Kexample.org: 0/2 done; a.example.org:5222 TCP, [2001:db8::1]:5223 TLS…",
    "\r\x1b[2Kexample.org: 1/2 done; [2001:db8::1]:5223 TLS…",
    "\r\x1b[2K",
  ]);
});

Deno.test("progressLine: cut to the terminal width", () => {
  const writes: string[] = [];
  const line = progressLine((t) => writes.push(t), { columns: 30 });
  line.onProgress({ type: "discovering", domain: "a-long-domain.example.org" });
  const shown = writes[0].slice("\r\x1b[2K".length);
  assert.equal(shown.length, 29);
  assert.ok(shown.endsWith("…"));
});
