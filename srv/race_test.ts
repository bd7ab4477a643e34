import assert from "node:assert/strict";
import type { Candidate } from "./candidate.ts";
import { ResolveError, type Resolver } from "./resolver.ts";
import {
  type Attempt,
  type Closable,
  type Dial,
  race,
  RaceError,
  type RaceResult,
} from "./race.ts";
import { memoryResolver } from "./memory_resolver.ts";

function candidate(host: string, extra: Partial<Candidate> = {}): Candidate {
  return {
    transport: "starttls",
    host,
    port: 5222,
    serverName: "example.org",
    alpn: "xmpp-client",
    priority: 0,
    weight: 0,
    source: "srv",
    ...extra,
  };
}

/** A connection that records being closed. */
class FakeConn implements Closable {
  readonly closed = Promise.withResolvers<void>();
  isClosed = false;
  constructor(readonly name: string) {}
  close(): void {
    this.isClosed = true;
    this.closed.resolve();
  }
}

/** A dial that never connects: it rejects when its signal aborts. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), {
      once: true,
    });
  });
}

/** A dial built from a function of the attempt, recording every attempt. */
function recording<T extends Closable>(
  behave: (attempt: Attempt, signal: AbortSignal) => Promise<T>,
): Dial<T> & { attempts: Attempt[]; signals: AbortSignal[] } {
  const attempts: Attempt[] = [];
  const signals: AbortSignal[] = [];
  const dial = (attempt: Attempt, signal: AbortSignal) => {
    attempts.push(attempt);
    signals.push(signal);
    return behave(attempt, signal);
  };
  return Object.assign(dial, { attempts, signals });
}

const outcomes = (r: { attempts: readonly { outcome: string }[] }) =>
  r.attempts.map((a) => a.outcome);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(() => assert.fail("should reject"), (e) => e);
}

