import assert from "node:assert/strict";
import type { Candidate } from "./candidate.ts";
import {
  discover,
  type DiscoverOptions,
  DiscoveryError,
  type DiscoveryErrorCode,
  type HostMetaSource,
  mergeByRfc2782,
} from "./discover.ts";
import {
  type MemoryName,
  memoryResolver,
  type MemoryZone,
} from "./memory_resolver.ts";
import { race } from "./race.ts";
import { ResolveError, type SrvRecord } from "./resolver.ts";

const D = "example.org";

function srv(
  priority: number,
  weight: number,
  port: number,
  target: string,
): SrvRecord {
  return { priority, weight, port, target };
}

/** A zone for D: the two client services, given as records or entries. */
function zone(
  xmpp?: SrvRecord[] | MemoryName,
  xmpps?: SrvRecord[] | MemoryName,
  extra: MemoryZone = {},
  kind: "client" | "server" = "client",
): MemoryZone {
  const z: MemoryZone = { ...extra };
  const entry = (v: SrvRecord[] | MemoryName) =>
    Array.isArray(v) ? { srv: v } : v;
  if (xmpp) z[`_xmpp-${kind}._tcp.${D}`] = entry(xmpp);
  if (xmpps) z[`_xmpps-${kind}._tcp.${D}`] = entry(xmpps);
  return z;
}

/** "transport host:port source", the part of a candidate a rule decides. */
function brief(c: Candidate): string {
  return `${c.transport} ${c.host}:${c.port} ${c.source}`;
}

interface Case {
  name: string;
  zone: MemoryZone;
  domain?: string;
  options?: DiscoverOptions;
  /** The candidates, in order (use distinct priorities to fix it). */
  want?: string[];
  /** Or the error code. */
  error?: DiscoveryErrorCode;
  /** Extra checks. */
  check?: (
    d: Awaited<ReturnType<typeof discover>> | undefined,
    e: unknown,
  ) => void;
}

