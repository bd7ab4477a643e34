import assert from "node:assert/strict";
import { formatTimeline, roundTrips, Timeline } from "./timeline.ts";

Deno.test("Timeline", async (t) => {
  await t.step("begin/end records times since the origin", async () => {
    const timeline = new Timeline(performance.now() - 100);
    const done = timeline.begin("dns");
    await new Promise((r) => setTimeout(r, 10));
    const e = done("2 records");
    assert.equal(e.step, "dns");
    assert.ok(e.start >= 100 && e.start < 150, `start ${e.start}`);
    assert.ok(e.end - e.start >= 9, `duration ${e.end - e.start}`);
    assert.equal(e.detail, "2 records");
    assert.ok(Math.abs(timeline.startedAt - (Date.now() - 110)) < 50);
  });

  await t.step("get() gives the last entry of a step; end the latest", () => {
    const timeline = new Timeline();
    timeline.add({ step: "features", start: 1, end: 2 });
    timeline.add({ step: "features", start: 5, end: 6, detail: "secure" });
    timeline.add({ step: "tcp", start: 0, end: 1 });
    assert.equal(timeline.get("features")?.detail, "secure");
    assert.equal(timeline.get("bind"), undefined);
    assert.equal(timeline.end, 6);
    assert.equal(new Timeline().end, 0);
  });

  await t.step("toJSON sorts by start and copies", () => {
    const timeline = new Timeline();
    timeline.add({ step: "tls", start: 3, end: 4 });
    timeline.add({ step: "tcp", start: 1, end: 3 });
    const json = timeline.toJSON();
    assert.deepEqual(json.entries.map((e) => e.step), ["tcp", "tls"]);
    json.entries[0].end = 99;
    assert.equal(timeline.get("tcp")?.end, 3);
    assert.equal(
      JSON.parse(JSON.stringify(timeline)).entries[1].step,
      "tls",
    );
  });

  await t.step("bad origin", () => {
    assert.throws(() => new Timeline(NaN), TypeError);
  });
});

Deno.test("formatTimeline", async (t) => {
  const timeline = new Timeline();
  timeline.add({ step: "tls", start: 50, end: 100, detail: "TLSv1.3" });
  timeline.add({ step: "tcp", start: 0, end: 50 });

  await t.step("one line per step, sorted, with round trips", () => {
    const text = formatTimeline(timeline, { rtt: 50 });
    const lines = text.split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[0], /0\.0 →\s+50\.0 ms\s+50\.0 ms\s+1\.0 RTT {2}tcp$/);
    assert.match(lines[1], /1\.0 RTT {2}tls {10}TLSv1\.3$/);
  });

  await t.step("entries and digits", () => {
    const text = formatTimeline(timeline.entries, { digits: 0 });
    assert.match(text, /^ {6}0 → {6}50 ms {6}50 ms {2}tcp$/m);
    assert.doesNotMatch(text, /RTT/);
  });

  await t.step("bad options", () => {
    assert.throws(() => formatTimeline(timeline, { rtt: 0 }), RangeError);
    assert.throws(() => formatTimeline(timeline, { digits: 1.5 }), RangeError);
  });
});

Deno.test("roundTrips", () => {
  const entries = [
    { step: "tcp" as const, start: 10, end: 11 },
    { step: "tls" as const, start: 11, end: 61 },
    { step: "stream-open" as const, start: 61, end: 112 },
  ];
  assert.equal(roundTrips(entries, 50), 2);
  assert.equal(roundTrips(entries, 50, ["tls", "stream-open"]), 2);
  assert.equal(roundTrips(entries, 25, ["tls"]), 2);
  assert.equal(roundTrips(entries, 50, ["bind"]), 0);
  assert.throws(() => roundTrips(entries, -1), RangeError);
});
