import assert from "node:assert/strict";
import {
  interleaveAddresses,
  ipFamily,
  resolveAddresses,
  type TargetAddress,
} from "./addresses.ts";
import { ResolveError } from "./resolver.ts";
import { servfail, TestResolver } from "./_test_resolver.ts";

const v4 = (ip: string): TargetAddress => ({ ip, family: 4 });
const v6 = (ip: string): TargetAddress => ({ ip, family: 6 });
const ips = (list: TargetAddress[]) => list.map((a) => a.ip);

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
    const resolver = new TestResolver({
      [host]: {
        a: { delay: 20, answer: ["192.0.2.1", "192.0.2.2"] },
        aaaa: { delay: 20, answer: ["2001:db8::1", "2001:db8::2"] },
      },
    });
    const pending = resolveAddresses({ host }, { resolver });
    // Both queries are out before either answers.
    assert.deepEqual(resolver.queries, [`A ${host}`, `AAAA ${host}`]);
    const got = await pending;
    assert.deepEqual(got, [
      v6("2001:db8::1"),
      v4("192.0.2.1"),
      v6("2001:db8::2"),
      v4("192.0.2.2"),
    ]);
  });

  await t.step("preferred family option", async () => {
    const resolver = new TestResolver({
      [host]: { a: ["192.0.2.1"], aaaa: ["2001:db8::1"] },
    });
    const got = await resolveAddresses({ host }, {
      resolver,
      preferredFamily: 4,
    });
    assert.deepEqual(ips(got), ["192.0.2.1", "2001:db8::1"]);
  });

  await t.step("candidate ips used without resolving", async () => {
    const resolver = new TestResolver({ [host]: { a: ["192.0.2.99"] } });
    const got = await resolveAddresses({
      host,
      ips: ["192.0.2.7", "[2001:db8::7]", "192.0.2.8"],
    }, { resolver });
    assert.deepEqual(got, [
      v6("2001:db8::7"),
      v4("192.0.2.7"),
      v4("192.0.2.8"),
    ]);
    assert.deepEqual(resolver.queries, []);
  });

  await t.step("empty ips means resolve the host", async () => {
    const resolver = new TestResolver({ [host]: { a: ["192.0.2.1"] } });
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
      resolveAddresses({ host }, { resolver: {} as TestResolver }),
      (e: Error) =>
        e instanceof TypeError && /options\.resolver/.test(e.message),
    );
  });

  await t.step("one family failing degrades to the other", async (t) => {
    const table: [string, ConstructorParameters<typeof TestResolver>[0]][] = [
      ["A fails", {
        [host]: { a: servfail(host, "A"), aaaa: ["2001:db8::1"] },
      }],
      ["AAAA fails", {
        [host]: { a: ["192.0.2.1"], aaaa: servfail(host, "AAAA") },
      }],
      ["AAAA has no records", { [host]: { a: ["192.0.2.1"] } }],
      ["AAAA never answers (timeout)", {
        [host]: { a: ["192.0.2.1"], aaaa: "hang" },
      }],
      ["AAAA answers garbage", {
        [host]: { a: ["192.0.2.1"], aaaa: ["192.0.2.9"] },
      }],
    ];
    for (const [name, zone] of table) {
      await t.step(name, async () => {
        const resolver = new TestResolver(zone);
        const got = await resolveAddresses({ host }, {
          resolver,
          timeout: 50,
        });
        assert.equal(got.length, 1);
        // Every lookup's signal is aborted once the answer is in.
        assert.ok(resolver.signals.every((s) => s?.aborted));
      });
    }
  });

  await t.step(
    "both families failing is a ResolveError naming both",
    async (t) => {
      const table: [
        string,
        ConstructorParameters<typeof TestResolver>[0],
        RegExp,
      ][] = [
        ["both SERVFAIL", {
          [host]: { a: servfail(host, "A"), aaaa: servfail(host, "AAAA") },
        }, /A: server failure; AAAA: server failure/],
        ["NXDOMAIN", {}, /A: no such records; AAAA: no such records/],
        ["one fails, other empty", {
          [host]: { a: servfail(host, "A") },
        }, /A: server failure; AAAA: no such records/],
        ["both time out", {
          [host]: { a: "hang", aaaa: "hang" },
        }, /A: no answer within 50 ms.*AAAA: no answer within 50 ms/],
      ];
      for (const [name, zone, message] of table) {
        await t.step(name, async () => {
          const resolver = new TestResolver(zone);
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
    const resolver = new TestResolver({ [host]: { a: "hang", aaaa: "hang" } });
    const controller = new AbortController();
    const reason = new Error("user gave up");
    const pending = resolveAddresses({ host }, {
      resolver,
      signal: controller.signal,
    });
    controller.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    assert.ok(resolver.signals.every((s) => s?.aborted));
    // Already aborted: rejects before asking anything.
    await assert.rejects(
      resolveAddresses({ host }, { resolver, signal: controller.signal }),
      (e) => e === reason,
    );
    assert.equal(resolver.queries.length, 2);
  });

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