const cases: Case[] = [
  // --- XEP-0368 merge ------------------------------------------------------
  {
    name: "merge: a lower-priority xmpps record goes before xmpp",
    zone: zone([srv(10, 1, 5222, "a.example.org")], [
      srv(5, 1, 5223, "b.example.org"),
    ]),
    want: [
      "directtls b.example.org:5223 srv",
      "starttls a.example.org:5222 srv",
    ],
  },
  {
    name: "merge: priorities interleave across services (not all xmpps first)",
    zone: zone(
      [srv(1, 0, 5222, "p1.example.org"), srv(3, 0, 5222, "p3.example.org")],
      [srv(2, 0, 443, "p2.example.org"), srv(4, 0, 443, "p4.example.org")],
    ),
    want: [
      "starttls p1.example.org:5222 srv",
      "directtls p2.example.org:443 srv",
      "starttls p3.example.org:5222 srv",
      "directtls p4.example.org:443 srv",
    ],
  },
  {
    name: "merge: the same host:port under both services is two candidates",
    zone: zone([srv(1, 0, 5222, "x.example.org")], [
      srv(2, 0, 5222, "x.example.org"),
    ]),
    want: [
      "starttls x.example.org:5222 srv",
      "directtls x.example.org:5222 srv",
    ],
  },
  {
    name: "merge: only one service has records",
    zone: zone(undefined, [srv(0, 0, 5223, "tls.example.org")]),
    want: ["directtls tls.example.org:5223 srv"],
  },
  // --- the "." target --------------------------------------------------------
  {
    name:
      '".": lone . in _xmpp-client and nothing else: no service, no fallback',
    zone: zone([srv(0, 0, 0, ".")]),
    error: "no-service",
    check: (_, e) => {
      assert.match(String((e as Error).message), /declares no XMPP service/);
    },
  },
  {
    name: '".": lone . in _xmpp-client, _xmpps-client usable: use those only',
    zone: zone([srv(0, 0, 0, ".")], [srv(0, 0, 5223, "tls.example.org")]),
    want: ["directtls tls.example.org:5223 srv"],
  },
  {
    name: '".": lone . in _xmpps-client: STARTTLS records only',
    zone: zone([srv(0, 0, 5222, "xmpp.example.org")], [srv(0, 0, 0, ".")]),
    want: ["starttls xmpp.example.org:5222 srv"],
    check: (d) => {
      assert.equal(d!.lookups.directTls.status, "unavailable");
      assert.deepEqual(d!.skipped, []);
    },
  },
  {
    name:
      '".": lone . in _xmpps-client, no _xmpp-client: no Direct TLS, so the STARTTLS fallback',
    zone: zone(undefined, [srv(0, 0, 0, ".")]),
    want: ["starttls example.org:5222 fallback"],
  },
  {
    name: '".": . in both services: no service',
    zone: zone([srv(0, 0, 0, ".")], [srv(0, 0, 0, ".")]),
    error: "no-service",
  },
  {
    name: '".": a . among other records is skipped',
    zone: zone(
      [srv(1, 0, 0, "."), srv(2, 0, 5222, "xmpp.example.org")],
      [srv(0, 0, 443, "."), srv(3, 0, 443, "tls.example.org")],
    ),
    want: [
      "starttls xmpp.example.org:5222 srv",
      "directtls tls.example.org:443 srv",
    ],
    check: (d) => {
      assert.deepEqual(
        d!.skipped.map((s) => `${s.service} ${s.reason}`),
        ["_xmpp-client._tcp no-service", "_xmpps-client._tcp no-service"],
      );
    },
  },
  // --- no records: RFC 6120 fallback ---------------------------------------
  {
    name: "no records (NXDOMAIN for both): domain:5222 STARTTLS fallback",
    zone: zone(),
    want: ["starttls example.org:5222 fallback"],
    check: (d) => {
      assert.equal(d!.lookups.starttls.status, "empty");
      assert.equal(d!.lookups.directTls.status, "empty");
    },
  },
  {
    name: "no records (NODATA for both): fallback",
    zone: zone({ a: ["192.0.2.1"] }, { aaaa: ["2001:db8::1"] }),
    want: ["starttls example.org:5222 fallback"],
  },
  {
    name: "no records, s2s: domain:5269 STARTTLS fallback, ALPN xmpp-server",
    zone: zone(),
    options: { kind: "server" },
    want: ["starttls example.org:5269 fallback"],
    check: (d) => assert.equal(d!.candidates[0].alpn, "xmpp-server"),
  },
  // --- records exist: never a fallback -------------------------------------
  {
    name: "records exist: no fallback candidate is appended",
    zone: zone([srv(0, 0, 5222, "down.example.org")]),
    want: ["starttls down.example.org:5222 srv"],
  },
  {
    name: "records exist but none is usable (port 0): an error, no fallback",
    zone: zone([srv(0, 0, 0, "xmpp.example.org")], [
      srv(0, 0, 0, "tls.example.org"),
    ]),
    error: "no-usable-records",
  },
  {
    name: "port 0 records are skipped among others",
    zone: zone([srv(1, 0, 0, "zero.example.org"), srv(2, 0, 5222, "ok.test")]),
    want: ["starttls ok.test:5222 srv"],
    check: (d) => assert.equal(d!.skipped[0].reason, "port-0"),
  },
  // --- lookup failures -------------------------------------------------------
  {
    name: "failures: _xmpps-client SERVFAIL, use _xmpp-client",
    zone: zone([srv(0, 0, 5222, "xmpp.example.org")], {
      fail: "server failure",
    }),
    want: ["starttls xmpp.example.org:5222 srv"],
    check: (d) => {
      assert.equal(d!.lookups.directTls.status, "error");
      assert.ok(d!.lookups.directTls.error instanceof ResolveError);
    },
  },
  {
    name: "failures: _xmpp-client times out, use _xmpps-client",
    zone: zone({ hang: true }, [srv(0, 0, 5223, "tls.example.org")]),
    options: { timeout: 50 },
    want: ["directtls tls.example.org:5223 srv"],
    check: (d) => {
      const l = d!.lookups.starttls;
      assert.equal(l.status, "error");
      assert.ok(l.error instanceof ResolveError);
      assert.match(l.error.message, /timeout of 50 ms/);
    },
  },
  {
    name: "failures: both fail: DiscoveryError naming both, with both causes",
    zone: zone({ fail: "server failure" }, { hang: true }),
    options: { timeout: 50 },
    error: "lookup-failed",
    check: (_, e) => {
      const err = e as DiscoveryError;
      assert.match(err.message, /_xmpp-client\._tcp\.example\.org: lookup/);
      assert.match(err.message, /_xmpps-client\._tcp\.example\.org: lookup/);
      assert.ok(err.cause instanceof AggregateError);
      assert.equal(err.cause.errors.length, 2);
      for (const c of err.cause.errors) assert.ok(c instanceof ResolveError);
    },
  },
  {
    name: "failures: one fails, the other is empty: an error, no fallback",
    zone: zone(undefined, { fail: "server failure" }),
    error: "lookup-failed",
  },
  // --- limits, names -------------------------------------------------------
  {
    name: "cap: 40 records give 32 candidates by default",
    zone: zone(
      Array.from({ length: 20 }, (_, i) => srv(i, 0, 5222, `s${i}.test`)),
      Array.from({ length: 20 }, (_, i) => srv(i, 0, 5223, `d${i}.test`)),
    ),
    check: (d) => {
      assert.equal(d!.candidates.length, 32);
      assert.equal(d!.overCap, 8);
      // The first ones in order are kept: priorities 0..15.
      assert.equal(d!.candidates.at(-1)!.priority, 15);
    },
  },
  {
    name: "cap: maxCandidates 2",
    zone: zone([srv(1, 0, 1, "a.test"), srv(2, 0, 2, "b.test")], [
      srv(3, 0, 3, "c.test"),
    ]),
    options: { maxCandidates: 2 },
    want: ["starttls a.test:1 srv", "starttls b.test:2 srv"],
  },
  {
    name: "IDN: the A-label is looked up and used for SNI",
    domain: "user@Bücher.example/phone",
    zone: {
      "_xmpp-client._tcp.xn--bcher-kva.example": {
        srv: [srv(0, 0, 5222, "XMPP.xn--bcher-kva.example.")],
      },
    },
    want: ["starttls xmpp.xn--bcher-kva.example:5222 srv"],
    check: (d) => {
      assert.equal(d!.domain, "xn--bcher-kva.example");
      assert.equal(d!.candidates[0].serverName, "xn--bcher-kva.example");
      assert.equal(
        d!.lookups.directTls.name,
        "_xmpps-client._tcp.xn--bcher-kva.example",
      );
    },
  },
  {
    name: "IDN: a Unicode or upper-case target becomes an A-label host",
    zone: zone([srv(0, 0, 5222, "XMPP.Bücher.example.")]),
    want: ["starttls xmpp.xn--bcher-kva.example:5222 srv"],
  },
  {
    name: "every candidate: serverName is the domain, alpn, host the target",
    zone: zone([srv(0, 0, 5222, "other.net")], [srv(1, 0, 443, "cdn.net")]),
    check: (d) => {
      for (const c of d!.candidates) {
        assert.equal(c.serverName, D);
        assert.equal(c.alpn, "xmpp-client");
        assert.notEqual(c.host, D);
      }
      assert.deepEqual(d!.candidates.map((c) => c.host), [
        "other.net",
        "cdn.net",
      ]);
    },
  },
  {
    name: "s2s: the -server services, ALPN xmpp-server",
    zone: zone(
      [srv(0, 0, 5269, "s2s.example.org")],
      [srv(1, 0, 5270, "s2s.example.org")],
      {},
      "server",
    ),
    options: { kind: "server" },
    want: [
      "starttls s2s.example.org:5269 srv",
      "directtls s2s.example.org:5270 srv",
    ],
    check: (d) => {
      assert.equal(d!.lookups.starttls.service, "_xmpp-server._tcp");
      for (const c of d!.candidates) assert.equal(c.alpn, "xmpp-server");
    },
  },
  // --- QUIC opt-in -------------------------------------------------------------
  {
    name: "quic: UDP 443 at the domain, after every SRV candidate",
    zone: zone([srv(0, 0, 5222, "a.test")], [srv(9, 0, 443, "b.test")]),
    options: { quic: true },
    want: [
      "starttls a.test:5222 srv",
      "directtls b.test:443 srv",
      "quic example.org:443 quic-default",
    ],
  },
  {
    name: "quic: after the fallback too",
    zone: zone(),
    options: { quic: true },
    want: [
      "starttls example.org:5222 fallback",
      "quic example.org:443 quic-default",
    ],
  },
  {
    name: "quic: off by default",
    zone: zone([srv(0, 0, 5222, "a.test")]),
    want: ["starttls a.test:5222 srv"],
  },
  {
    name: "quic: not added when _xmpp-client says . (no service)",
    zone: zone([srv(0, 0, 0, ".")], [srv(0, 0, 5223, "tls.test")]),
    options: { quic: true },
    want: ["directtls tls.test:5223 srv"],
  },
];

