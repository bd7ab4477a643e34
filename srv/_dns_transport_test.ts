import assert from "node:assert/strict";
import {
  describeServer,
  exchange,
  missingNetPermission,
  type NameServer,
} from "./_dns_transport.ts";
import { DnsResponseError, encodeQuery } from "./_dns_wire.ts";

// ---- a raw name server ---------------------------------------------------

/** End of the question in a query (one question, uncompressed name). */
function questionEnd(q: Uint8Array): number {
  let i = 12;
  while (q[i] !== 0) i += 1 + q[i];
  return i + 5;
}

/**
 * An answer to `q`: its id and question, the given flags (QR is set),
 * and one A record per address.
 */
function answer(
  q: Uint8Array,
  options: { flags?: number; rcode?: number; a?: string[]; id?: number } = {},
): Uint8Array {
  const end = questionEnd(q);
  const rrs = (options.a ?? []).flatMap((ip) => [
    0xc0,
    12,
    0,
    1,
    0,
    1,
    0,
    0,
    0,
    60,
    0,
    4,
    ...ip.split(".").map(Number),
  ]);
  const id = options.id ?? ((q[0] << 8) | q[1]);
  const flags = 0x8180 | (options.flags ?? 0) | (options.rcode ?? 0);
  return new Uint8Array([
    id >> 8,
    id & 255,
    flags >> 8,
    flags & 255,
    0,
    1,
    0,
    (options.a ?? []).length,
    0,
    0,
    0,
    0,
    ...q.subarray(12, end),
    ...rrs,
  ]);
}

type UdpReply = Uint8Array | { fromOtherPort: Uint8Array };

interface RawServer extends NameServer {
  /** UDP queries received. */
  udp: Uint8Array[];
  /** TCP queries received (without the length prefix). */
  tcp: Uint8Array[];
  close(): Promise<void>;
}

/**
 * UDP and TCP on one loopback port. `onUdp` returns the datagrams to send
 * back (none: silence); `onTcp` handles a whole connection (default: no
 * TCP listener at all).
 */
function startRaw(
  onUdp: (query: Uint8Array, n: number) => UdpReply[],
  onTcp?: (conn: Deno.Conn, query: Uint8Array) => Promise<void>,
  hostname = "127.0.0.1",
): RawServer {
  const sock = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
  const other = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
  const port = (sock.addr as Deno.NetAddr).port;
  const listener = onTcp ? Deno.listen({ hostname, port }) : undefined;
  const udp: Uint8Array[] = [];
  const tcp: Uint8Array[] = [];
  const tasks: Promise<unknown>[] = [];
  tasks.push(
    (async () => {
      for await (const [msg, addr] of sock) {
        udp.push(msg);
        for (const r of onUdp(msg, udp.length)) {
          if (r instanceof Uint8Array) await sock.send(r, addr);
          else await other.send(r.fromOtherPort, addr);
        }
      }
    })().catch(() => {}),
  );
  if (listener) {
    tasks.push(
      (async () => {
        for await (const conn of listener) {
          tasks.push(
            (async () => {
              try {
                const head = await readN(conn, 2);
                const q = await readN(conn, (head[0] << 8) | head[1]);
                tcp.push(q);
                await onTcp!(conn, q);
              } finally {
                try {
                  conn.close();
                } catch { /* closed by the handler */ }
              }
            })().catch(() => {}),
          );
        }
      })().catch(() => {}),
    );
  }
  return {
    ipAddr: hostname,
    port,
    udp,
    tcp,
    async close() {
      sock.close();
      other.close();
      listener?.close();
      await Promise.all(tasks);
    },
  };
}

async function readN(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) throw new Error("closed");
    got += r;
  }
  return buf;
}

function framed(msg: Uint8Array): Uint8Array {
  return new Uint8Array([msg.length >> 8, msg.length & 255, ...msg]);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return await p.then(
    (v) => assert.fail(`expected a rejection, got ${JSON.stringify(v)}`),
    (e) => e,
  );
}

// ---- tests ------------------------------------------------------------------

