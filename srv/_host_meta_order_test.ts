import assert from "node:assert/strict";
import { rfc2782Order } from "./_host_meta_order.ts";

/** A seeded PRNG (mulberry32), so draws are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("host-meta order: RFC 2782", async (t) => {
  await t.step("ascending priority, input untouched", () => {
    const input = [
      { id: "c", priority: 30, weight: 1 },
      { id: "a", priority: 10, weight: 1 },
      { id: "b", priority: 20, weight: 1 },
    ];
    const copy = structuredClone(input);
    assert.deepEqual(
      rfc2782Order(input, seeded(1)).map((e) => e.id),
      ["a", "b", "c"],
    );
    assert.deepEqual(input, copy);
  });

  await t.step("empty", () => {
    assert.deepEqual(rfc2782Order([], Math.random), []);
  });

  await t.step("a draw of 0 picks a weight-0 entry first", () => {
    const order = rfc2782Order([
      { id: "heavy", priority: 0, weight: 100 },
      { id: "zero", priority: 0, weight: 0 },
    ], () => 0);
    assert.deepEqual(order.map((e) => e.id), ["zero", "heavy"]);
  });

  await t.step("a high draw picks the heavy entry first", () => {
    const order = rfc2782Order([
      { id: "zero", priority: 0, weight: 0 },
      { id: "heavy", priority: 0, weight: 100 },
    ], () => 0.99);
    assert.deepEqual(order.map((e) => e.id), ["heavy", "zero"]);
  });

  await t.step("all weights 0: every entry still comes out once", () => {
    const order = rfc2782Order([
      { id: "x", priority: 0, weight: 0 },
      { id: "y", priority: 0, weight: 0 },
    ], () => 0.7);
    assert.deepEqual(order.map((e) => e.id).sort(), ["x", "y"]);
  });

  await t.step("first picks follow the weights (seeded, 20000 draws)", () => {
    const random = seeded(42);
    const entries = [
      { id: "w0", priority: 5, weight: 0 },
      { id: "w10", priority: 5, weight: 10 },
      { id: "w30", priority: 5, weight: 30 },
      { id: "w60", priority: 5, weight: 60 },
    ];
    const counts: Record<string, number> = { w0: 0, w10: 0, w30: 0, w60: 0 };
    const n = 20000;
    for (let i = 0; i < n; i++) counts[rfc2782Order(entries, random)[0].id]++;
    // Expected shares: weight / (sum + 1) for the weighted ones, 1 / 101 for
    // weight 0 (the draw of exactly 0).
    const expected = {
      w0: 1 / 101,
      w10: 10 / 101,
      w30: 30 / 101,
      w60: 60 / 101,
    };
    for (const [id, share] of Object.entries(expected)) {
      const got = counts[id] / n;
      assert.ok(
        Math.abs(got - share) < 0.015,
        `${id}: got ${got}, expected about ${share}`,
      );
    }
    assert.ok(counts.w0 > 0, "weight 0 keeps a small chance");
  });

  await t.step("same seed, same order", () => {
    const entries = Array.from({ length: 8 }, (_, i) => ({
      id: i,
      priority: i % 2,
      weight: i * 3,
    }));
    assert.deepEqual(
      rfc2782Order(entries, seeded(7)),
      rfc2782Order(entries, seeded(7)),
    );
  });
});