Deno.test("discover: rules", async (t) => {
  for (const c of cases) {
    await t.step(c.name, async () => {
      const resolver = memoryResolver(c.zone);
      let d: Awaited<ReturnType<typeof discover>> | undefined;
      let e: unknown;
      try {
        d = await discover(c.domain ?? D, { resolver, seed: 1, ...c.options });
      } catch (err) {
        e = err;
      }
      if (c.error) {
        assert.ok(e instanceof DiscoveryError, `expected an error, got ${e}`);
        assert.equal(e.code, c.error);
        assert.equal(e.domain, "example.org");
        assert.equal(e.lookups.starttls.name, `_xmpp-client._tcp.${D}`);
      } else {
        assert.equal(e, undefined, String(e));
        assert.ok(d!.candidates.length > 0);
        if (c.want) assert.deepEqual(d!.candidates.map(brief), c.want);
      }
      c.check?.(d, e);
    });
  }
});

Deno.test("discover: both SRV queries run in parallel", async (t) => {
  await t.step("they overlap in time", async () => {
    const resolver = memoryResolver(zone(
      { srv: [srv(0, 0, 5222, "a.test")], delayMs: 40 },
      { srv: [srv(0, 0, 5223, "b.test")], delayMs: 40 },
    ));
    await discover(D, { resolver });
    const [q1, q2] = resolver.queries;
    assert.equal(resolver.count(undefined, "SRV"), 2);
    // Each started before the other ended: they were in flight together.
    assert.ok(q2.start < q1.end!, "the second started before the first ended");
    assert.ok(q1.start < q2.end!, "the first started before the second ended");
  });
  await t.step("a hanging one does not hold the other back", async () => {
    const resolver = memoryResolver(zone({ hang: true }, {
      srv: [srv(0, 0, 5223, "b.test")],
    }));
    const d = await discover(D, { resolver, timeout: 60 });
    const xmpps = resolver.queries.find((q) => q.name.startsWith("_xmpps"))!;
    const xmpp = resolver.queries.find((q) => q.name.startsWith("_xmpp-"))!;
    assert.ok(xmpps.end! < xmpp.end!);
    assert.ok(xmpps.start - xmpp.start < 20);
    assert.equal(d.candidates.length, 1);
  });
});