Deno.test("exchange over UDP", async (t) => {
  await t.step("an answer", async () => {
    const s = startRaw((q) => [answer(q, { a: ["192.0.2.1"] })]);
    try {
      const q = encodeQuery("host.test", "A");
      assert.deepEqual(await exchange(s, q, { timeout: 1000 }), ["192.0.2.1"]);
      assert.equal(s.udp.length, 1);
      assert.deepEqual(s.udp[0], q.bytes, "the query as encoded, with EDNS0");
    } finally {
      await s.close();
    }
  });

  await t.step("a lost query is sent again with the same id", async () => {
    const s = startRaw((q, n) =>
      n < 3 ? [] : [answer(q, { a: ["192.0.2.3"] })]
    );
    try {
      const q = encodeQuery("host.test", "A");
      const t0 = performance.now();
      const got = await exchange(s, q, { timeout: 600 });
      const ms = performance.now() - t0;
      assert.deepEqual(got, ["192.0.2.3"]);
      assert.equal(s.udp.length, 3, "sent at 0, 200 and 400 ms");
      assert.ok(ms >= 380 && ms < 600, `took ${ms} ms`);
      for (const m of s.udp) assert.deepEqual(m, q.bytes);
    } finally {
      await s.close();
    }
  });

  await t.step(
    "spoofed datagrams are dropped: other port, other id, a query",
    async () => {
      const s = startRaw((q) => [
        { fromOtherPort: answer(q, { a: ["6.6.6.1"] }) },
        answer(q, { a: ["6.6.6.2"], id: ((q[0] << 8) | q[1]) ^ 1 }),
        q, // QR = 0
        new Uint8Array([q[0], q[1], 0x81]), // shorter than a header
        answer(q, { a: ["192.0.2.4"] }),
      ]);
      try {
        const q = encodeQuery("host.test", "A");
        assert.deepEqual(await exchange(s, q, { timeout: 1000 }), [
          "192.0.2.4",
        ]);
      } finally {
        await s.close();
      }
    },
  );

  await t.step(
    "only spoofed datagrams: no answer within the timeout",
    async () => {
      const s = startRaw((q) => [
        { fromOtherPort: answer(q, { a: ["6.6.6.1"] }) },
      ]);
      try {
        const q = encodeQuery("host.test", "A");
        const e = await rejection(
          exchange(s, q, { timeout: 150, retransmits: 0 }),
        );
        assert.ok(e instanceof DnsResponseError, String(e));
        assert.equal(
          e.message,
          `A lookup of host.test failed: no answer within 150 ms from 127.0.0.1 port ${s.port}`,
        );
        assert.ok(e.cause instanceof DOMException);
        assert.equal((e.cause as DOMException).name, "TimeoutError");
        assert.equal(s.udp.length, 1, "retransmits: 0");
      } finally {
        await s.close();
      }
    },
  );

  await t.step("SERVFAIL names the rcode and the server", async () => {
    const s = startRaw((q) => [answer(q, { rcode: 2 })]);
    try {
      const e = await rejection(
        exchange(s, encodeQuery("host.test", "A"), { timeout: 1000 }),
      );
      assert.ok(e instanceof DnsResponseError);
      assert.equal(e.rcode, 2);
      assert.equal(
        e.reason,
        `server failure (SERVFAIL, rcode 2) from ${describeServer(s)}`,
      );
      assert.ok(e.cause instanceof DnsResponseError);
    } finally {
      await s.close();
    }
  });

  await t.step(
    "a malformed answer from the server fails at once",
    async () => {
      const s = startRaw((q) => [
        new Uint8Array([...answer(q, { a: ["1.2.3.4"] }), 0]),
      ]);
      try {
        const t0 = performance.now();
        const e = await rejection(
          exchange(s, encodeQuery("host.test", "A"), { timeout: 2000 }),
        );
        assert.ok(performance.now() - t0 < 1000);
        assert.ok(e instanceof DnsResponseError);
        assert.match(
          e.message,
          /malformed response: 1 bytes after the last record from 127\.0\.0\.1 port/,
        );
      } finally {
        await s.close();
      }
    },
  );

  let v6 = true;
  try {
    Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" })
      .close();
  } catch {
    v6 = false;
  }
  await t.step({
    name: "an IPv6 name server (::1), UDP and TCP, spoofs dropped",
    ignore: !v6,
    fn: async () => {
      const s = startRaw(
        (q) => [
          { fromOtherPort: answer(q, { a: ["6.6.6.6"] }) },
          answer(q, { flags: 0x0200 }),
        ],
        async (conn, q) => {
          await conn.write(framed(answer(q, { a: ["192.0.2.6"] })));
        },
        "::1",
      );
      try {
        const server = { ipAddr: "0:0::1", port: s.port }; // not canonical
        assert.deepEqual(
          await exchange(server, encodeQuery("v6.test", "A"), {
            timeout: 1000,
          }),
          ["192.0.2.6"],
        );
        assert.equal(s.tcp.length, 1);
      } finally {
        await s.close();
      }
    },
  });

  await t.step("the caller's abort rejects with its reason", async () => {
    const s = startRaw(() => []);
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error("caller gave up")), 30);
      const e = await rejection(
        exchange(s, encodeQuery("host.test", "A"), {
          timeout: 5000,
          signal: ac.signal,
        }),
      );
      assert.equal((e as Error).message, "caller gave up");
      const before = AbortSignal.abort(new Error("before"));
      const e2 = await rejection(
        exchange(s, encodeQuery("host.test", "A"), {
          timeout: 5000,
          signal: before,
        }),
      );
      assert.equal((e2 as Error).message, "before");
    } finally {
      await s.close();
    }
  });
});