Deno.test("race: schedule", async (t) => {
  await t.step("first wins; later candidates are never resolved", async () => {
    const resolver = memoryResolver({ "b.example": { a: ["192.0.2.2"] } });
    const dial = recording(() => Promise.resolve(new FakeConn("a")));
    const result = await race(
      [candidate("192.0.2.1"), candidate("b.example")],
      dial,
      { resolver },
    );
    assert.equal(result.value.name, "a");
    assert.equal(result.winner.candidateIndex, 0);
    assert.equal(result.winner.address?.ip, "192.0.2.1");
    assert.equal(result.winner.outcome, "won");
    assert.deepEqual(outcomes(result), ["won", "not-started"]);
    assert.equal(result.attempts[1].phase, "resolve");
    assert.equal(dial.attempts.length, 1);
    assert.equal(resolver.queries.length, 0);
    assert.equal(result.resolutions.length, 1);
    await result.settled;
  });

  await t.step(
    "a fast failure starts the next attempt at once, not after the delay",
    async () => {
      const refused = new Error("connection refused");
      const dial = recording((a) =>
        a.index === 0
          ? Promise.reject(refused)
          : Promise.resolve(new FakeConn(a.address.ip))
      );
      // With a 30 s delay, waiting for the delay would time the test out.
      const result = await race(
        [candidate("xmpp.example.org", { ips: ["2001:db8::1", "192.0.2.1"] })],
        dial,
        { attemptDelay: 30_000 },
      );
      assert.equal(result.value.name, "192.0.2.1");
      assert.deepEqual(outcomes(result), ["failed", "won"]);
      assert.equal(result.attempts[0].error, refused);
      assert.ok(result.winner.startedAt! < 5000, `${result.winner.startedAt}`);
      await result.settled;
    },
  );

  await t.step("the next attempt starts after the attempt delay", async () => {
    const dial = recording((a, signal) =>
      a.index === 0 ? untilAborted(signal) : Promise.resolve(new FakeConn("b"))
    );
    const result = await race(
      [candidate("192.0.2.1"), candidate("192.0.2.2")],
      dial,
      { attemptDelay: 100 },
    );
    assert.equal(result.winner.candidateIndex, 1);
    assert.ok(result.winner.startedAt! >= 80, `${result.winner.startedAt}`);
    assert.deepEqual(outcomes(result), ["aborted", "won"]);
    const loser = result.attempts[0];
    assert.ok(loser.error instanceof DOMException);
    assert.equal(loser.error.name, "AbortError");
    assert.ok(dial.signals[0].aborted);
    assert.ok(!dial.signals[1].aborted);
    await result.settled;
  });

  await t.step(
    "all fail: RaceError lists every attempt and its reason",
    async () => {
      const resolver = memoryResolver({
        "broken.example": { fail: "server failure" },
      });
      const dial = recording((a, signal) =>
        a.candidateIndex === 2
          ? untilAborted(signal)
          : Promise.reject(new Error(`refused by ${a.address.ip}`))
      );
      const error = await rejection(race(
        [
          candidate("a.example", { ips: ["192.0.2.1", "2001:db8::1"] }),
          candidate("broken.example"),
          candidate("127.0.0.1", { transport: "directtls", port: 5223 }),
        ],
        dial,
        { resolver, attemptDelay: 10, timeout: 100 },
      ));
      assert.ok(error instanceof RaceError, String(error));
      assert.ok(error instanceof AggregateError);
      assert.equal(error.errors.length, 4);
      assert.deepEqual(
        error.attempts.map((a) => [a.candidateIndex, a.phase, a.outcome]),
        [
          [0, "connect", "failed"],
          [0, "connect", "failed"],
          [1, "resolve", "failed"],
          [2, "connect", "failed"],
        ],
      );
      assert.equal(error.attempts[0].address?.ip, "2001:db8::1");
      assert.ok(error.attempts[2].error instanceof ResolveError);
      const timeout = error.attempts[3].error;
      assert.ok(timeout instanceof DOMException);
      assert.equal(timeout.name, "TimeoutError");
      for (
        const text of [
          "all 4 attempts failed",
          "starttls a.example at [2001:db8::1]:5222: refused by 2001:db8::1",
          "starttls a.example at 192.0.2.1:5222: refused by 192.0.2.1",
          "starttls broken.example: A and AAAA lookup of broken.example failed: A: server failure; AAAA: server failure",
          "directtls 127.0.0.1 at 127.0.0.1:5223: timed out after 100 ms",
        ]
      ) {
        assert.ok(error.message.includes(text), `${text} in ${error.message}`);
      }
      assert.equal(error.resolutions.length, 3);
      for (const a of error.attempts) {
        assert.ok(a.endedAt! >= a.startedAt!);
      }
    },
  );

  await t.step(
    "a slow resolution holds the schedule one delay at most",
    async () => {
      const resolver = memoryResolver({ "slow.example": { hang: true } });
      const dial = recording(() => Promise.resolve(new FakeConn("b")));
      const result = await race(
        [candidate("slow.example"), candidate("127.0.0.1")],
        dial,
        { resolver, attemptDelay: 100, timeout: 10_000 },
      );
      assert.equal(result.winner.candidateIndex, 1);
      assert.ok(result.winner.startedAt! >= 80, `${result.winner.startedAt}`);
      assert.ok(result.winner.startedAt! < 5000, `${result.winner.startedAt}`);
      assert.deepEqual(
        result.attempts.map((a) => [a.candidateIndex, a.phase, a.outcome]),
        [[0, "resolve", "aborted"], [1, "connect", "won"]],
      );
      assert.deepEqual(
        result.resolutions.map((r) => r.outcome),
        ["aborted", "resolved"],
      );
      assert.equal(resolver.queries.length, 2);
      assert.ok(resolver.queries.every((q) => q.signal?.aborted));
      await result.settled;
    },
  );

  await t.step(
    "a late resolution's addresses come before later candidates'",
    async () => {
      const answer = Promise.withResolvers<void>();
      const resolver = memoryResolver({
        "late.example": {
          a: { records: ["192.0.2.1"], holdUntil: answer.promise },
        },
      });
      const dial = recording((a, signal) => {
        // late.example answers while b.example's first attempt runs.
        if (a.index === 0) answer.resolve();
        return a.index === 2
          ? Promise.resolve(new FakeConn(a.address.ip))
          : untilAborted(signal);
      });
      const result = await race(
        [
          candidate("late.example"),
          candidate("b.example", { ips: ["192.0.2.2", "192.0.2.3"] }),
        ],
        dial,
        { resolver, attemptDelay: 20 },
      );
      assert.deepEqual(
        dial.attempts.map((a) => a.address.ip),
        ["192.0.2.2", "192.0.2.1", "192.0.2.3"],
      );
      assert.equal(result.value.name, "192.0.2.3");
      assert.deepEqual(
        outcomes(result),
        ["aborted", "aborted", "won"],
      );
      await result.settled;
    },
  );
});

