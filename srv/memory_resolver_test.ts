import assert from "node:assert/strict";
import { memoryResolver } from "./memory_resolver.ts";
import { ResolveError } from "./resolver.ts";

const zone = {
  "_xmpp-client._tcp.Example.ORG.": {
    srv: [{ priority: 1, weight: 2, port: 5222, target: "xmpp.example.org" }],
  },
  "xmpp.example.org": { a: ["192.0.2.1"], aaaa: ["2001:db8::1"] },
  "v4only.example.org": { a: ["192.0.2.2"] },
  "broken.example.org": { fail: "server failure" },
  "stuck.example.org": { hang: true },
  "slow.example.org": { a: ["192.0.2.3"], delayMs: 30 },
};

Deno.test("memoryResolver: answers", async (t) => {
  const r = memoryResolver(zone);
  const table: [string, () => Promise<unknown>, unknown][] = [
    [
      "SRV, name matched case-insensitively without the trailing dot",
      () => r.srv("_XMPP-client._tcp.example.org"),
      [{ priority: 1, weight: 2, port: 5222, target: "xmpp.example.org" }],
    ],
    ["A", () => r.a("xmpp.example.org."), ["192.0.2.1"]],
    ["AAAA", () => r.aaaa("xmpp.example.org"), ["2001:db8::1"]],
    ["NODATA is []", () => r.aaaa("v4only.example.org"), []],
    ["NXDOMAIN is []", () => r.srv("_xmpps-client._tcp.example.org"), []],
    ["a delayed answer", () => r.a("slow.example.org"), ["192.0.2.3"]],
  ];
  for (const [name, f, want] of table) {
    await t.step(name, async () => assert.deepEqual(await f(), want));
  }
});

Deno.test("memoryResolver: answers are copies", async () => {
  const r = memoryResolver(zone);
  const first = await r.a("xmpp.example.org");
  first.push("203.0.113.9");
  assert.deepEqual(await r.a("xmpp.example.org"), ["192.0.2.1"]);
});

Deno.test("memoryResolver: failures, hangs, aborts", async (t) => {
  await t.step(
    "fail rejects with a ResolveError naming the query",
    async () => {
      const r = memoryResolver(zone);
      const e = await r.srv("broken.example.org").catch((e) => e);
      assert.ok(e instanceof ResolveError);
      assert.equal(e.query, "broken.example.org");
      assert.equal(e.recordType, "SRV");
      assert.match(e.message, /server failure/);
      assert.equal(r.queries[0].outcome, "error");
    },
  );
  await t.step("hang rejects with the signal's reason", async () => {
    const r = memoryResolver(zone);
    const e = await r.a("stuck.example.org", {
      signal: AbortSignal.timeout(20),
    }).catch((e) => e);
    assert.equal(e.name, "TimeoutError");
    assert.equal(r.queries[0].outcome, "aborted");
    assert.ok(r.queries[0].end! - r.queries[0].start >= 15);
  });
  await t.step("an aborted signal rejects at once", async () => {
    const r = memoryResolver(zone);
    const ac = new AbortController();
    ac.abort(new Error("stop"));
    await assert.rejects(
      r.a("xmpp.example.org", { signal: ac.signal }),
      /stop/,
    );
  });
  await t.step("a delay is abortable", async () => {
    const r = memoryResolver(zone);
    const ac = new AbortController();
    const p = r.a("slow.example.org", { signal: ac.signal });
    ac.abort(new Error("cancelled"));
    await assert.rejects(p, /cancelled/);
  });
});

Deno.test("memoryResolver: query log and counts", async () => {
  const r = memoryResolver(zone);
  await Promise.all([
    r.a("slow.example.org"),
    r.aaaa("slow.example.org"),
    r.srv("_xmpp-client._tcp.example.org"),
  ]);
  assert.equal(r.queries.length, 3);
  assert.equal(r.count(), 3);
  assert.equal(r.count("SLOW.example.org."), 2);
  assert.equal(r.count("slow.example.org", "A"), 1);
  assert.equal(r.count(undefined, "SRV"), 1);
  const [a, aaaa] = r.queries;
  // Started together, so they overlapped.
  assert.ok(a.start < aaaa.end! && aaaa.start < a.end!);
  for (const q of r.queries) assert.equal(q.outcome, "answer");
});

Deno.test("memoryResolver: bad zones", () => {
  assert.throws(() => memoryResolver(null as never), TypeError);
  assert.throws(() => memoryResolver([] as never), TypeError);
  assert.throws(() => memoryResolver({ "a.example": 3 as never }), TypeError);
});