Deno.test("discover: SRV additional addresses become ips", async (t) => {
  await t.step("ips as given; records without addresses get none", async () => {
    const resolver = memoryResolver(zone(
      [{
        ...srv(1, 0, 5222, "xmpp.example.org"),
        addresses: ["2001:db8::1", "192.0.2.1"],
      }],
      [
        { ...srv(0, 0, 5223, "tls.example.org"), addresses: [] },
        srv(2, 0, 5223, "other.example.org"),
      ],
    ));
    const d = await discover(D, { resolver, seed: 1 });
    assert.deepEqual(
      d.candidates.map((c) => [brief(c), c.ips, c.serverName]),
      [
        ["directtls tls.example.org:5223 srv", undefined, D],
        ["starttls xmpp.example.org:5222 srv", ["2001:db8::1", "192.0.2.1"], D],
        ["directtls other.example.org:5223 srv", undefined, D],
      ],
    );
    assert.ok(!("ips" in d.candidates[0]));
    // A copy: changing the candidate leaves the lookup's record alone.
    d.candidates[1].ips!.push("192.0.2.99");
    assert.deepEqual(d.lookups.starttls.records[0].addresses, [
      "2001:db8::1",
      "192.0.2.1",
    ]);
  });

  await t.step("the racer dials them without an A/AAAA lookup", async () => {
    const resolver = memoryResolver(zone([{
      ...srv(0, 0, 5222, "xmpp.example.org"),
      addresses: ["192.0.2.1"],
    }]));
    const d = await discover(D, { resolver });
    const dialled: string[] = [];
    const result = await race(d.candidates, (attempt) => {
      dialled.push(attempt.address.ip);
      return Promise.resolve({ close() {} });
    }, { resolver });
    await result.settled;
    assert.deepEqual(dialled, ["192.0.2.1"]);
    assert.equal(resolver.count(undefined, "A"), 0);
    assert.equal(resolver.count(undefined, "AAAA"), 0);
    assert.equal(resolver.count(undefined, "SRV"), 2);
  });
});