Deno.test("race: timeouts, aborts and leaks", async (t) => {
  await t.step("per-attempt timeout", async () => {
    const dial = recording((_, signal) => untilAborted(signal));
    const error = await rejection(
      race([candidate("127.0.0.1")], dial, { timeout: 50 }),
    );
    assert.ok(error instanceof RaceError);
    const reason = error.attempts[0].error;
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, "TimeoutError");
    assert.match(reason.message, /raise options\.timeout/);
    assert.equal(dial.signals[0].reason, reason);
  });

  await t.step("a timeout starts the next attempt at once", async () => {
    const dial = recording((a, signal) =>
      a.index === 0 ? untilAborted(signal) : Promise.resolve(new FakeConn("b"))
    );
    const result = await race(
      [candidate("192.0.2.1"), candidate("192.0.2.2")],
      dial,
      { attemptDelay: 30_000, timeout: 50 },
    );
    assert.equal(result.winner.candidateIndex, 1);
    assert.equal(result.attempts[0].outcome, "failed");
    assert.equal(
      (result.attempts[0].error as DOMException).name,
      "TimeoutError",
    );
    assert.ok(result.winner.startedAt! < 5000);
    await result.settled;
  });

  await t.step("a dial that ignores its signal still times out", async () => {
    const late = Promise.withResolvers<FakeConn>();
    const conn = new FakeConn("late");
    const dial = recording(() => late.promise);
    const error = await rejection(
      race([candidate("127.0.0.1")], dial, { timeout: 30 }),
    );
    assert.ok(error instanceof RaceError);
    late.resolve(conn);
    await conn.closed.promise;
    assert.ok(conn.isClosed);
  });

  await t.step("losers that connect late are closed", async () => {
    const late = Promise.withResolvers<FakeConn>();
    const lateConn = new FakeConn("a");
    const dial = recording((a) =>
      a.index === 0 ? late.promise : Promise.resolve(new FakeConn("b"))
    );
    const result = await race(
      [candidate("192.0.2.1"), candidate("192.0.2.2")],
      dial,
      { attemptDelay: 10 },
    );
    assert.equal(result.value.name, "b");
    assert.deepEqual(outcomes(result), ["aborted", "won"]);
    assert.ok(dial.signals[0].aborted);
    // The first dial ignored its signal and connects after all.
    late.resolve(lateConn);
    await result.settled;
    assert.ok(lateConn.isClosed);
    assert.ok(!result.value.isClosed);
  });

  await t.step("a loser's async close that rejects is contained", async () => {
    const late = Promise.withResolvers<Closable>();
    const dial = recording((a) =>
      a.index === 0 ? late.promise : Promise.resolve(new FakeConn("b"))
    );
    const result = await race(
      [candidate("192.0.2.1"), candidate("192.0.2.2")],
      dial,
      { attemptDelay: 10 },
    );
    let closed = false;
    late.resolve({
      close: () => {
        closed = true;
        return Promise.reject(new Error("already gone"));
      },
    });
    await result.settled;
    assert.ok(closed);
  });

  await t.step(
    "overall abort aborts everything and closes late connections",
    async () => {
      const controller = new AbortController();
      const reason = new Error("user cancelled");
      const late = Promise.withResolvers<FakeConn>();
      const lateConn = new FakeConn("late");
      const resolver = memoryResolver({ "c.example": { a: { hang: true } } });
      const dial = recording((a, signal) => {
        if (a.index === 0) return late.promise;
        queueMicrotask(() => controller.abort(reason));
        return untilAborted(signal);
      });
      const error = await rejection(race(
        [
          candidate("192.0.2.1"),
          candidate("192.0.2.2"),
          candidate("c.example"),
        ],
        dial,
        { attemptDelay: 10, signal: controller.signal, resolver },
      ));
      assert.equal(error, reason);
      assert.equal(dial.attempts.length, 2);
      assert.ok(dial.signals.every((s) => s.aborted && s.reason === reason));
      late.resolve(lateConn);
      await lateConn.closed.promise;
    },
  );

  await t.step("an abort from inside dial", async () => {
    const controller = new AbortController();
    const dial = recording((_, signal) => {
      controller.abort();
      return untilAborted(signal);
    });
    const error = await rejection(
      race([candidate("127.0.0.1"), candidate("::1")], dial, {
        signal: controller.signal,
        attemptDelay: 10,
      }),
    );
    assert.ok(error instanceof DOMException && error.name === "AbortError");
    // Nothing else starts afterwards.
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(dial.attempts.length, 1);
  });

  await t.step("abort while resolving", async () => {
    const controller = new AbortController();
    const resolver = memoryResolver({
      "slow.example": { aaaa: { hang: true } },
    });
    const dial = recording(() => Promise.resolve(new FakeConn("x")));
    const pending = race([candidate("slow.example")], dial, {
      resolver,
      signal: controller.signal,
    });
    controller.abort();
    const error = await rejection(pending);
    assert.ok(error instanceof DOMException && error.name === "AbortError");
    assert.equal(dial.attempts.length, 0);
    assert.ok(resolver.queries.every((q) => q.signal?.aborted));
  });

  await t.step("an already aborted signal dials nothing", async () => {
    const reason = new Error("too late");
    const dial = recording(() => Promise.resolve(new FakeConn("x")));
    const error = await rejection(
      race([candidate("127.0.0.1")], dial, {
        signal: AbortSignal.abort(reason),
      }),
    );
    assert.equal(error, reason);
    assert.equal(dial.attempts.length, 0);
  });
});

