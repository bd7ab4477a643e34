import assert from "node:assert/strict";
import { dnsResolver } from "./dns_resolver.ts";
import { ResolveError } from "./resolver.ts";
import { DnsResponseError } from "./_dns_wire.ts";

/**
 * A tiny name server for these tests, on one loopback port for UDP and
 * TCP: it answers each query with the rcode and records the handler
 * returns, or not at all (`null`). `truncated` answers UDP with TC set and
 * no records (the records then come over TCP); `spoof` sends, before the
 * real answer, one with the wrong id and one from another port, both with
 * bogus records; `cname` puts `query CNAME cname` first and owns the
 * records by `cname`; `additional` puts A and AAAA records of the names
 * given in the additional section.
 */
type FakeAnswer =
  | null
  | {
    rcode?: number;
    srv?: { priority: number; weight: number; port: number; target: string }[];
    a?: string[];
    aaaa?: string[];
    cname?: string;
    additional?: { name: string; a?: string[]; aaaa?: string[] }[];
    truncated?: boolean;
    spoof?: boolean;
  };

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split(".").filter(Boolean)) {
    const bytes = new TextEncoder().encode(label);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

function u16(n: number): number[] {
  return [n >> 8, n & 255];
}

/** Test-only IPv6 text to bytes (with `::`, without embedded IPv4). */
function ipv6(text: string): number[] {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, ""];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => u16(parseInt(g, 16)));
}

function decodeQuestion(msg: Uint8Array): { name: string; end: number } {
  const labels: string[] = [];
  let i = 12;
  while (msg[i] !== 0) {
    labels.push(new TextDecoder().decode(msg.subarray(i + 1, i + 1 + msg[i])));
    i += 1 + msg[i];
  }
  return { name: labels.join("."), end: i + 5 };
}

function rr(owner: number[], type: number, rdata: number[]): number[] {
  return [
    ...owner,
    ...u16(type),
    ...u16(1),
    0,
    0,
    0,
    60,
    ...u16(rdata.length),
    ...rdata,
  ];
}

function reply(
  msg: Uint8Array,
  answer: Exclude<FakeAnswer, null>,
  options: { tc?: boolean; id?: number; bogus?: boolean } = {},
): Uint8Array {
  const { end } = decodeQuestion(msg);
  const rrs: number[][] = [];
  let owner = [0xc0, 12];
  if (answer.cname && !options.tc) {
    rrs.push(rr(owner, 5, encodeName(answer.cname)));
    owner = encodeName(answer.cname);
  }
  if (!options.tc) {
    const srv = options.bogus
      ? [{ priority: 0, weight: 0, port: 666, target: "evil.test" }]
      : answer.srv ?? [];
    for (const s of srv) {
      rrs.push(rr(owner, 33, [
        ...u16(s.priority),
        ...u16(s.weight),
        ...u16(s.port),
        ...encodeName(s.target),
      ]));
    }
    const a = options.bogus ? ["6.6.6.6"] : answer.a ?? [];
    for (const ip of a) rrs.push(rr(owner, 1, ip.split(".").map(Number)));
    for (const ip of answer.aaaa ?? []) rrs.push(rr(owner, 28, ipv6(ip)));
  }
  const extra: number[][] = [];
  if (!options.tc && !options.bogus) {
    for (const { name, a = [], aaaa = [] } of answer.additional ?? []) {
      for (const ip of a) {
        extra.push(rr(encodeName(name), 1, ip.split(".").map(Number)));
      }
      for (const ip of aaaa) extra.push(rr(encodeName(name), 28, ipv6(ip)));
    }
  }
  const id = options.id ?? ((msg[0] << 8) | msg[1]);
  return new Uint8Array([
    ...u16(id),
    0x84 | (msg[2] & 1) | (options.tc ? 2 : 0), // QR, AA, TC, RD copied
    answer.rcode ?? 0,
    ...u16(1),
    ...u16(rrs.length),
    ...u16(0),
    ...u16(extra.length),
    ...msg.subarray(12, end),
    ...rrs.flat(),
    ...extra.flat(),
  ]);
}