Deno.test("discover: randomness is seedable", async () => {
  const z = zone(
    [srv(1, 10, 5222, "a.test"), srv(1, 20, 5222, "b.test")],
    [srv(1, 30, 443, "c.test"), srv(1, 40, 443, "d.test")],
  );
  const order = async (options: DiscoverOptions) =>
    (await discover(D, { resolver: memoryResolver(z), ...options }))
      .candidates.map((c) => c.host).join(",");
  const seen = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const a = await order({ seed });
    assert.equal(await order({ seed }), a);
    seen.add(a);
  }
  assert.ok(seen.size > 3, "different seeds give different orders");
  await assert.rejects(
    order({ seed: 1, random: Math.random }),
    TypeError,
  );
});

Deno.test("discover: host-meta integration point", async (t) => {
  const link = (
    priority: number,
    transport: Candidate["transport"],
    host: string,
  ): Candidate => ({
    transport,
    host,
    port: 443,
    serverName: D,
    alpn: "xmpp-client",
    priority,
    weight: 0,
    source: "host-meta",
  });
  await t.step("fetch gets the domain, kind and a signal", async () => {
    const calls: unknown[][] = [];
    const hostMeta: HostMetaSource = {
      fetch(domain, kind, signal) {
        calls.push([domain, kind, signal instanceof AbortSignal]);
        return Promise.resolve([]);
      },
    };
    const d = await discover("Bücher.example", {
      resolver: memoryResolver({}),
      hostMeta,
    });
    assert.deepEqual(calls, [["xn--bcher-kva.example", "client", true]]);
    assert.equal(d.hostMeta?.status, "empty");
  });
  await t.step(
    "by default host-meta endpoints replace SRV (XEP-0487 §2.2)",
    async () => {
      const d = await discover(D, {
        resolver: memoryResolver(
          zone([srv(1, 0, 5222, "a.test")], [srv(10, 0, 443, "c.test")]),
        ),
        hostMeta: {
          fetch: () => Promise.resolve([link(5, "quic", "q.test")]),
        },
        quic: true,
      });
      assert.deepEqual(d.candidates.map(brief), ["quic q.test:443 host-meta"]);
    },
  );
  await t.step("with no host-meta endpoints, SRV stays", async () => {
    const d = await discover(D, {
      resolver: memoryResolver(zone([srv(1, 0, 5222, "a.test")])),
      hostMeta: { fetch: () => Promise.resolve([]) },
    });
    assert.deepEqual(d.candidates.map(brief), ["starttls a.test:5222 srv"]);
  });
  await t.step("mergeByRfc2782 mixes both in one order", async () => {
    const d = await discover(D, {
      resolver: memoryResolver(
        zone([srv(1, 0, 5222, "a.test")], [srv(10, 0, 443, "c.test")]),
      ),
      hostMeta: {
        fetch: () => Promise.resolve([link(5, "quic", "q.test")]),
        merge: mergeByRfc2782,
      },
    });
    assert.deepEqual(d.candidates.map(brief), [
      "starttls a.test:5222 srv",
      "quic q.test:443 host-meta",
      "directtls c.test:443 srv",
    ]);
  });
  await t.step("a custom merge replaces the default", async () => {
    const d = await discover(D, {
      resolver: memoryResolver(zone([srv(1, 0, 5222, "a.test")])),
      hostMeta: {
        fetch: () => Promise.resolve([link(5, "directtls", "h.test")]),
        merge: (srv, hm) => [...hm, ...srv],
      },
    });
    assert.deepEqual(d.candidates.map((c) => c.host), ["h.test", "a.test"]);
  });
  await t.step("a failing fetch is recorded, not fatal", async () => {
    const d = await discover(D, {
      resolver: memoryResolver(zone([srv(1, 0, 5222, "a.test")])),
      hostMeta: { fetch: () => Promise.reject(new Error("HTTP 500")) },
    });
    assert.equal(d.hostMeta?.status, "error");
    assert.match(d.hostMeta!.error!.message, /HTTP 500/);
    assert.deepEqual(d.candidates.map((c) => c.host), ["a.test"]);
  });
  await t.step("host-meta candidates survive failed SRV lookups", async () => {
    const d = await discover(D, {
      resolver: memoryResolver(zone({ fail: "x" }, { fail: "y" })),
      hostMeta: { fetch: () => Promise.resolve([link(0, "quic", "q.test")]) },
    });
    assert.deepEqual(d.candidates.map((c) => c.host), ["q.test"]);
  });
  await t.step(
    "a host-meta QUIC candidate replaces the QUIC default",
    async () => {
      const d = await discover(D, {
        resolver: memoryResolver(zone()),
        hostMeta: { fetch: () => Promise.resolve([link(0, "quic", "q.test")]) },
        quic: true,
      });
      // Host-meta endpoints are records found: no RFC 6120 fallback.
      assert.deepEqual(d.candidates.map(brief), ["quic q.test:443 host-meta"]);
    },
  );
});