Deno.test("race: target addresses", async (t) => {
  const failAll = () =>
    recording<FakeConn>((a) => Promise.reject(new Error(`no ${a.address.ip}`)));

  await t.step("A and AAAA interleave within a candidate", async (t) => {
    const zone = {
      "xmpp.example.org": {
        a: ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
        aaaa: ["2001:db8::1", "2001:db8::2"],
      },
    };
    const table: [6 | 4 | undefined, string[]][] = [
      [undefined, [
        "2001:db8::1",
        "192.0.2.1",
        "2001:db8::2",
        "192.0.2.2",
        "192.0.2.3",
      ]],
      [4, [
        "192.0.2.1",
        "2001:db8::1",
        "192.0.2.2",
        "2001:db8::2",
        "192.0.2.3",
      ]],
    ];
    for (const [preferredFamily, want] of table) {
      await t.step(
        `preferred family ${preferredFamily ?? "default"}`,
        async () => {
          const resolver = memoryResolver(zone);
          const dial = failAll();
          const error = await rejection(
            race([candidate("xmpp.example.org")], dial, {
              resolver,
              attemptDelay: 10,
              preferredFamily,
            }),
          );
          assert.ok(error instanceof RaceError);
          assert.deepEqual(dial.attempts.map((a) => a.address.ip), want);
          assert.deepEqual(
            resolver.queries.map((q) => `${q.type} ${q.name}`),
            ["A xmpp.example.org", "AAAA xmpp.example.org"],
          );
        },
      );
    }
  });

  await t.step("candidate ips are dialled without resolving", async () => {
    const resolver = memoryResolver({});
    const dial = recording(() => Promise.resolve(new FakeConn("x")));
    const result = await race(
      [candidate("xmpp.example.org", {
        ips: ["127.0.0.1"],
        source: "host-meta",
      })],
      dial,
      { resolver },
    );
    assert.equal(result.winner.address?.ip, "127.0.0.1");
    assert.equal(resolver.queries.length, 0);
    await result.settled;
  });

  await t.step("IP literal hosts need no resolver", async (t) => {
    for (const host of ["127.0.0.1", "::1", "[::1]"]) {
      await t.step(host, async () => {
        const dial = recording(() => Promise.resolve(new FakeConn("x")));
        const result = await race([candidate(host)], dial);
        assert.equal(result.winner.address?.ip, host.replace(/[[\]]/g, ""));
        await result.settled;
      });
    }
  });

  await t.step("one family failing degrades to the other", async () => {
    const resolver = memoryResolver({
      "xmpp.example.org": {
        a: ["192.0.2.1"],
        aaaa: { fail: "server failure" },
      },
    });
    const dial = recording(() => Promise.resolve(new FakeConn("x")));
    const result = await race([candidate("xmpp.example.org")], dial, {
      resolver,
    });
    assert.equal(result.winner.address?.ip, "192.0.2.1");
    await result.settled;
  });

  await t.step(
    "both families failing moves on to the next candidate",
    async () => {
      const resolver = memoryResolver({
        "dead.example": {
          a: { fail: "server failure" },
          aaaa: { fail: "server failure" },
        },
      });
      const dial = recording(() => Promise.resolve(new FakeConn("x")));
      const result = await race(
        [candidate("dead.example"), candidate("127.0.0.1")],
        dial,
        { resolver, attemptDelay: 30_000 },
      );
      assert.equal(result.winner.candidateIndex, 1);
      const [dead] = result.attempts;
      assert.equal(dead.phase, "resolve");
      assert.equal(dead.outcome, "failed");
      assert.ok(dead.error instanceof ResolveError);
      assert.match(
        dead.error.message,
        /A: server failure; AAAA: server failure/,
      );
      assert.deepEqual(
        result.resolutions.map((r) => r.outcome),
        ["failed", "resolved"],
      );
      await result.settled;
    },
  );
});

