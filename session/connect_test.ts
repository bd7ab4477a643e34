import assert from "node:assert/strict";
import type { Candidate } from "../srv/candidate.ts";
import { DiscoveryError } from "../srv/discover.ts";
import { memoryResolver, type MemoryZone } from "../srv/memory_resolver.ts";
import { RaceError } from "../srv/race.ts";
import type { SrvRecord } from "../srv/resolver.ts";
import { SaslError } from "../sasl/sasl_error.ts";
import { Element } from "../stream/element.ts";
import { StreamError } from "../stream/stream_error.ts";
import { TlsError } from "../tls/tls_error.ts";
import { connect, type ConnectOptions } from "./connect.ts";
import { startTestServer, testCa, type TestServer } from "./_test_server.ts";

const DOMAIN = "example.test";
const ca = testCa();

function srv(port: number, target = "xmpp.example.test", priority = 0) {
  return { priority, weight: 0, port, target };
}

/** A zone with the given SRV records; every target is 127.0.0.1. */
function zone(
  records: { starttls?: SrvRecord[]; directtls?: SrvRecord[] },
  domain = DOMAIN,
): MemoryZone {
  const z: MemoryZone = {};
  if (records.starttls) {
    z[`_xmpp-client._tcp.${domain}`] = { srv: records.starttls };
    z[`_xmpp-server._tcp.${domain}`] = { srv: records.starttls };
  }
  if (records.directtls) {
    z[`_xmpps-client._tcp.${domain}`] = { srv: records.directtls };
    z[`_xmpps-server._tcp.${domain}`] = { srv: records.directtls };
  }
  for (const r of [...records.starttls ?? [], ...records.directtls ?? []]) {
    z[r.target] = { a: ["127.0.0.1"] };
  }
  return z;
}

function base(z: MemoryZone, extra: ConnectOptions = {}): ConnectOptions {
  return {
    resolver: memoryResolver(z),
    ca,
    systemCa: false,
    timeout: 10_000,
    ...extra,
  };
}

function steps(names: { step: string }[]): string[] {
  return names.map((e) => e.step);
}