Deno.test("exchange: truncated over UDP, then TCP", async (t) => {
  await t.step("TC answer: asked again over TCP", async () => {
    const s = startRaw(
      (q) => [answer(q, { flags: 0x0200 })],
      async (conn, q) => {
        // Written in two parts, to exercise partial reads.
        const msg = framed(answer(q, { a: ["192.0.2.10", "192.0.2.11"] }));
        await conn.write(msg.subarray(0, 5));
        await new Promise((r) => setTimeout(r, 20));
        await conn.write(msg.subarray(5));
      },
    );
    try {
      const q = encodeQuery("big.test", "A");
      assert.deepEqual(await exchange(s, q, { timeout: 2000 }), [
        "192.0.2.10",
        "192.0.2.11",
      ]);
      assert.equal(s.udp.length, 1);
      assert.deepEqual(s.tcp, [q.bytes], "the same query, length-prefixed");
    } finally {
      await s.close();
    }
  });

  const failures: [
    string,
    (conn: Deno.Conn, q: Uint8Array) => Promise<void>,
    RegExp,
  ][] = [
    [
      "TCP answer cut short",
      async (conn, q) => {
        await conn.write(framed(answer(q, { a: ["1.2.3.4"] })).subarray(0, 20));
      },
      /the TCP connection closed after 18 of 42 bytes/,
    ],
    [
      "TCP connection closed before the length",
      async () => {},
      /the TCP connection closed after 0 of 2 bytes/,
    ],
    [
      "TCP length prefix shorter than a header",
      async (conn) => {
        await conn.write(new Uint8Array([0, 3, 1, 2, 3]));
      },
      /TCP length prefix 3, shorter than a DNS header/,
    ],
    [
      "TC again over TCP",
      async (conn, q) => {
        await conn.write(framed(answer(q, { flags: 0x0200 })));
      },
      /truncated \(TC\) even over TCP/,
    ],
    [
      "wrong id over TCP",
      async (conn, q) => {
        await conn.write(framed(answer(q, { id: ((q[0] << 8) | q[1]) ^ 1 })));
      },
      /message id \d+ is not the query's/,
    ],
  ];
  for (const [name, onTcp, message] of failures) {
    await t.step(name, async () => {
      const s = startRaw((q) => [answer(q, { flags: 0x0200 })], onTcp);
      try {
        const e = await rejection(
          exchange(s, encodeQuery("big.test", "A"), { timeout: 2000 }),
        );
        assert.ok(e instanceof DnsResponseError, String(e));
        assert.match(e.message, message);
        assert.match(e.message, /from 127\.0\.0\.1 port \d+$/);
      } finally {
        await s.close();
      }
    });
  }

  await t.step("no TCP listener: connection refused", async () => {
    const s = startRaw((q) => [answer(q, { flags: 0x0200 })]);
    try {
      const e = await rejection(
        exchange(s, encodeQuery("big.test", "A"), { timeout: 2000 }),
      );
      assert.ok(e instanceof DnsResponseError, String(e));
      assert.ok(
        e.cause instanceof Deno.errors.ConnectionRefused,
        String(e.cause),
      );
    } finally {
      await s.close();
    }
  });

  await t.step("TCP silent: the timeout covers UDP and TCP", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => release = r);
    const s = startRaw((q) => [answer(q, { flags: 0x0200 })], () => held);
    try {
      const t0 = performance.now();
      const e = await rejection(
        exchange(s, encodeQuery("big.test", "A"), { timeout: 200 }),
      );
      const ms = performance.now() - t0;
      assert.ok(e instanceof DnsResponseError);
      assert.match(e.message, /no answer within 200 ms/);
      assert.ok(ms >= 190 && ms < 1000, `took ${ms} ms`);
    } finally {
      release();
      await s.close();
    }
  });

  await t.step("abort during the TCP read", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => release = r);
    const s = startRaw((q) => [answer(q, { flags: 0x0200 })], () => held);
    try {
      const ac = new AbortController();
      const p = exchange(s, encodeQuery("big.test", "A"), {
        timeout: 5000,
        signal: ac.signal,
      });
      while (s.tcp.length === 0) await new Promise((r) => setTimeout(r, 5));
      ac.abort(new Error("stop"));
      assert.equal(((await rejection(p)) as Error).message, "stop");
    } finally {
      release();
      await s.close();
    }
  });
});

