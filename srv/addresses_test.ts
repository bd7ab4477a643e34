import assert from "node:assert/strict";
import {
  type FamilyAnswer,
  interleaveAddresses,
  ipFamily,
  resolveAddresses,
  type TargetAddress,
} from "./addresses.ts";
import { ResolveError, type Resolver } from "./resolver.ts";
import { memoryResolver, type MemoryZone } from "./memory_resolver.ts";

const v4 = (ip: string): TargetAddress => ({ ip, family: 4 });
const v6 = (ip: string): TargetAddress => ({ ip, family: 6 });
const ips = (list: TargetAddress[]) => list.map((a) => a.ip);
const queries = (r: ReturnType<typeof memoryResolver>) =>
  r.queries.map((q) => `${q.type} ${q.name}`);

Deno.test("addresses: ipFamily", async (t) => {
  const table: [string, 4 | 6 | undefined][] = [
    ["192.0.2.1", 4],
    ["0.0.0.0", 4],
    ["255.255.255.255", 4],
    ["256.1.1.1", undefined],
    ["01.2.3.4", undefined],
    ["1.2.3", undefined],
    ["::1", 6],
    ["::", 6],
    ["2001:db8::1", 6],
    ["[2001:db8::1]", 6],
    ["2001:DB8:0:0:0:0:0:1", 6],
    ["1:2:3:4:5:6:7:8", 6],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1:2:3:4:5:6:7::8", undefined],
    ["1::2::3", undefined],
    ["::ffff:192.0.2.1", 6],
    ["::ffff:192.0.2.256", undefined],
    ["fe80::1%eth0", 6],
    ["fe80::1%", undefined],
    ["12345::", undefined],
    ["xmpp.example.org", undefined],
    ["", undefined],
    ["[192.0.2.1]", undefined],
  ];
  for (const [text, family] of table) {
    await t.step(`${JSON.stringify(text)} → ${family}`, () => {
      assert.equal(ipFamily(text), family);
    });
  }
});

Deno.test("addresses: interleaveAddresses (RFC 8305 §4)", async (t) => {
  const a = [v4("192.0.2.1"), v4("192.0.2.2"), v4("192.0.2.3")];
  const aaaa = [v6("2001:db8::1"), v6("2001:db8::2")];
  const table: {
    name: string;
    input: TargetAddress[];
    options?: Parameters<typeof interleaveAddresses>[1];
    want: string[];
  }[] = [
    {
      name: "IPv6 first, then alternating, rest of the longer family last",
      input: [...a, ...aaaa],
      want: [
        "2001:db8::1",
        "192.0.2.1",
        "2001:db8::2",
        "192.0.2.2",
        "192.0.2.3",
      ],
    },
    {
      name: "IPv4 preferred",
      input: [...aaaa, ...a],
      options: { preferredFamily: 4 },
      want: [
        "192.0.2.1",
        "2001:db8::1",
        "192.0.2.2",
        "2001:db8::2",
        "192.0.2.3",
      ],
    },
    {
      name: "first family count 2",
      input: [...a, ...aaaa],
      options: { preferredFamily: 4, firstFamilyCount: 2 },
      want: [
        "192.0.2.1",
        "192.0.2.2",
        "2001:db8::1",
        "192.0.2.3",
        "2001:db8::2",
      ],
    },
    {
      name: "only the other family",
      input: a,
      want: ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    },
    {
      name: "duplicates dropped (case-insensitively)",
      input: [v6("2001:DB8::1"), v6("2001:db8::1"), v4("192.0.2.1"), a[0]],
      want: ["2001:DB8::1", "192.0.2.1"],
    },
    { name: "empty", input: [], want: [] },
  ];
  for (const { name, input, options, want } of table) {
    await t.step(name, () => {
      assert.deepEqual(ips(interleaveAddresses(input, options)), want);
    });
  }
  await t.step("bad options", () => {
    assert.throws(
      () => interleaveAddresses(a, { preferredFamily: 5 as 4 }),
      TypeError,
    );
    assert.throws(
      () => interleaveAddresses(a, { firstFamilyCount: 0 }),
      RangeError,
    );
    assert.throws(
      () => interleaveAddresses(a, { firstFamilyCount: 1.5 }),
      RangeError,
    );
  });
});

