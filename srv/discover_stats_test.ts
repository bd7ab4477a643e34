/**
 * Statistical test of the XEP-0368 / RFC 2782 order that `discover`
 * produces: 10,000 seeded draws over a zone that mixes `_xmpp-client` and
 * `_xmpps-client` records at two priorities.
 *
 * Each priority group has exactly one weight-0 record, so the RFC 2782
 * draw (uniform integer r in [0, sum], the first record whose running sum
 * is >= r) gives, for the first position of the group, the weight-0 record
 * probability 1 / (sum + 1) and every other record weight / (sum + 1),
 * whatever order the records are arranged in.
 *
 * @module
 */

import assert from "node:assert/strict";
import { discover } from "./discover.ts";
import { memoryResolver } from "./memory_resolver.ts";
import { seededRandom } from "./rfc2782.ts";

/**
 * Upper critical values of the chi-square distribution for α = 0.001
 * (a statistic below it means p > 0.001), by degrees of freedom. From the
 * NIST/SEMATECH e-Handbook of Statistical Methods, §1.3.6.7.4 "Critical
 * Values of the Chi-Square Distribution"
 * (https://www.itl.nist.gov/div898/handbook/eda/section3/eda3674.htm).
 */
const CHI2_CRITICAL_P001: Record<number, number> = {
  1: 10.828,
  2: 13.816,
  3: 16.266,
  4: 18.467,
  5: 20.515,
};

const DRAWS = 10_000;
const SEED = 368;
const DOMAIN = "mixed.example";

/** target, service, priority, weight */
const RECORDS: [string, "xmpp" | "xmpps", number, number][] = [
  ["p1-xmpp-w10", "xmpp", 1, 10],
  ["p1-xmpp-w0", "xmpp", 1, 0],
  ["p1-xmpps-w30", "xmpps", 1, 30],
  ["p1-xmpps-w60", "xmpps", 1, 60],
  ["p2-xmpps-w1", "xmpps", 2, 1],
  ["p2-xmpp-w3", "xmpp", 2, 3],
  ["p2-xmpp-w0", "xmpp", 2, 0],
  ["p2-xmpps-w6", "xmpps", 2, 6],
];

function zone() {
  const srv = (svc: "xmpp" | "xmpps") =>
    RECORDS.filter((r) => r[1] === svc).map(([target, , priority, weight]) => ({
      priority,
      weight,
      port: svc === "xmpp" ? 5222 : 5223,
      target,
    }));
  return {
    [`_xmpp-client._tcp.${DOMAIN}`]: { srv: srv("xmpp") },
    [`_xmpps-client._tcp.${DOMAIN}`]: { srv: srv("xmpps") },
  };
}

/** Pearson's chi-square statistic of observed counts against probabilities. */
function chiSquare(observed: number[], probabilities: number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  return observed.reduce((sum, o, i) => {
    const e = n * probabilities[i];
    return sum + (o - e) ** 2 / e;
  }, 0);
}

/** RFC 2782 first-position probabilities of a group with one weight 0. */
function firstProbabilities(weights: number[]): number[] {
  assert.equal(weights.filter((w) => w === 0).length, 1);
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (w === 0 ? 1 : w) / (sum + 1));
}

Deno.test("discover statistics: 10,000 seeded draws, XEP-0368 merged RFC 2782 order", async (t) => {
  const resolver = memoryResolver(zone());
  const random = seededRandom(SEED);
  const groups = [1, 2].map((priority) =>
    RECORDS.filter((r) => r[2] === priority)
  );
  const firstCounts = groups.map((g) => new Map(g.map((r) => [r[0], 0])));
  // Per group: draws in which some xmpps record precedes some xmpp record,
  // and the reverse; both must happen (the services interleave).
  const xmppsBeforeXmpp = [0, 0];
  const xmppBeforeXmpps = [0, 0];
  let orderViolations = 0;
  let transportMismatches = 0;
  let groupsMissingAService = 0;

  for (let i = 0; i < DRAWS; i++) {
    const { candidates } = await discover(DOMAIN, { resolver, random });
    assert.equal(candidates.length, RECORDS.length);
    // Every priority-1 candidate before any priority-2 one.
    const lastP1 = candidates.findLastIndex((c) => c.priority === 1);
    const firstP2 = candidates.findIndex((c) => c.priority === 2);
    if (!(lastP1 < firstP2)) orderViolations++;
    for (const c of candidates) {
      const service = RECORDS.find((r) => r[0] === c.host)![1];
      const want = service === "xmpp" ? "starttls" : "directtls";
      if (c.transport !== want) transportMismatches++;
    }
    for (const [gi, priority] of [1, 2].entries()) {
      const group = candidates.filter((c) => c.priority === priority);
      const m = firstCounts[gi];
      m.set(group[0].host, m.get(group[0].host)! + 1);
      const firstS = group.findIndex((c) => c.transport === "directtls");
      const firstX = group.findIndex((c) => c.transport === "starttls");
      if (firstS === -1 || firstX === -1) groupsMissingAService++;
      if (firstS < firstX) xmppsBeforeXmpp[gi]++;
      else xmppBeforeXmpps[gi]++;
    }
  }

  await t.step(
    "every priority-1 candidate comes before any priority-2 one",
    () => {
      assert.equal(orderViolations, 0);
    },
  );
  await t.step("xmpp records are STARTTLS, xmpps records Direct TLS", () => {
    assert.equal(transportMismatches, 0);
  });
  await t.step("both services lead each group, by weight (interleaved)", () => {
    assert.equal(groupsMissingAService, 0);
    for (const gi of [0, 1]) {
      assert.ok(xmppsBeforeXmpp[gi] > 0 && xmppBeforeXmpps[gi] > 0);
    }
    // Group 1: xmpps weights 30 + 60 of 101 slots lead.
    const p1 = xmppsBeforeXmpp[0] / DRAWS;
    assert.ok(Math.abs(p1 - 90 / 101) < 0.02, `p1 xmpps first ${p1}`);
  });
  for (const [gi, group] of groups.entries()) {
    await t.step(
      `priority ${
        gi + 1
      }: first positions follow the weights (chi-square, p > 0.001)`,
      () => {
        const weights = group.map((r) => r[3]);
        const observed = group.map((r) => firstCounts[gi].get(r[0])!);
        const expected = firstProbabilities(weights);
        const stat = chiSquare(observed, expected);
        const df = group.length - 1;
        const critical = CHI2_CRITICAL_P001[df];
        console.log(
          `priority ${gi + 1}: observed ${JSON.stringify(observed)}, expected ${
            JSON.stringify(expected.map((p) => Math.round(p * DRAWS)))
          }, chi-square ${stat.toFixed(3)} (df ${df}, critical ${critical})`,
        );
        assert.ok(
          stat < critical,
          `chi-square ${stat} >= ${critical}: the order does not follow the weights`,
        );
      },
    );
  }
  await t.step("the test has power: a uniform order would fail it", () => {
    const r = seededRandom(SEED + 1);
    const group = groups[0];
    const observed = group.map(() => 0);
    for (let i = 0; i < DRAWS; i++) {
      observed[Math.floor(r() * group.length)]++;
    }
    const stat = chiSquare(
      observed,
      firstProbabilities(group.map((g) => g[3])),
    );
    assert.ok(stat > CHI2_CRITICAL_P001[group.length - 1] * 10);
  });
});
