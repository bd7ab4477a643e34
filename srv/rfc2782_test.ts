import assert from "node:assert/strict";
import { rfc2782Order, seededRandom } from "./rfc2782.ts";

/** A random source that returns the given numbers in turn. */
function scripted(...xs: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= xs.length) throw new Error("scripted random ran out");
    return xs[i++];
  };
}

/** The x in [0, 1) that draws the integer r from [0, sum]. */
function drawing(r: number, sum: number): number {
  return (r + 0.5) / (sum + 1);
}

type R = { priority: number; weight: number; id: string };
const rec = (id: string, priority: number, weight: number): R => ({
  id,
  priority,
  weight,
});

Deno.test("rfc2782Order: rules", async (t) => {
  const table: {
    name: string;
    records: R[];
    random: () => number;
    want: string[];
  }[] = [
    { name: "empty", records: [], random: scripted(), want: [] },
    {
      name: "one record",
      records: [rec("a", 5, 5)],
      random: scripted(0.9),
      want: ["a"],
    },
    {
      name: "ascending priority across groups, whatever the weights",
      records: [rec("p3", 3, 100), rec("p1", 1, 0), rec("p2", 2, 50)],
      random: scripted(0.9, 0.9, 0.9),
      want: ["p1", "p2", "p3"],
    },
    {
      name: "all weights 0: the given order is kept (r is always 0)",
      records: [rec("c", 1, 0), rec("a", 1, 0), rec("b", 1, 0)],
      random: scripted(0.99, 0.99, 0.99),
      want: ["c", "a", "b"],
    },
    {
      // weights A=10, B=20 after X=0; sum 30, r in [0, 30]
      name: "r = 0 picks the weight-0 record, which was moved to the front",
      records: [rec("A", 1, 10), rec("B", 1, 20), rec("X", 1, 0)],
      random: scripted(drawing(0, 30), drawing(0, 30), drawing(0, 20)),
      want: ["X", "A", "B"],
    },
    {
      name: "r = 10 picks A (running sum 10), then r = 1 picks B over X",
      records: [rec("A", 1, 10), rec("B", 1, 20), rec("X", 1, 0)],
      random: scripted(drawing(10, 30), drawing(1, 20), drawing(0, 0)),
      // A; then X (0), B (20): r=1 picks B; then X
      want: ["A", "B", "X"],
    },
    {
      name: "r = 11 picks B (running sum 30), then r = 10 picks A",
      records: [rec("A", 1, 10), rec("B", 1, 20), rec("X", 1, 0)],
      random: scripted(drawing(11, 30), drawing(10, 10), drawing(0, 0)),
      want: ["B", "A", "X"],
    },
    {
      name: "the largest x below 1 picks the last record",
      records: [rec("A", 1, 10), rec("B", 1, 20)],
      random: scripted(0.9999999999, 0.9999999999),
      want: ["B", "A"],
    },
    {
      name: "without weight 0, the first record also owns r = 0",
      records: [rec("A", 1, 10), rec("B", 1, 20)],
      random: scripted(0, 0),
      want: ["A", "B"],
    },
    {
      name: "groups are drawn independently, lower priority first",
      records: [
        rec("p2a", 2, 1),
        rec("p1a", 1, 1),
        rec("p2b", 2, 1),
        rec("p1b", 1, 1),
      ],
      // p1: sum 2, r=2 -> p1b; then p1a. p2: sum 2, r=2 -> p2b; then p2a.
      random: scripted(
        drawing(2, 2),
        drawing(0, 1),
        drawing(2, 2),
        drawing(0, 1),
      ),
      want: ["p1b", "p1a", "p2b", "p2a"],
    },
  ];
  for (const c of table) {
    await t.step(c.name, () => {
      const got = rfc2782Order(c.records, { random: c.random });
      assert.deepEqual(got.map((r) => r.id), c.want);
    });
  }
});

Deno.test("rfc2782Order: not a plain sort, and the input is unchanged", () => {
  const records = [rec("light", 1, 10), rec("heavy", 1, 90)];
  const copy = structuredClone(records);
  const random = seededRandom(1);
  const firsts = new Set<string>();
  for (let i = 0; i < 200; i++) {
    firsts.add(rfc2782Order(records, { random })[0].id);
  }
  assert.deepEqual([...firsts].sort(), ["heavy", "light"]);
  assert.deepEqual(records, copy);
});

Deno.test("rfc2782Order: weight 0 keeps its small chance", () => {
  const records = [rec("zero", 1, 0), rec("big", 1, 99)];
  const random = seededRandom(5);
  let zeroFirst = 0;
  for (let i = 0; i < 5000; i++) {
    if (rfc2782Order(records, { random })[0].id === "zero") zeroFirst++;
  }
  // 1 / (99 + 1) of 5000 = 50 expected.
  assert.ok(zeroFirst > 20 && zeroFirst < 90, `zero first ${zeroFirst} times`);
});

Deno.test("rfc2782Order: bad arguments", async (t) => {
  const table: [string, () => unknown, ErrorConstructor][] = [
    ["negative weight", () => rfc2782Order([rec("a", 1, -1)]), RangeError],
    ["weight too big", () => rfc2782Order([rec("a", 1, 65536)]), RangeError],
    ["fractional priority", () => rfc2782Order([rec("a", 1.5, 1)]), RangeError],
    ["NaN priority", () => rfc2782Order([rec("a", NaN, 1)]), RangeError],
    [
      "random not a function",
      () => rfc2782Order([rec("a", 1, 1)], { random: 3 as never }),
      TypeError,
    ],
    [
      "random returns 1",
      () => rfc2782Order([rec("a", 1, 1)], { random: () => 1 }),
      RangeError,
    ],
  ];
  for (const [name, f, type] of table) {
    await t.step(name, () => assert.throws(f, type));
  }
});

Deno.test("seededRandom: reproducible, in [0, 1), checked seed", async (t) => {
  await t.step("same seed, same sequence", () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    for (let i = 0; i < 100; i++) assert.equal(a(), b());
  });
  await t.step("different seeds differ", () => {
    const a = seededRandom(1);
    const b = seededRandom(2);
    const xs = Array.from({ length: 10 }, () => a() === b());
    assert.ok(xs.includes(false));
  });
  await t.step("values in [0, 1), mean near 1/2", () => {
    const r = seededRandom(0);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const x = r();
      assert.ok(x >= 0 && x < 1, String(x));
      sum += x;
    }
    assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02);
  });
  await t.step("non-integer seeds are rejected", () => {
    assert.throws(() => seededRandom(1.5), TypeError);
    assert.throws(() => seededRandom(NaN), TypeError);
  });
});