Deno.test("discover: abort and timeout", async (t) => {
  await t.step("the caller's signal rejects with its reason", async () => {
    const ac = new AbortController();
    const p = discover(D, {
      resolver: memoryResolver(zone({ hang: true }, { hang: true })),
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(new Error("user cancelled")), 10);
    await assert.rejects(p, { message: "user cancelled" });
  });
  await t.step("an aborted signal rejects before any lookup", async () => {
    const resolver = memoryResolver(zone());
    await assert.rejects(
      discover(D, { resolver, signal: AbortSignal.abort(new Error("no")) }),
      { message: "no" },
    );
    assert.equal(resolver.queries.length, 0);
  });
  await t.step("the discovery timeout bounds slow lookups", async () => {
    const t0 = performance.now();
    await assert.rejects(
      discover(D, {
        resolver: memoryResolver(zone({ hang: true }, { hang: true })),
        timeout: 30,
      }),
      (e: unknown) => e instanceof DiscoveryError && e.code === "lookup-failed",
    );
    assert.ok(performance.now() - t0 < 500);
  });
});

Deno.test("discover: bad arguments", async (t) => {
  const resolver = memoryResolver({});
  const table: [string, () => Promise<unknown>, ErrorConstructor][] = [
    ["empty domain", () => discover("", { resolver }), TypeError],
    ["IP address", () => discover("192.0.2.1", { resolver }), TypeError],
    ["a space", () => discover("exa mple.org", { resolver }), TypeError],
    [
      "bad kind",
      () => discover(D, { resolver, kind: "bogus" as "client" }),
      TypeError,
    ],
    [
      "maxCandidates 0",
      () => discover(D, { resolver, maxCandidates: 0 }),
      RangeError,
    ],
    ["timeout 0", () => discover(D, { resolver, timeout: 0 }), RangeError],
    ["not a resolver", () => discover(D, { resolver: {} as never }), TypeError],
    [
      "hostMeta without fetch",
      () => discover(D, { resolver, hostMeta: {} as never }),
      TypeError,
    ],
    [
      "random not a function",
      () => discover(D, { resolver, random: 1 as never }),
      TypeError,
    ],
  ];
  for (const [name, f, type] of table) {
    await t.step(name, () => assert.rejects(f, type));
  }
});