Deno.test("race: RFC 8305 §3 resolution", async (t) => {
  const host = "xmpp.example.org";
  const failAll = () =>
    recording<FakeConn>((a) => Promise.reject(new Error(`no ${a.address.ip}`)));
  const dialled = (dial: { attempts: Attempt[] }) =>
    dial.attempts.map((a) => a.address.ip);

  await t.step(
    "AAAA hangs: A is dialled after the resolution delay, not the timeout",
    async (t) => {
      for (const resolutionDelay of [undefined, 150]) {
        await t.step(
          `resolution delay ${resolutionDelay ?? "default"}`,
          async () => {
            const delay = resolutionDelay ?? 50;
            const timeout = 10_000;
            const resolver = memoryResolver({
              [host]: { a: ["192.0.2.1"], aaaa: { hang: true } },
            });
            const dial = recording(() => Promise.resolve(new FakeConn("x")));
            const result = await race([candidate(host)], dial, {
              resolver,
              timeout,
              resolutionDelay,
            });
            const { winner, resolutions: [resolution] } = result;
            console.log(
              `resolution delay ${delay} ms: A dialled at ${
                winner.startedAt!.toFixed(1)
              } ms`,
            );
            assert.equal(winner.address?.ip, "192.0.2.1");
            assert.ok(
              winner.startedAt! >= 0.8 * delay,
              `${winner.startedAt} ≥ 0.8 × ${delay}`,
            );
            assert.ok(winner.startedAt! < timeout / 4, `${winner.startedAt}`);
            assert.equal(resolution.outcome, "resolved");
            assert.ok(resolution.readyAt! >= 0.8 * delay);
            assert.deepEqual(
              resolution.lookups.map((l) => [l.family, l.outcome]),
              [[4, "answered"], [6, "aborted"]],
            );
            // The hanging AAAA lookup is abandoned once the race is won.
            const aaaa = resolver.queries.find((q) => q.type === "AAAA")!;
            assert.ok(aaaa.signal?.aborted);
            assert.equal(aaaa.outcome, "aborted");
            await result.settled;
          },
        );
      }
    },
  );

  await t.step(
    "AAAA answers first: dialling starts at once, without the delay",
    async () => {
      const resolver = memoryResolver({
        [host]: { a: { hang: true }, aaaa: ["2001:db8::1"] },
      });
      const dial = recording(() => Promise.resolve(new FakeConn("x")));
      // A 30 s resolution delay would time the test out if it applied.
      const result = await race([candidate(host)], dial, {
        resolver,
        resolutionDelay: 30_000,
      });
      assert.equal(result.winner.address?.ip, "2001:db8::1");
      assert.ok(result.winner.startedAt! < 5000, `${result.winner.startedAt}`);
      await result.settled;
    },
  );

  await t.step(
    "A first, AAAA 20 ms later: the AAAA address still goes first",
    async () => {
      const resolver = memoryResolver({
        [host]: {
          a: ["192.0.2.1", "192.0.2.2"],
          aaaa: { records: ["2001:db8::1"], delayMs: 20 },
        },
      });
      const dial = failAll();
      const error = await rejection(race([candidate(host)], dial, {
        resolver,
        attemptDelay: 10,
      }));
      assert.ok(error instanceof RaceError);
      assert.deepEqual(dialled(dial), [
        "2001:db8::1",
        "192.0.2.1",
        "192.0.2.2",
      ]);
      const [resolution] = error.resolutions;
      const aaaa = resolution.lookups.find((l) => l.family === 6)!;
      // Dialling waited for AAAA, which came within the resolution delay.
      assert.ok(resolution.readyAt! >= aaaa.endedAt);
      assert.ok(error.attempts[0].startedAt! >= aaaa.endedAt);
    },
  );

  await t.step(
    "A first, AAAA empty: dialling starts without waiting out the delay",
    async (t) => {
      const table: [string, Parameters<typeof memoryResolver>[0]][] = [
        ["no AAAA records", {
          [host]: { a: ["192.0.2.1"], aaaa: { records: [], delayMs: 20 } },
        }],
        ["AAAA fails", {
          [host]: { a: ["192.0.2.1"], aaaa: { fail: "refused", delayMs: 20 } },
        }],
      ];
      for (const [name, zone] of table) {
        await t.step(name, async () => {
          const resolver = memoryResolver(zone);
          const dial = recording(() => Promise.resolve(new FakeConn("x")));
          const result = await race([candidate(host)], dial, {
            resolver,
            resolutionDelay: 30_000,
          });
          assert.equal(result.winner.address?.ip, "192.0.2.1");
          assert.ok(result.winner.startedAt! < 5000);
          await result.settled;
        });
      }
    },
  );

  await t.step(
    "AAAA long after A: its addresses join the untried ones, interleaved",
    async () => {
      const release = Promise.withResolvers<void>();
      const resolver = memoryResolver({
        [host]: {
          a: ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
          aaaa: {
            records: ["2001:db8::1", "2001:db8::2"],
            holdUntil: release.promise,
          },
        },
      });
      const dial = recording((a, signal) => {
        // AAAA answers while the second A address is being dialled.
        if (a.index === 1) release.resolve();
        return a.index === 4
          ? Promise.resolve(new FakeConn(a.address.ip))
          : untilAborted(signal);
      });
      const result = await race([candidate(host)], dial, {
        resolver,
        attemptDelay: 10,
        resolutionDelay: 10,
      });
      assert.deepEqual(dialled(dial), [
        "192.0.2.1",
        "192.0.2.2",
        "2001:db8::1",
        "192.0.2.3",
        "2001:db8::2",
      ]);
      assert.equal(result.value.name, "2001:db8::2");
      const [resolution] = result.resolutions;
      assert.equal(resolution.outcome, "resolved");
      assert.deepEqual(resolution.addresses?.map((a) => a.ip), dialled(dial));
      const [a, aaaa] = resolution.lookups;
      assert.equal(a.family, 4);
      assert.equal(aaaa.family, 6);
      assert.equal(aaaa.outcome, "answered");
      assert.ok(aaaa.endedAt >= result.attempts[1].startedAt!);
      assert.ok(resolution.endedAt >= aaaa.endedAt);
      await result.settled;
    },
  );

  await t.step(
    "late addresses still come before the next candidate's",
    async () => {
      const release = Promise.withResolvers<void>();
      const resolver = memoryResolver({
        [host]: {
          a: ["192.0.2.1"],
          aaaa: { records: ["2001:db8::1"], holdUntil: release.promise },
        },
      });
      const dial = recording((a, signal) => {
        if (a.index === 1) release.resolve();
        return a.index === 2
          ? Promise.resolve(new FakeConn(a.address.ip))
          : untilAborted(signal);
      });
      const result = await race(
        [candidate(host), candidate("b.example", { ips: ["192.0.2.9"] })],
        dial,
        { resolver, attemptDelay: 40, resolutionDelay: 10 },
      );
      // The first candidate's A address ran out, so the next candidate
      // started; AAAA then arrived and was dialled before anything else.
      assert.deepEqual(dialled(dial), [
        "192.0.2.1",
        "192.0.2.9",
        "2001:db8::1",
      ]);
      assert.equal(result.winner.candidateIndex, 0);
      await result.settled;
    },
  );

  await t.step(
    "preferred family 4: AAAA first waits for A",
    async () => {
      const resolver = memoryResolver({
        [host]: {
          a: { records: ["192.0.2.1"], delayMs: 20 },
          aaaa: ["2001:db8::1"],
        },
      });
      const dial = failAll();
      await rejection(race([candidate(host)], dial, {
        resolver,
        attemptDelay: 10,
        preferredFamily: 4,
        resolutionDelay: 5000,
      }));
      assert.deepEqual(dialled(dial), ["192.0.2.1", "2001:db8::1"]);
    },
  );

  await t.step("both families failing fails the candidate", async () => {
    const resolver = memoryResolver({
      [host]: { a: { fail: "server failure" }, aaaa: { hang: true } },
    });
    const dial = failAll();
    const error = await rejection(race([candidate(host)], dial, {
      resolver,
      timeout: 100,
    }));
    assert.ok(error instanceof RaceError, String(error));
    assert.equal(dial.attempts.length, 0);
    assert.deepEqual(
      error.attempts.map((a) => [a.phase, a.outcome]),
      [["resolve", "failed"]],
    );
    const reason = error.attempts[0].error;
    assert.ok(reason instanceof ResolveError);
    assert.match(
      reason.message,
      /A: server failure; AAAA: no answer within 100 ms/,
    );
    assert.match(error.message, /starttls xmpp\.example\.org: A and AAAA/);
    const [resolution] = error.resolutions;
    assert.equal(resolution.outcome, "failed");
    assert.equal(resolution.readyAt, undefined);
    assert.deepEqual(
      resolution.lookups.map((l) => [l.family, l.outcome]),
      [[4, "failed"], [6, "failed"]],
    );
  });
});

