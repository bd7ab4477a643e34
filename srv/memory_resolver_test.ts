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

Deno.test("memoryResolver: SRV addresses pass through", async () => {
  const r = memoryResolver({
    "_xmpp-client._tcp.example.org": {
      srv: [{
        priority: 0,
        weight: 0,
        port: 5222,
        target: "xmpp.example.org",
        addresses: ["2001:db8::1", "192.0.2.1"],
      }],
    },
  });
  const first = await r.srv("_xmpp-client._tcp.example.org");
  assert.deepEqual(first[0].addresses, ["2001:db8::1", "192.0.2.1"]);
  first[0].addresses!.push("192.0.2.9");
  const again = await r.srv("_xmpp-client._tcp.example.org");
  assert.deepEqual(again[0].addresses, ["2001:db8::1", "192.0.2.1"]);
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

Deno.test("memoryResolver: per-type answers", async (t) => {
  await t.step(
    "one type fails, hangs or is slow; the other answers",
    async () => {
      const r = memoryResolver({
        "x.example": {
          a: { records: ["192.0.2.1"], delayMs: 30 },
          aaaa: { fail: "server failure" },
        },
        "y.example": { a: ["192.0.2.2"], aaaa: { hang: true } },
      });
      const e = await r.aaaa("x.example").catch((e) => e);
      assert.ok(e instanceof ResolveError);
      assert.equal(e.recordType, "AAAA");
      assert.deepEqual(await r.a("x.example"), ["192.0.2.1"]);
      const [aaaa, a] = r.queries;
      assert.equal(aaaa.outcome, "error");
      assert.ok(a.end! - a.start >= 25, `${a.end! - a.start}`);
      assert.deepEqual(await r.a("y.example"), ["192.0.2.2"]);
      const signal = AbortSignal.timeout(10);
      const hung = await r.aaaa("y.example", { signal }).catch((e) => e);
      assert.equal(hung.name, "TimeoutError");
      assert.equal(r.queries[3].outcome, "aborted");
      assert.equal(r.queries[3].signal, signal);
      assert.equal(r.queries[2].signal, undefined);
    },
  );

  await t.step("a type's own fields override the name's", async () => {
    const r = memoryResolver({
      "z.example": {
        fail: "refused",
        delayMs: 5,
        a: { records: ["192.0.2.3"], fail: undefined },
        aaaa: ["2001:db8::3"],
      },
    });
    // `fail: undefined` is "not set": the name's failure applies.
    await assert.rejects(r.a("z.example"), /refused/);
    await assert.rejects(r.aaaa("z.example"), /refused/);
    await assert.rejects(r.srv("z.example"), /refused/);
    const ok = memoryResolver({
      "z.example": { hang: true, a: { records: ["192.0.2.3"], hang: false } },
    });
    assert.deepEqual(await ok.a("z.example"), ["192.0.2.3"]);
  });

  await t.step("a held answer waits for the test's release", async () => {
    const release = Promise.withResolvers<void>();
    const r = memoryResolver({
      "held.example": {
        a: ["192.0.2.1"],
        aaaa: { records: ["2001:db8::1"], holdUntil: release.promise },
      },
    });
    let answered = false;
    const aaaa = r.aaaa("held.example").then((x) => (answered = true, x));
    assert.deepEqual(await r.a("held.example"), ["192.0.2.1"]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(answered, false);
    assert.equal(r.queries[0].end, undefined);
    release.resolve();
    assert.deepEqual(await aaaa, ["2001:db8::1"]);
    assert.equal(r.queries[0].outcome, "answer");
    // Released: later lookups answer at once.
    assert.deepEqual(await r.aaaa("held.example"), ["2001:db8::1"]);
  });

  await t.step("a hold that rejects fails the lookup", async () => {
    const hold = Promise.withResolvers<void>();
    const r = memoryResolver({
      "held.example": {
        a: { records: ["192.0.2.1"], holdUntil: hold.promise },
      },
    });
    const pending = r.a("held.example");
    const reason = new ResolveError("held.example", "A", "refused");
    hold.reject(reason);
    await assert.rejects(pending, (e) => e === reason);
    assert.equal(r.queries[0].outcome, "error");
  });

  await t.step("a held answer is abortable", async () => {
    const r = memoryResolver({
      "held.example": { a: { holdUntil: new Promise(() => {}) } },
    });
    const controller = new AbortController();
    const pending = r.a("held.example", { signal: controller.signal });
    controller.abort(new Error("gave up"));
    await assert.rejects(pending, /gave up/);
    assert.equal(r.queries[0].outcome, "aborted");
  });

  await t.step("the zone's records are copied", async () => {
    const records = ["192.0.2.1"];
    const r = memoryResolver({ "c.example": { a: { records } } });
    records.push("192.0.2.2");
    assert.deepEqual(await r.a("c.example"), ["192.0.2.1"]);
  });
});

Deno.test("memoryResolver: bad zones", async (t) => {
  const table: [string, unknown, ErrorConstructor][] = [
    ["null", null, TypeError],
    ["an array", [], TypeError],
    ["an entry that is a number", { "a.example": 3 }, TypeError],
    ["an entry that is an array", { "a.example": [] }, TypeError],
    ["a type that is a string", { "a.example": { a: "192.0.2.1" } }, TypeError],
    ["records not an array", { "a.example": { a: { records: 1 } } }, TypeError],
    ["fail not a string", { "a.example": { aaaa: { fail: true } } }, TypeError],
    ["holdUntil not a promise", {
      "a.example": { a: { holdUntil: 5 } },
    }, TypeError],
    ["negative delay", { "a.example": { delayMs: -1 } }, RangeError],
    ["NaN delay on a type", {
      "a.example": { a: { delayMs: NaN } },
    }, RangeError],
  ];
  for (const [name, zone, type] of table) {
    await t.step(name, () => {
      assert.throws(() => memoryResolver(zone as never), type);
    });
  }
});