interface FakeDns {
  port: number;
  /** `name/type/udp` or `name/type/tcp` for each query received. */
  queries: string[];
  close(): Promise<void>;
}

function startFakeDns(
  handler: (name: string, type: number) => FakeAnswer,
  at: { hostname?: string; port?: number } = {},
): FakeDns {
  const hostname = at.hostname ?? "127.0.0.1";
  const sock = Deno.listenDatagram({
    hostname,
    port: at.port ?? 0,
    transport: "udp",
  });
  let spoofer: Deno.DatagramConn;
  let tcp: Deno.Listener;
  const port = (sock.addr as Deno.NetAddr).port;
  try {
    spoofer = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
    tcp = Deno.listen({ hostname, port });
  } catch (e) {
    sock.close();
    throw e;
  }
  const queries: string[] = [];
  const tasks: Promise<void>[] = [];
  const ask = (msg: Uint8Array, via: string) => {
    const { name, end } = decodeQuestion(msg);
    const type = (msg[end - 4] << 8) | msg[end - 3];
    queries.push(`${name}/${type}/${via}`);
    return handler(name, type);
  };
  tasks.push(
    (async () => {
      for await (const [msg, addr] of sock) {
        const answer = ask(msg, "udp");
        if (answer === null) continue;
        if (answer.spoof) {
          const id = ((msg[0] << 8) | msg[1]) ^ 0x5555;
          await sock.send(reply(msg, answer, { id, bogus: true }), addr);
          await spoofer.send(reply(msg, answer, { bogus: true }), addr);
        }
        await sock.send(reply(msg, answer, { tc: answer.truncated }), addr)
          .catch(() => {});
      }
    })().catch(() => {}),
  );
  tasks.push(
    (async () => {
      for await (const conn of tcp) {
        tasks.push(
          (async () => {
            try {
              const head = new Uint8Array(2);
              if (await conn.read(head) !== 2) return;
              const msg = new Uint8Array((head[0] << 8) | head[1]);
              for (let got = 0; got < msg.length;) {
                const n = await conn.read(msg.subarray(got));
                if (n === null) return;
                got += n;
              }
              const answer = ask(msg, "tcp");
              if (answer === null) return;
              const r = reply(msg, answer);
              await conn.write(new Uint8Array([...u16(r.length), ...r]));
            } finally {
              conn.close();
            }
          })().catch(() => {}),
        );
      }
    })().catch(() => {}),
  );
  return {
    port,
    queries,
    async close() {
      sock.close();
      spoofer.close();
      tcp.close();
      await Promise.all(tasks);
    },
  };
}

const SRV = 33;