Deno.test("race: bad arguments", async (t) => {
  const ok = () => Promise.resolve(new FakeConn("x"));
  const table: [string, () => Promise<unknown>, ErrorConstructor][] = [
    ["no candidates", () => race([], ok), RangeError],
    ["dial not a function", () => race([candidate("::1")], null!), TypeError],
    [
      "attempt delay under 10 ms",
      () => race([candidate("::1")], ok, { attemptDelay: 5 }),
      RangeError,
    ],
    [
      "attempt delay NaN",
      () => race([candidate("::1")], ok, { attemptDelay: NaN }),
      RangeError,
    ],
    [
      "timeout 0",
      () => race([candidate("::1")], ok, { timeout: 0 }),
      RangeError,
    ],
    [
      "resolution delay -1",
      () => race([candidate("::1")], ok, { resolutionDelay: -1 }),
      RangeError,
    ],
    [
      "resolution delay Infinity",
      () => race([candidate("::1")], ok, { resolutionDelay: Infinity }),
      RangeError,
    ],
    [
      "preferred family 5",
      () => race([candidate("::1")], ok, { preferredFamily: 5 as 4 }),
      TypeError,
    ],
    [
      "a resolver that is not a Resolver",
      () =>
        race([candidate("xmpp.example.org")], ok, {
          resolver: {} as Resolver,
        }),
      TypeError,
    ],
  ];
  for (const [name, call, type] of table) {
    await t.step(name, async () => {
      await assert.rejects(call(), type);
    });
  }
});