Deno.test("addresses: resolveAddresses", async (t) => {
  const host = "xmpp.example.org";

  await t.step("A and AAAA looked up in parallel, interleaved", async () => {
    const resolver = memoryResolver({
      [host]: {
        a: ["192.0.2.1", "192.0.2.2"],
        aaaa: ["2001:db8::1", "2001:db8::2"],
        delayMs: 20,
      },
    });
    const pending = resolveAddresses({ host }, { resolver });
    // Both queries are out before either answers.
    assert.deepEqual(queries(resolver), [`A ${host}`, `AAAA ${host}`]);
    assert.ok(resolver.queries.every((q) => q.end === undefined));
    const got = await pending;
    assert.deepEqual(got, [
      v6("2001:db8::1"),
      v4("192.0.2.1"),
      v6("2001:db8::2"),
      v4("192.0.2.2"),
    ]);
  });

  await t.step("preferred family option", async () => {
    const resolver = memoryResolver({
      [host]: { a: ["192.0.2.1"], aaaa: ["2001:db8::1"] },
    });
    const got = await resolveAddresses({ host }, {
      resolver,
      preferredFamily: 4,
    });
    assert.deepEqual(ips(got), ["192.0.2.1", "2001:db8::1"]);
  });

  await t.step("candidate ips used without resolving", async () => {
    const resolver = memoryResolver({ [host]: { a: ["192.0.2.99"] } });
    const got = await resolveAddresses({
      host,
      ips: ["192.0.2.7", "[2001:db8::7]", "192.0.2.8"],
    }, { resolver });
    assert.deepEqual(got, [
      v6("2001:db8::7"),
      v4("192.0.2.7"),
      v4("192.0.2.8"),
    ]);
    assert.equal(resolver.queries.length, 0);
  });

  await t.step("empty ips means resolve the host", async () => {
    const resolver = memoryResolver({ [host]: { a: ["192.0.2.1"] } });
    const got = await resolveAddresses({ host, ips: [] }, { resolver });
    assert.deepEqual(ips(got), ["192.0.2.1"]);
  });

  await t.step("an ips entry that is not an IP is a TypeError", async () => {
    await assert.rejects(
      resolveAddresses({ host, ips: ["192.0.2.1", "mirror.example.org"] }),
      (e: Error) =>
        e instanceof TypeError && /mirror\.example\.org/.test(e.message),
    );
  });

  await t.step("IP literal hosts need no resolver", async (t) => {
    const table: [string, TargetAddress][] = [
      ["127.0.0.1", v4("127.0.0.1")],
      ["::1", v6("::1")],
      ["[2001:db8::5]", v6("2001:db8::5")],
    ];
    for (const [literal, want] of table) {
      await t.step(literal, async () => {
        assert.deepEqual(await resolveAddresses({ host: literal }), [want]);
      });
    }
  });

  await t.step("a resolver that is not a Resolver is a TypeError", async () => {
    await assert.rejects(
      resolveAddresses({ host }, { resolver: {} as Resolver }),
      (e: Error) =>
        e instanceof TypeError && /options\.resolver/.test(e.message),
    );
  });

  await t.step("one family failing degrades to the other", async (t) => {
    const table: [string, MemoryZone][] = [
      ["A fails", {
        [host]: { a: { fail: "server failure" }, aaaa: ["2001:db8::1"] },
      }],
      ["AAAA fails", {
        [host]: { a: ["192.0.2.1"], aaaa: { fail: "server failure" } },
      }],
      ["AAAA has no records", { [host]: { a: ["192.0.2.1"] } }],
      ["AAAA never answers (timeout)", {
        [host]: { a: ["192.0.2.1"], aaaa: { hang: true } },
      }],
      ["AAAA answers garbage", {
        [host]: { a: ["192.0.2.1"], aaaa: ["192.0.2.9"] },
      }],
    ];
    for (const [name, zone] of table) {
      await t.step(name, async () => {
        const resolver = memoryResolver(zone);
        const got = await resolveAddresses({ host }, {
          resolver,
          timeout: 50,
        });
        assert.equal(got.length, 1);
        // Every lookup's signal is aborted once the answer is in.
        assert.ok(resolver.queries.every((q) => q.signal?.aborted));
        assert.ok(resolver.queries.every((q) => q.outcome !== undefined));
      });
    }
  });

  await t.step(
    "both families failing is a ResolveError naming both",
    async (t) => {
      const table: [string, MemoryZone, RegExp][] = [
        ["both SERVFAIL", {
          [host]: { fail: "server failure" },
        }, /A: server failure; AAAA: server failure/],
        ["NXDOMAIN", {}, /A: no such records; AAAA: no such records/],
        ["one fails, other empty", {
          [host]: { a: { fail: "server failure" } },
        }, /A: server failure; AAAA: no such records/],
        ["one fails, other times out", {
          [host]: { a: { fail: "server failure" }, aaaa: { hang: true } },
        }, /A: server failure; AAAA: no answer within 50 ms/],
        ["both time out", {
          [host]: { hang: true },
        }, /A: no answer within 50 ms.*AAAA: no answer within 50 ms/],
      ];
      for (const [name, zone, message] of table) {
        await t.step(name, async () => {
          const resolver = memoryResolver(zone);
          const error = await resolveAddresses({ host }, {
            resolver,
            timeout: 50,
          }).then(() => assert.fail("should reject"), (e) => e);
          assert.ok(error instanceof ResolveError, String(error));
          assert.equal(error.query, host);
          assert.equal(error.recordType, "A and AAAA");
          assert.match(error.message, message);
          assert.match(error.message, /xmpp\.example\.org/);
        });
      }
    },
  );

  await t.step("abort rejects with the signal's reason", async () => {
    const resolver = memoryResolver({ [host]: { hang: true } });
    const controller = new AbortController();
    const reason = new Error("user gave up");
    const pending = resolveAddresses({ host }, {
      resolver,
      signal: controller.signal,
    });
    controller.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    assert.ok(resolver.queries.every((q) => q.signal?.aborted));
    // Already aborted: rejects before asking anything.
    await assert.rejects(
      resolveAddresses({ host }, { resolver, signal: controller.signal }),
      (e) => e === reason,
    );
    assert.equal(resolver.queries.length, 2);
  });

  await t.step("onAnswer reports each family as it arrives", async () => {
    const release = Promise.withResolvers<void>();
    const resolver = memoryResolver({
      [host]: {
        a: ["192.0.2.1"],
        aaaa: { records: ["2001:db8::1"], holdUntil: release.promise },
      },
    });
    const answers: FamilyAnswer[] = [];
    let done = false;
    const pending = resolveAddresses({ host }, {
      resolver,
      onAnswer: (answer) => {
        answers.push(answer);
        // A is reported while AAAA is still held.
        if (answer.family === 4) release.resolve();
      },
    }).finally(() => done = true);
    const got = await pending;
    assert.ok(done);
    assert.deepEqual(answers, [
      { family: 4, outcome: "answered", addresses: [v4("192.0.2.1")] },
      { family: 6, outcome: "answered", addresses: [v6("2001:db8::1")] },
    ]);
    assert.deepEqual(ips(got), ["2001:db8::1", "192.0.2.1"]);
  });

  await t.step("onAnswer reports failures and empty answers", async () => {
    const resolver = memoryResolver({
      [host]: { a: { fail: "refused" }, aaaa: ["192.0.2.9"] },
    });
    const answers: FamilyAnswer[] = [];
    await assert.rejects(
      resolveAddresses({ host }, {
        resolver,
        onAnswer: (answer) => answers.push(answer),
      }),
      ResolveError,
    );
    assert.deepEqual(answers.map((a) => [a.family, a.outcome]), [
      [4, "failed"],
      [6, "failed"],
    ]);
    assert.ok(answers[0].error instanceof ResolveError);
    assert.ok(answers[1].error instanceof TypeError);
    assert.deepEqual(answers[1].addresses, []);
  });

  await t.step(
    "onAnswer is not called without lookups or after an abort",
    async () => {
      const calls: FamilyAnswer[] = [];
      const onAnswer = (answer: FamilyAnswer) => calls.push(answer);
      await resolveAddresses({ host: "::1" }, { onAnswer });
      await resolveAddresses({ host, ips: ["192.0.2.1"] }, { onAnswer });
      const controller = new AbortController();
      const pending = resolveAddresses({ host }, {
        resolver: memoryResolver({ [host]: { hang: true } }),
        signal: controller.signal,
        onAnswer,
      });
      controller.abort(new Error("stop"));
      await assert.rejects(pending, /stop/);
      assert.equal(calls.length, 0);
    },
  );

  await t.step("an onAnswer that throws rejects the promise", async () => {
    const oops = new Error("oops");
    const resolver = memoryResolver({
      [host]: { a: ["192.0.2.1"], aaaa: { delayMs: 20, records: [] } },
    });
    let calls = 0;
    await assert.rejects(
      resolveAddresses({ host }, {
        resolver,
        onAnswer: () => {
          calls++;
          throw oops;
        },
      }),
      (e) => e === oops,
    );
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(calls, 1);
    assert.ok(resolver.queries.every((q) => q.signal?.aborted));
  });

  await t.step(
    "an onAnswer that is not a function is a TypeError",
    async () => {
      await assert.rejects(
        resolveAddresses({ host: "::1" }, { onAnswer: 3 as never }),
        (e: Error) => e instanceof TypeError && /onAnswer/.test(e.message),
      );
    },
  );

  await t.step("bad timeout is a RangeError", async () => {
    for (const timeout of [0, -1, NaN]) {
      await assert.rejects(
        resolveAddresses({ host: "::1" }, { timeout }),
        RangeError,
      );
    }
    assert.deepEqual(
      await resolveAddresses({ host: "::1" }, { timeout: Infinity }),
      [v6("::1")],
    );
  });
});