Deno.test("exchange: bad options", async (t) => {
  const server = { ipAddr: "127.0.0.1", port: 9 };
  const q = encodeQuery("a.test", "A");
  const table: [string, () => Promise<unknown>, ErrorConstructor][] = [
    ["timeout 0", () => exchange(server, q, { timeout: 0 }), RangeError],
    ["timeout NaN", () => exchange(server, q, { timeout: NaN }), RangeError],
    [
      "retransmits -1",
      () => exchange(server, q, { timeout: 10, retransmits: -1 }),
      RangeError,
    ],
    [
      "not an IP address",
      () => exchange({ ipAddr: "dns.example", port: 53 }, q, { timeout: 10 }),
      TypeError,
    ],
  ];
  for (const [name, f, type] of table) {
    await t.step(name, async () => await assert.rejects(f, type));
  }
});

Deno.test("missingNetPermission", async (t) => {
  await t.step("granted under -A", () => {
    assert.equal(
      missingNetPermission({ ipAddr: "127.0.0.1", port: 53 }),
      undefined,
    );
    assert.equal(missingNetPermission({ ipAddr: "::1", port: 53 }), undefined);
  });
  await t.step("not an IP address", () => {
    assert.throws(
      () => missingNetPermission({ ipAddr: "localhost", port: 53 }),
      TypeError,
    );
  });
  await t.step(
    "without permission: a DnsResponseError, never a prompt or a crash",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const script = `${dir}/probe.ts`;
        const mod = new URL("./_dns_transport.ts", import.meta.url).href;
        const wire = new URL("./_dns_wire.ts", import.meta.url).href;
        await Deno.writeTextFile(
          script,
          `import { exchange, missingNetPermission } from ${
            JSON.stringify(mod)
          };
import { encodeQuery } from ${JSON.stringify(wire)};
const server = { ipAddr: "192.0.2.53", port: 53 };
console.log(missingNetPermission(server));
console.log(missingNetPermission({ ipAddr: "127.0.0.1", port: 53 }) ?? "loopback ok");
await exchange(server, encodeQuery("a.test", "A"), { timeout: 100 })
  .catch((e) => console.log(e.name, e.message));
`,
        );
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-prompt", "--allow-net=127.0.0.1", script],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        assert.deepEqual(text.trim().split("\n"), [
          "0.0.0.0:0,192.0.2.53:53",
          "loopback ok",
          "ResolveError A lookup of a.test failed: no net permission " +
          "(needs --allow-net=0.0.0.0:0,192.0.2.53:53) from 192.0.2.53 port 53",
        ]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});