function zone(name: string, type: number): FakeAnswer {
  switch (name) {
    case "_xmpp-client._tcp.records.test":
      return type === SRV
        ? {
          srv: [
            {
              priority: 1,
              weight: 5,
              port: 5222,
              target: "xmpp.records.test",
            },
            { priority: 2, weight: 0, port: 5223, target: "other.test" },
          ],
        }
        : {};
    case "_xmpp-client._tcp.idn.test":
      return {
        srv: [{
          priority: 0,
          weight: 0,
          port: 5222,
          target: "xmpp.xn--bcher-kva.test",
        }],
      };
    case "_xmpp-client._tcp.root.test":
      return { srv: [{ priority: 0, weight: 0, port: 0, target: "" }] };
    case "_xmpp-client._tcp.glue.test":
      return {
        srv: [
          { priority: 1, weight: 0, port: 5222, target: "xmpp.glue.test" },
          { priority: 2, weight: 0, port: 5222, target: "bare.glue.test" },
        ],
        additional: [
          { name: "xmpp.glue.test", aaaa: ["2001:db8::5"], a: ["192.0.2.5"] },
          { name: "elsewhere.test", a: ["192.0.2.66"] },
        ],
      };
    case "host.test":
      return type === 1
        ? { a: ["192.0.2.7", "192.0.2.8"] }
        : type === 28
        ? { aaaa: ["2001:db8::7", "::1"] }
        : {};
    case "v4only.test":
      return type === 1 ? { a: ["192.0.2.9"] } : {};
    case "alias.test":
      return { cname: "host.test", a: ["192.0.2.7"] };
    case "big.test":
      return {
        truncated: true,
        a: Array.from({ length: 100 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
      };
    case "spoofed.test":
      return { spoof: true, a: ["192.0.2.99"] };
    case "nxdomain.test":
      return { rcode: 3 };
    case "servfail.test":
      return { rcode: 2 };
    case "refused.test":
      return { rcode: 5 };
    case "silent.test":
      return null;
    default:
      return {};
  }
}

Deno.test("dnsResolver (wire): answers and negative answers", async (t) => {
  const dns = startFakeDns(zone);
  const r = dnsResolver({
    nameServer: { ipAddr: "127.0.0.1", port: dns.port },
    timeout: 2000,
  });
  try {
    const table: [string, () => Promise<unknown>, unknown][] = [
      [
        "SRV records, trailing dots stripped",
        () => r.srv("_xmpp-client._tcp.records.test"),
        [
          { priority: 1, weight: 5, port: 5222, target: "xmpp.records.test" },
          { priority: 2, weight: 0, port: 5223, target: "other.test" },
        ],
      ],
      [
        "IDN targets stay A-labels",
        () => r.srv("_xmpp-client._tcp.idn.test"),
        [{
          priority: 0,
          weight: 0,
          port: 5222,
          target: "xmpp.xn--bcher-kva.test",
        }],
      ],
      [
        "the root target is '.'",
        () => r.srv("_xmpp-client._tcp.root.test"),
        [{ priority: 0, weight: 0, port: 0, target: "." }],
      ],
      [
        "additional A/AAAA of a target become its addresses",
        () => r.srv("_xmpp-client._tcp.glue.test"),
        [
          {
            priority: 1,
            weight: 0,
            port: 5222,
            target: "xmpp.glue.test",
            addresses: ["192.0.2.5", "2001:db8::5"],
          },
          { priority: 2, weight: 0, port: 5222, target: "bare.glue.test" },
        ],
      ],
      ["A records", () => r.a("host.test"), ["192.0.2.7", "192.0.2.8"]],
      ["AAAA records", () => r.aaaa("host.test"), ["2001:db8::7", "::1"]],
      ["a CNAME is followed", () => r.a("alias.test"), ["192.0.2.7"]],
      ["NODATA is []", () => r.aaaa("v4only.test"), []],
      ["NXDOMAIN is []", () => r.srv("nxdomain.test"), []],
      [
        "truncated over UDP: the records come over TCP",
        async () => (await r.a("big.test")).length,
        100,
      ],
      [
        "spoofed answers (wrong id, other port) are dropped",
        () => r.a("spoofed.test"),
        ["192.0.2.99"],
      ],
    ];
    for (const [name, f, want] of table) {
      await t.step(name, async () => assert.deepEqual(await f(), want));
    }
    await t.step("TCP only after TC", () => {
      assert.deepEqual(
        dns.queries.filter((q) => q.startsWith("big.test")),
        ["big.test/1/udp", "big.test/1/tcp"],
      );
      assert.ok(
        !dns.queries.some((q) => q.endsWith("/tcp") && !q.startsWith("big")),
      );
    });
    const failures: [string, string, number, RegExp][] = [
      [
        "SERVFAIL is a ResolveError",
        "servfail.test",
        2,
        /^SRV lookup of servfail\.test failed: server failure \(SERVFAIL, rcode 2\) from 127\.0\.0\.1 port \d+$/,
      ],
      [
        "REFUSED is a ResolveError",
        "refused.test",
        5,
        /^SRV lookup of refused\.test failed: query refused \(REFUSED, rcode 5\) from 127\.0\.0\.1 port \d+$/,
      ],
    ];
    for (const [name, query, rcode, message] of failures) {
      await t.step(name, async () => {
        const e = await r.srv(query).catch((e) => e);
        assert.ok(e instanceof ResolveError, String(e));
        assert.ok(e instanceof DnsResponseError);
        assert.equal(e.rcode, rcode);
        assert.equal(e.query, query);
        assert.equal(e.recordType, "SRV");
        assert.match(e.message, message);
      });
    }
    await t.step(
      "a name that cannot be a DNS name is a TypeError",
      async () => {
        await assert.rejects(r.srv("a..b"), TypeError);
        await assert.rejects(r.a(`${"x".repeat(64)}.test`), TypeError);
      },
    );
  } finally {
    await dns.close();
  }
});

Deno.test("dnsResolver (deno transport): what Deno.resolveDns can tell", async (t) => {
  const dns = startFakeDns(zone);
  const r = dnsResolver({
    nameServer: { ipAddr: "127.0.0.1", port: dns.port },
    timeout: 2000,
    transport: "deno",
  });
  try {
    const table: [string, () => Promise<unknown>, unknown][] = [
      ["A records", () => r.a("host.test"), ["192.0.2.7", "192.0.2.8"]],
      [
        "IDN targets come back as A-labels (Deno shows them as Unicode)",
        () => r.srv("_xmpp-client._tcp.idn.test"),
        [{
          priority: 0,
          weight: 0,
          port: 5222,
          target: "xmpp.xn--bcher-kva.test",
        }],
      ],
      [
        "the root target stays '.'",
        () => r.srv("_xmpp-client._tcp.root.test"),
        [{ priority: 0, weight: 0, port: 0, target: "." }],
      ],
      ["NXDOMAIN is []", () => r.srv("nxdomain.test"), []],
      [
        "truncated: Deno asks again over TCP too",
        async () => (await r.a("big.test")).length,
        100,
      ],
      // Measured: Deno reports SERVFAIL and REFUSED as NotFound too.
      ["SERVFAIL is [] (Deno cannot tell)", () => r.srv("servfail.test"), []],
      ["REFUSED is [] (Deno cannot tell)", () => r.srv("refused.test"), []],
    ];
    for (const [name, f, want] of table) {
      await t.step(name, async () => assert.deepEqual(await f(), want));
    }
  } finally {
    await dns.close();
  }
});

/**
 * Fake servers on port 53 of 127.53.0.x, as resolv.conf has no ports;
 * `undefined` where that port cannot be bound (not root).
 */
async function startOnPort53(
  handlers: ((name: string, type: number) => FakeAnswer)[],
): Promise<FakeDns[] | undefined> {
  const started: FakeDns[] = [];
  try {
    handlers.forEach((h, i) =>
      started.push(startFakeDns(h, { hostname: `127.53.0.${i + 1}`, port: 53 }))
    );
    return started;
  } catch {
    await Promise.all(started.map((s) => s.close()));
    return undefined;
  }
}

Deno.test("dnsResolver: name servers from resolv.conf", async (t) => {
  const dir = await Deno.makeTempDir();
  const conf = async (name: string, ...addresses: string[]) => {
    const path = `${dir}/${name}`;
    await Deno.writeTextFile(
      path,
      `# test\n${addresses.map((a) => `nameserver ${a}\n`).join("")}`,
    );
    return path;
  };
  // 127.53.0.1 never answers, .2 has the zone, .3 answers SERVFAIL.
  const servers = await startOnPort53([() => null, zone, () => ({ rcode: 2 })]);
  const [silent, good, failing] = servers ?? [];
  const ignore = servers === undefined;
  try {
    await t.step({
      name: "a silent server, then the next one (shared timeout)",
      ignore,
      fn: async () => {
        const path = await conf("silent-good", "127.53.0.1", "127.53.0.2");
        const r = dnsResolver({ resolvConf: path, timeout: 600 });
        const t0 = performance.now();
        assert.deepEqual(await r.a("host.test"), ["192.0.2.7", "192.0.2.8"]);
        const ms = performance.now() - t0;
        assert.ok(ms >= 290 && ms < 590, `took ${ms} ms`);
        assert.equal(silent.queries.length, 3, "sent at 0, 100 and 200 ms");
        assert.deepEqual(good.queries, ["host.test/1/udp"]);
      },
    });
    await t.step({
      name: "SERVFAIL from the first: the next one answers at once",
      ignore,
      fn: async () => {
        const path = await conf("failing-good", "127.53.0.3", "127.53.0.2");
        const r = dnsResolver({ resolvConf: path, timeout: 5000 });
        const t0 = performance.now();
        assert.deepEqual(await r.srv("_xmpp-client._tcp.root.test"), [
          { priority: 0, weight: 0, port: 0, target: "." },
        ]);
        assert.ok(performance.now() - t0 < 1000);
      },
    });
    await t.step({
      name: "NXDOMAIN from the first is the answer",
      ignore,
      fn: async () => {
        const path = await conf("good-failing", "127.53.0.2", "127.53.0.3");
        const r = dnsResolver({ resolvConf: path });
        const before = failing.queries.length;
        assert.deepEqual(await r.srv("nxdomain.test"), []);
        assert.equal(failing.queries.length, before, "the second not asked");
      },
    });
    await t.step({
      name: "all fail: one ResolveError naming each server",
      ignore,
      fn: async () => {
        const path = await conf("failing-silent", "127.53.0.3", "127.53.0.1");
        const r = dnsResolver({ resolvConf: path, timeout: 300 });
        const e = await r.srv("_xmpp-client._tcp.x.test").catch((e) => e);
        assert.ok(e instanceof ResolveError, String(e));
        assert.match(
          e.message,
          /^SRV lookup of _xmpp-client\._tcp\.x\.test failed: server failure \(SERVFAIL, rcode 2\) from 127\.53\.0\.3 port 53; no answer within (29\d|300) ms from 127\.53\.0\.1 port 53$/,
        );
        assert.ok(e.cause instanceof AggregateError);
        assert.equal(e.cause.errors.length, 2);
      },
    });
    await t.step(
      "unreachable servers (no port 53 needed): both asked, timeout shared",
      async () => {
        // Nothing listens on port 53 of 127.0.0.2 and 127.0.0.3.
        const path = await conf("unreachable", "127.0.0.2", "127.0.0.3");
        const r = dnsResolver({ resolvConf: path, timeout: 300 });
        const t0 = performance.now();
        const e = await r.a("host.test").catch((e) => e);
        const ms = performance.now() - t0;
        assert.ok(e instanceof ResolveError, String(e));
        assert.match(
          e.message,
          /^A lookup of host\.test failed: no answer within 150 ms from 127\.0\.0\.2 port 53; no answer within 1[45]\d ms from 127\.0\.0\.3 port 53$/,
        );
        assert.ok(ms >= 280 && ms < 1000, `took ${ms} ms`);
      },
    );
    await t.step(
      "transport wire without a usable file: ResolveError",
      async () => {
        const r = dnsResolver({
          resolvConf: `${dir}/missing.conf`,
          transport: "wire",
        });
        const e = await r.srv("_xmpp-client._tcp.x.test").catch((e) => e);
        assert.ok(e instanceof ResolveError, String(e));
        assert.match(e.message, /no name server: cannot read .*missing\.conf/);
      },
    );
    await t.step("the file is read once per resolver", async () => {
      const path = await conf("once", "127.0.0.2");
      const r = dnsResolver({ resolvConf: path, timeout: 30 });
      await r.a("host.test").catch(() => {});
      await Deno.writeTextFile(path, "nameserver 127.0.0.3\n");
      const e = await r.a("host.test").catch((e) => e);
      assert.match(e.message, /from 127\.0\.0\.2 port 53$/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Promise.all((servers ?? []).map((s) => s.close()));
  }
});

Deno.test("dnsResolver: timeouts and aborts", async (t) => {
  const dns = startFakeDns(() => null); // never answers
  const nameServer = { ipAddr: "127.0.0.1", port: dns.port };
  try {
    await t.step("no answer: ResolveError after timeout", async () => {
      const r = dnsResolver({ nameServer, timeout: 100 });
      const t0 = performance.now();
      const e = await r.srv("_xmpp-client._tcp.silent.test").catch((e) => e);
      const ms = performance.now() - t0;
      assert.ok(e instanceof ResolveError, String(e));
      assert.equal(e.query, "_xmpp-client._tcp.silent.test");
      assert.equal(e.recordType, "SRV");
      assert.match(e.message, /no answer within 100 ms from 127\.0\.0\.1/);
      assert.ok(e.cause !== undefined);
      assert.ok(ms >= 90 && ms < 1500, `took ${ms} ms`);
      // Sent three times: at 0, 33 and 67 ms.
      assert.equal(
        dns.queries.filter((q) => q.startsWith("_xmpp-client._tcp.silent"))
          .length,
        3,
      );
    });
    await t.step("the caller's abort rejects with its reason", async () => {
      const r = dnsResolver({ nameServer, timeout: 5000 });
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error("caller gave up")), 20);
      await assert.rejects(r.a("silent.test", { signal: ac.signal }), {
        message: "caller gave up",
      });
    });
    await t.step("an already aborted signal rejects at once", async () => {
      const r = dnsResolver({ nameServer });
      const ac = new AbortController();
      ac.abort(new Error("before"));
      await assert.rejects(r.aaaa("x.test", { signal: ac.signal }), {
        message: "before",
      });
    });
    await t.step("deno transport: timeout and abort too", async () => {
      const r = dnsResolver({ nameServer, timeout: 100, transport: "deno" });
      const e = await r.a("silent.test").catch((e) => e);
      assert.ok(e instanceof ResolveError, String(e));
      assert.match(e.message, /no answer within 100 ms from 127\.0\.0\.1/);
      const ac = new AbortController();
      ac.abort(new Error("before"));
      await assert.rejects(r.a("x.test", { signal: ac.signal }), {
        message: "before",
      });
    });
  } finally {
    await dns.close();
  }
});

Deno.test("dnsResolver: bad options", async (t) => {
  const table: [string, () => unknown, ErrorConstructor][] = [
    ["zero timeout", () => dnsResolver({ timeout: 0 }), RangeError],
    ["NaN timeout", () => dnsResolver({ timeout: NaN }), RangeError],
    [
      "missing ipAddr",
      () => dnsResolver({ nameServer: {} as never }),
      TypeError,
    ],
    [
      "ipAddr not an IP address",
      () => dnsResolver({ nameServer: { ipAddr: "dns.example" } }),
      TypeError,
    ],
    [
      "ipAddr with a zone id",
      () => dnsResolver({ nameServer: { ipAddr: "fe80::1%eth0" } }),
      TypeError,
    ],
    [
      "port 0",
      () => dnsResolver({ nameServer: { ipAddr: "127.0.0.1", port: 0 } }),
      RangeError,
    ],
    [
      "unknown transport",
      () => dnsResolver({ transport: "udp" as never }),
      TypeError,
    ],
    ["empty resolvConf", () => dnsResolver({ resolvConf: "" }), TypeError],
  ];
  for (const [name, f, type] of table) {
    await t.step(name, () => assert.throws(f, type));
  }
});