// The stand-in for a secure handshake: connect, then wait for the server's
// first bytes (the start of its stream header).
async function dialStreamHeader(
  attempt: Attempt,
  signal: AbortSignal,
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({
    hostname: attempt.address.ip,
    port: attempt.candidate.port,
    signal,
  });
  const onAbort = () => conn.close();
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    const buf = new Uint8Array(5);
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed before the stream header");
    return conn;
  } catch (e) {
    if (!signal.aborted) conn.close();
    throw signal.aborted ? signal.reason : e;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

Deno.test("race: a blackholed first candidate (real TCP)", async () => {
  const attemptDelay = 250;
  const timeout = 5000;
  const blackhole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const answering = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // Accepts, never answers, and notes when the client goes away.
  const blackholeEof = (async () => {
    const conn = await blackhole.accept();
    const buf = new Uint8Array(64);
    try {
      while (await conn.read(buf) !== null) { /* discard */ }
    } catch { /* a reset also means the client closed */ }
    conn.close();
    return performance.now();
  })();
  const answered = (async () => {
    const conn = await answering.accept();
    await conn.write(
      new TextEncoder().encode(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client'>",
      ),
    );
    const buf = new Uint8Array(64);
    try {
      while (await conn.read(buf) !== null) { /* discard */ }
    } catch { /* closed */ }
    conn.close();
  })();

  const start = performance.now();
  let result: RaceResult<Deno.TcpConn> | undefined;
  try {
    result = await race(
      [
        candidate("127.0.0.1", { port: blackhole.addr.port }),
        candidate("127.0.0.1", { port: answering.addr.port }),
      ],
      dialStreamHeader,
      { attemptDelay, timeout },
    );
    const { winner, attempts } = result;
    const eofAt = await blackholeEof - start;
    console.log(
      `second candidate started at ${winner.startedAt!.toFixed(1)} ms, ` +
        `connected at ${winner.endedAt!.toFixed(1)} ms; ` +
        `blackhole saw EOF at ${eofAt.toFixed(1)} ms`,
    );
    assert.equal(winner.candidateIndex, 1);
    assert.ok(winner.startedAt! >= 0.8 * attemptDelay, `${winner.startedAt}`);
    assert.ok(winner.endedAt! < timeout / 2, `${winner.endedAt}`);
    assert.equal(attempts[0].outcome, "aborted");
    assert.ok(eofAt < timeout / 2, `${eofAt}`);
    await result.settled;
  } finally {
    result?.value.close();
    blackhole.close();
    answering.close();
    // Settled either way, so that a failure above is not masked by a hang.
    await Promise.allSettled([answered, blackholeEof]);
  }
});
