import assert from "node:assert/strict";
import { exitCodeOf, verdictOf } from "./_probe_report.ts";

Deno.test("verdictOf: every status", () => {
  const base = { domain: "example.org", secure: 0, total: 0 };
  assert.equal(
    verdictOf({ ...base, status: "ok", secure: 1, total: 1 }),
    "ok: 1 secure candidate",
  );
  assert.equal(
    verdictOf({ ...base, status: "ok", secure: 2, total: 3 }),
    "ok: 2 secure candidates of 3 (1 failed)",
  );
  assert.equal(
    verdictOf({ ...base, status: "no-secure-candidate", total: 2 }),
    "no secure candidate: all 2 candidates of example.org failed",
  );
  assert.match(
    verdictOf({ ...base, status: "no-service" }),
    /^no service: example\.org .*"\."/,
  );
  assert.equal(
    verdictOf({ ...base, status: "discovery-failed" }),
    "discovery failed: the SRV lookups of example.org failed",
  );
  assert.equal(
    verdictOf({
      ...base,
      status: "discovery-failed",
      reason: "no-usable-records",
    }),
    "discovery failed: example.org publishes SRV records, but none can be used",
  );
  assert.equal(
    verdictOf({ ...base, status: "discovered", total: 1 }),
    "discovered 1 candidate (not connected: --no-connect)",
  );
});

Deno.test("exitCodeOf: 0 only for ok and discovered", () => {
  assert.equal(exitCodeOf({ status: "ok" }), 0);
  assert.equal(exitCodeOf({ status: "discovered" }), 0);
  assert.equal(exitCodeOf({ status: "no-secure-candidate" }), 1);
  assert.equal(exitCodeOf({ status: "no-service" }), 1);
  assert.equal(exitCodeOf({ status: "discovery-failed" }), 1);
});