async function withServer(
  options: Parameters<typeof startTestServer>[0],
  fn: (s: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer(options);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

Deno.test("connect: STARTTLS login, found through SRV", async () => {
  await withServer({}, async (s) => {
    const conn = await connect(
      "alice@example.test/laptop",
      base(zone({ starttls: [srv(s.starttlsPort)] }), { password: "secret" }),
    );
    try {
      assert.equal(conn.jid, "alice@example.test/laptop");
      assert.deepEqual(
        { ...conn.state, jid: undefined, identity: undefined },
        {
          secure: true,
          authenticated: true,
          bound: true,
          jid: undefined,
          identity: undefined,
        },
      );
      assert.equal(conn.info.candidate.transport, "starttls");
      assert.equal(conn.info.address.ip, "127.0.0.1");
      assert.equal(conn.info.domain, DOMAIN);
      assert.equal(conn.stream.info.secure, true);
      assert.equal(conn.stream.info.serverName, DOMAIN);
      const t = conn.info.timeline;
      assert.deepEqual(steps(t.toJSON().entries), [
        "dns",
        "resolve",
        "tcp",
        "stream-open",
        "features",
        "starttls",
        "tls",
        "stream-open",
        "features",
        "auth",
        "bind",
      ]);
      let last = 0;
      for (const e of t.toJSON().entries) {
        assert.ok(e.start >= last - 0.001 && e.end >= e.start, e.step);
        last = e.start;
      }
      assert.match(t.get("tls")!.detail!, /TLSv1\.[23]/);
      assert.equal(t.get("stream-open")!.detail, "secure");
      assert.equal(t.get("bind")!.detail, "alice@example.test/laptop");
      // The stream works: the server echoes a message.
      await conn.stream.send(
        new Element("message", "jabber:client", { to: "bob@example.test" }),
      );
      assert.equal((await conn.stream.read())?.name, "message");
    } finally {
      await conn.close();
    }
  });
});

Deno.test("connect: Direct TLS login; the server picks the resource", async () => {
  await withServer({}, async (s) => {
    await using conn = await connect(
      "alice@example.test",
      base(zone({ directtls: [srv(s.directTlsPort)] }), { password: "secret" }),
    );
    assert.match(conn.jid!, /^alice@example\.test\/.+/);
    assert.equal(conn.info.candidate.transport, "directtls");
    assert.equal(conn.stream.info.alpn, "xmpp-client");
    assert.deepEqual(steps(conn.info.timeline.toJSON().entries), [
      "dns",
      "resolve",
      "tcp",
      "tls",
      "stream-open",
      "features",
      "auth",
      "bind",
    ]);
    assert.equal(conn.info.report.attempts.length, 1);
    assert.equal(conn.info.report.attempts[0].reason, "won");
  });
});

Deno.test("connect: without a password, the secure features", async () => {
  await withServer({}, async (s) => {
    await using conn = await connect(
      "example.test",
      base(zone({ starttls: [srv(s.starttlsPort)] })),
    );
    assert.equal(conn.state.secure, true);
    assert.equal(conn.state.authenticated, false);
    assert.equal(conn.jid, undefined);
    assert.ok(
      conn.features.getChild("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl"),
    );
    assert.equal(conn.info.timeline.get("auth"), undefined);
  });
});

Deno.test("connect: the race", async (t) => {
  await t.step("the first candidate wins; the other never starts", async () => {
    await withServer({}, async (s) => {
      await using conn = await connect(
        "alice@example.test",
        base(
          zone({
            directtls: [srv(s.directTlsPort, "tls.example.test", 0)],
            starttls: [srv(s.starttlsPort, "xmpp.example.test", 10)],
          }),
          { password: "secret" },
        ),
      );
      assert.equal(conn.info.candidate.transport, "directtls");
      const [won, other] = conn.info.report.attempts;
      assert.equal(won.outcome, "won");
      assert.equal(other.candidate.transport, "starttls");
      assert.match(other.reason, /another attempt secured its stream first/);
      assert.equal(s.connections, 0, "STARTTLS port never dialled");
    });
  });

  await t.step("a silent server loses to the next candidate", async () => {
    await withServer({ mode: "silent" }, async (silent) => {
      await withServer({}, async (s) => {
        await using conn = await connect(
          "alice@example.test",
          base(
            zone({
              starttls: [srv(silent.starttlsPort, "slow.example.test", 0)],
              directtls: [srv(s.directTlsPort, "tls.example.test", 10)],
            }),
            { password: "secret", attemptDelay: 50 },
          ),
        );
        assert.equal(conn.info.candidate.transport, "directtls");
        const lost = conn.info.report.attempts.find((a) =>
          a.outcome !== "won"
        )!;
        assert.equal(lost.outcome, "aborted");
        assert.equal(lost.candidate.host, "slow.example.test");
        assert.deepEqual(steps(lost.steps), ["tcp"], "it got as far as TCP");
        assert.match(lost.reason, /stopped/);
      });
    });
  });

  await t.step("a refused candidate: the next one is tried", async () => {
    await withServer({ mode: "failure" }, async (bad) => {
      await withServer({}, async (s) => {
        await using conn = await connect(
          "alice@example.test",
          base(
            zone({
              starttls: [srv(bad.starttlsPort, "bad.example.test", 0)],
              directtls: [srv(s.directTlsPort, "tls.example.test", 10)],
            }),
            { password: "secret" },
          ),
        );
        assert.equal(conn.info.candidate.transport, "directtls");
        const lost = conn.info.report.attempts[0];
        assert.equal(lost.outcome, "failed");
        assert.match(lost.reason, /refused STARTTLS/);
        assert.deepEqual(steps(lost.steps), [
          "tcp",
          "stream-open",
          "features",
        ]);
      });
    });
  });

  await t.step("transports: only Direct TLS", async () => {
    await withServer({}, async (s) => {
      await using conn = await connect(
        "example.test",
        base(
          zone({
            starttls: [srv(s.starttlsPort, "xmpp.example.test", 0)],
            directtls: [srv(s.directTlsPort, "tls.example.test", 10)],
          }),
          { transports: ["directtls"] },
        ),
      );
      assert.equal(conn.info.candidate.transport, "directtls");
      assert.equal(conn.info.report.skipped.length, 1);
      assert.match(
        conn.info.report.skipped[0].reason,
        /starttls not allowed by options\.transports/,
      );
    });
  });

  await t.step(
    "a QUIC candidate that does not answer loses the race",
    async () => {
      await withServer({}, async (s) => {
        const quic: Candidate = {
          transport: "quic",
          host: "127.0.0.1",
          port: 443,
          serverName: DOMAIN,
          alpn: "xmpp-client",
          priority: 0,
          weight: 0,
          source: "host-meta",
        };
        const tls: Candidate = {
          ...quic,
          transport: "directtls",
          port: s.directTlsPort,
        };
        await using conn = await connect(
          "example.test",
          base({}, {
            hostMeta: { fetch: () => Promise.resolve([quic, tls]) },
          }),
        );
        assert.equal(conn.info.candidate.transport, "directtls");
        assert.deepEqual(conn.info.report.skipped, []);
        const q = conn.info.report.attempts.find((a) =>
          a.candidate.transport === "quic"
        );
        assert.ok(q, "the QUIC candidate was dialled");
        assert.notEqual(q.outcome, "won");
        assert.equal(
          conn.info.timeline.get("resolve"),
          undefined,
          "IP literal",
        );
      });
    },
  );
});

Deno.test("connect: refusals", async (t) => {
  await t.step("a certificate for another name", async () => {
    await withServer({ cert: "other.test" }, async (s) => {
      for (
        const records of [
          { directtls: [srv(s.directTlsPort)] },
          { starttls: [srv(s.starttlsPort)] },
        ]
      ) {
        const e = await assert.rejects(
          connect(
            "alice@example.test",
            base(zone(records), { password: "secret" }),
          ),
          (e) => e instanceof TlsError && e.code === "name-mismatch",
        );
        void e;
      }
    });
  });

  await t.step("a certificate valid only for the SRV target", async () => {
    await withServer({ cert: "target.test" }, async (s) => {
      await assert.rejects(
        connect(
          "alice@example.test",
          base(
            zone({ directtls: [srv(s.directTlsPort, "xmpp.target.test")] }),
            { password: "secret" },
          ),
        ),
        (e) =>
          e instanceof TlsError && e.code === "name-mismatch" &&
          /example\.test/.test(e.message),
      );
    });
  });

  await t.step(
    "no STARTTLS offered: policy-violation, nothing sent",
    async () => {
      await withServer({ mode: "no-starttls" }, async (s) => {
        await assert.rejects(
          connect(
            "alice@example.test",
            base(
              zone({ starttls: [srv(s.starttlsPort)] }),
              { password: "secret" },
            ),
          ),
          (e) =>
            e instanceof StreamError && e.condition === "policy-violation" &&
            /offers no STARTTLS/.test(e.message),
        );
        await s.close();
        assert.equal(s.received.length, 1);
        assert.doesNotMatch(s.received[0], /auth|secret|alice/);
        assert.match(s.received[0], /policy-violation/);
      });
    },
  );

  await t.step("<failure/>", async () => {
    await withServer({ mode: "failure" }, async (s) => {
      await assert.rejects(
        connect(
          "alice@example.test",
          base(
            zone({ starttls: [srv(s.starttlsPort)] }),
            { password: "secret" },
          ),
        ),
        (e) => e instanceof StreamError && /refused STARTTLS/.test(e.message),
      );
    });
  });

  await t.step("<proceed/><message/> in one write", async () => {
    await withServer({ mode: "inject" }, async (s) => {
      await assert.rejects(
        connect(
          "alice@example.test",
          base(
            zone({ starttls: [srv(s.starttlsPort)] }),
            { password: "secret" },
          ),
        ),
        (e) =>
          e instanceof StreamError && e.condition === "policy-violation" &&
          /response injection/.test(e.message),
      );
    });
  });

  await t.step("differing failures: RaceError with each reason", async () => {
    await withServer({ mode: "failure" }, async (bad) => {
      await withServer({ cert: "other.test" }, async (other) => {
        const e = await connect(
          "alice@example.test",
          base(
            zone({
              starttls: [srv(bad.starttlsPort, "a.example.test", 0)],
              directtls: [srv(other.directTlsPort, "b.example.test", 10)],
            }),
          ),
        ).then(() => undefined, (e) => e);
        assert.ok(e instanceof RaceError, String(e));
        assert.equal(e.attempts.length, 2);
        assert.match(e.message, /refused STARTTLS/);
      });
    });
  });

  await t.step("a wrong password: SaslError, stream closed", async () => {
    await withServer({}, async (s) => {
      await assert.rejects(
        connect(
          "alice@example.test",
          base(
            zone({ directtls: [srv(s.directTlsPort)] }),
            { password: "wrong" },
          ),
        ),
        (e) => e instanceof SaslError && e.condition === "not-authorized",
      );
    });
  });

  await t.step("nothing found: DiscoveryError", async () => {
    await assert.rejects(
      connect(
        "example.test",
        base({
          "_xmpp-client._tcp.example.test": {
            srv: [{ priority: 0, weight: 0, port: 5222, target: "." }],
          },
        }),
      ),
      DiscoveryError,
    );
  });
});

Deno.test("connect: timeouts and aborts close everything", async (t) => {
  await t.step("options.timeout", async () => {
    await withServer({ mode: "silent" }, async (s) => {
      await assert.rejects(
        connect(
          "example.test",
          base(
            zone({ starttls: [srv(s.starttlsPort)] }),
            { timeout: 200 },
          ),
        ),
        (e) =>
          e instanceof DOMException && e.name === "TimeoutError" &&
          /options\.timeout/.test(e.message),
      );
    });
  });

  await t.step("attemptTimeout: RaceError", async () => {
    await withServer({ mode: "silent" }, async (s) => {
      await assert.rejects(
        connect(
          "example.test",
          base(
            zone({ starttls: [srv(s.starttlsPort)] }),
            { attemptTimeout: 200 },
          ),
        ),
        (e) => e instanceof RaceError && /timed out/.test(e.message),
      );
    });
  });

  await t.step("the caller's signal", async () => {
    await withServer({ mode: "silent" }, async (s) => {
      const controller = new AbortController();
      const p = connect(
        "example.test",
        base(zone({ directtls: [srv(s.starttlsPort)] }), {
          signal: controller.signal,
        }),
      );
      setTimeout(() => controller.abort(new Error("user gave up")), 100);
      await assert.rejects(p, /user gave up/);
    });
  });

  await t.step("an aborted signal fails at once", async () => {
    await assert.rejects(
      connect("example.test", { signal: AbortSignal.abort(new Error("no")) }),
      /no/,
    );
  });
});

Deno.test("connect: s2s (kind server) over Direct TLS", async () => {
  await withServer({ ns: "jabber:server" }, async (s) => {
    await using conn = await connect(
      "example.test",
      base(
        zone({ directtls: [srv(s.directTlsPort)] }),
        { kind: "server", from: "other.example" },
      ),
    );
    assert.equal(conn.stream.header.ns, "jabber:server");
    assert.equal(conn.stream.info.alpn, "xmpp-server");
    assert.equal(conn.info.kind, "server");
  });
});

Deno.test("connect: bad arguments", async () => {
  const cases: [unknown, unknown, ErrorConstructor | RangeErrorConstructor][] =
    [
      [42, {}, TypeError],
      ["example.test", { password: "x" }, TypeError],
      ["a@example.test", { password: "x", kind: "server" }, TypeError],
      ["a@example.test", { password: "" }, TypeError],
      ["example.test", { kind: "c2s" }, TypeError],
      ["example.test", { timeout: 0 }, RangeError],
      ["example.test", { attemptTimeout: -1 }, RangeError],
      ["example.test", { transports: [] }, TypeError],
      ["example.test", { transports: ["tcp"] }, TypeError],
      [
        "example.test",
        { resolver: memoryResolver({}), nameServer: { ipAddr: "127.0.0.1" } },
        TypeError,
      ],
    ];
  for (const [jid, options, type] of cases) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      connect(jid as any, options as ConnectOptions),
      type,
      JSON.stringify([jid, options]),
    );
  }
  await withServer({}, async (s) => {
    await assert.rejects(
      connect(
        "example.test",
        base(
          zone({ starttls: [srv(s.starttlsPort)] }),
          { transports: ["directtls"] },
        ),
      ),
      (e) => e instanceof RangeError && /options\.transports/.test(e.message),
    );
  });
});
