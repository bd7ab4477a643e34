import assert from "node:assert/strict";
import { dnsResolver } from "./dns_resolver.ts";
import { ResolveError } from "./resolver.ts";

/**
 * A tiny UDP name server for these tests: it answers each query with the
 * rcode and SRV/A records the handler returns, or not at all (`null`).
 * Only what Deno's resolver needs: header, question echoed, answers.
 */
type FakeAnswer =
  | null
  | {
    rcode?: number;
    srv?: { priority: number; weight: number; port: number; target: string }[];
    a?: string[];
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

function decodeQuestion(msg: Uint8Array): { name: string; end: number } {
  const labels: string[] = [];
  let i = 12;
  while (msg[i] !== 0) {
    labels.push(new TextDecoder().decode(msg.subarray(i + 1, i + 1 + msg[i])));
    i += 1 + msg[i];
  }
  return { name: labels.join("."), end: i + 5 };
}

function startFakeDns(
  handler: (name: string, type: number) => FakeAnswer,
): { port: number; queries: string[]; close(): void } {
  const sock = Deno.listenDatagram({
    hostname: "127.0.0.1",
    port: 0,
    transport: "udp",
  });
  const queries: string[] = [];
  (async () => {
    for await (const [msg, addr] of sock) {
      const { name, end } = decodeQuestion(msg);
      const type = (msg[end - 4] << 8) | msg[end - 3];
      queries.push(`${name}/${type}`);
      const answer = handler(name, type);
      if (answer === null) continue;
      const rrs: number[][] = [];
      for (const s of answer.srv ?? []) {
        const target = encodeName(s.target);
        rrs.push([
          0xc0,
          12,
          ...u16(33),
          ...u16(1),
          0,
          0,
          0,
          60,
          ...u16(6 + target.length),
          ...u16(s.priority),
          ...u16(s.weight),
          ...u16(s.port),
          ...target,
        ]);
      }
      for (const ip of answer.a ?? []) {
        rrs.push([
          0xc0,
          12,
          ...u16(1),
          ...u16(1),
          0,
          0,
          0,
          60,
          ...u16(4),
          ...ip.split(".").map(Number),
        ]);
      }
      const header = [
        msg[0],
        msg[1],
        0x84 | (msg[2] & 1), // QR, AA, RD copied
        answer.rcode ?? 0,
        ...u16(1),
        ...u16(rrs.length),
        ...u16(0),
        ...u16(0),
      ];
      const reply = new Uint8Array([
        ...header,
        ...msg.subarray(12, end),
        ...rrs.flat(),
      ]);
      await sock.send(reply, addr).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: (sock.addr as Deno.NetAddr).port,
    queries,
    close: () => sock.close(),
  };
}

const SRV = 33;

Deno.test("dnsResolver: answers and negative answers", async (t) => {
  const dns = startFakeDns((name, type) => {
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
      case "host.test":
        return type === 1 ? { a: ["192.0.2.7", "192.0.2.8"] } : {};
      case "nxdomain.test":
        return { rcode: 3 };
      case "servfail.test":
        return { rcode: 2 };
      case "refused.test":
        return { rcode: 5 };
      default:
        return {};
    }
  });
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
      ["A records", () => r.a("host.test"), ["192.0.2.7", "192.0.2.8"]],
      ["NODATA is []", () => r.aaaa("host.test"), []],
      ["NXDOMAIN is []", () => r.srv("nxdomain.test"), []],
      // Measured: Deno reports SERVFAIL and REFUSED as NotFound too.
      ["SERVFAIL is [] (Deno cannot tell)", () => r.srv("servfail.test"), []],
      ["REFUSED is [] (Deno cannot tell)", () => r.srv("refused.test"), []],
    ];
    for (const [name, f, want] of table) {
      await t.step(name, async () => assert.deepEqual(await f(), want));
    }
  } finally {
    dns.close();
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
  } finally {
    dns.close();
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
      "port 0",
      () => dnsResolver({ nameServer: { ipAddr: "127.0.0.1", port: 0 } }),
      RangeError,
    ],
  ];
  for (const [name, f, type] of table) {
    await t.step(name, () => assert.throws(f, type));
  }
});
