/**
 * Endpoint discovery against a real authoritative name server: Knot DNS
 * (Debian's `knot`) on a loopback port, serving one zone per rule, asked
 * through `dnsResolver({ nameServer })`.
 *
 * Run with `deno task interop`; needs the Debian package knot (see
 * `.ci/run`).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Candidate } from "../../srv/candidate.ts";
import { discover, DiscoveryError } from "../../srv/discover.ts";
import { dnsResolver } from "../../srv/dns_resolver.ts";
import { ResolveError } from "../../srv/resolver.ts";
import { rawQuery, startKnot } from "./_knot.ts";

const SRV = 33;

/** One zone, `srv.test`, with a subdomain per rule. */
const ZONE = `
; SRV for both services, mixed priorities; targets with A and AAAA
_xmpp-client._tcp.both    SRV 10 5 5222 xmpp.both
_xmpps-client._tcp.both   SRV 5 5 5223 tls.both.srv.test.
xmpp.both                 A 127.0.0.2
xmpp.both                 AAAA ::2
tls.both                  A 127.0.0.3
tls.both                  AAAA ::3

; the same host and port under both services
_xmpp-client._tcp.same    SRV 1 0 5222 host.same
_xmpps-client._tcp.same   SRV 2 0 5222 host.same
host.same                 A 127.0.0.4

; only one service
_xmpp-client._tcp.onlyxmpp   SRV 0 0 5222 xmpp.onlyxmpp
_xmpps-client._tcp.onlyxmpps SRV 0 0 5223 tls.onlyxmpps

; "." targets
_xmpp-client._tcp.dotxmpp      SRV 0 0 0 .
_xmpp-client._tcp.dotxmpptls   SRV 0 0 0 .
_xmpps-client._tcp.dotxmpptls  SRV 0 0 5223 tls.dotxmpptls
_xmpp-client._tcp.dotxmpps     SRV 0 0 5222 xmpp.dotxmpps
_xmpps-client._tcp.dotxmpps    SRV 0 0 0 .
_xmpp-client._tcp.dotboth      SRV 0 0 0 .
_xmpps-client._tcp.dotboth     SRV 0 0 0 .
_xmpp-client._tcp.dotamong     SRV 0 0 0 .
_xmpp-client._tcp.dotamong     SRV 10 0 5222 xmpp.dotamong

; NODATA: the names exist, without SRV records
nodata                         A 127.0.0.5
_xmpp-client._tcp.nodata       TXT "no SRV here"
_xmpps-client._tcp.nodata      TXT "no SRV here"

; port 0 only
_xmpp-client._tcp.port0        SRV 0 0 0 xmpp.port0

; mixed weights at two priorities across both services
_xmpp-client._tcp.weights      SRV 1 10 5222 light.weights
_xmpps-client._tcp.weights     SRV 1 90 5223 heavy.weights
_xmpp-client._tcp.weights      SRV 2 0 5222 backup.weights
_xmpps-client._tcp.weights     SRV 2 5 5223 backup-tls.weights

; s2s
_xmpp-server._tcp.s2s          SRV 0 0 5269 xmpp.s2s
_xmpps-server._tcp.s2s         SRV 1 0 5270 xmpp.s2s

; IDN: bücher.srv.test
_xmpp-client._tcp.xn--bcher-kva SRV 0 0 5222 xmpp.xn--bcher-kva

; one service blackholed (see blackholeZones)
_xmpp-client._tcp.onefail      SRV 0 0 5222 xmpp.onefail

; one service in a zone that does not load: SERVFAIL (see servfailZones)
_xmpp-client._tcp.onesf        SRV 0 0 5222 xmpp.onesf
`;

const D = (sub: string) => `${sub}.srv.test`;

function brief(c: Candidate): string {
  return `${c.transport} ${c.host}:${c.port} ${c.source}`;
}

Deno.test("interop knot: discover against real DNS", async (t) => {
  const knot = await startKnot({
    zones: { "srv.test": ZONE },
    blackholeZones: [
      "_xmpps-client._tcp.onefail.srv.test",
      "_xmpp-client._tcp.bothfail.srv.test",
      "_xmpps-client._tcp.bothfail.srv.test",
    ],
    servfailZones: ["servfail.test", "_xmpps-client._tcp.onesf.srv.test"],
  });
  console.log(
    `${knot.version}: answering after ${knot.startupMs} ms (pid ${knot.pid})`,
  );
  const resolver = dnsResolver({ nameServer: knot.nameServer, timeout: 2000 });
  const fast = dnsResolver({ nameServer: knot.nameServer, timeout: 300 });
  const run = (sub: string, options = {}) =>
    discover(D(sub), { resolver, seed: 1, ...options });
  const fails = async (sub: string, code: string, options = {}) => {
    const e = await run(sub, options).then(
      (d) => assert.fail(`expected an error, got ${JSON.stringify(d)}`),
      (e) => e,
    );
    assert.ok(e instanceof DiscoveryError, String(e));
    assert.equal(e.code, code);
    return e;
  };
  try {
    await t.step(
      "both services, one RFC 2782 order, SNI = domain",
      async () => {
        const d = await run("both");
        assert.deepEqual(d.candidates.map(brief), [
          "directtls tls.both.srv.test:5223 srv",
          "starttls xmpp.both.srv.test:5222 srv",
        ]);
        for (const c of d.candidates) {
          assert.equal(c.serverName, "both.srv.test");
          assert.equal(c.alpn, "xmpp-client");
        }
        assert.equal(d.lookups.starttls.status, "records");
        assert.equal(d.lookups.directTls.status, "records");
        // Knot puts the in-zone targets' A and AAAA in the additional
        // section: they arrive as addresses, and the candidates need no
        // second lookup.
        assert.deepEqual(
          d.candidates.map((c) => [...(c.ips ?? [])].sort()),
          [["127.0.0.3", "::3"], ["127.0.0.2", "::2"]],
        );
      },
    );
    await t.step("the two lookups overlap in time", async () => {
      // Time each lookup through a resolver that records start and end.
      const spans: [number, number][] = [];
      const timed = {
        ...resolver,
        srv: async (name: string, o?: { signal?: AbortSignal }) => {
          const s = performance.now();
          try {
            return await resolver.srv(name, o);
          } finally {
            spans.push([s, performance.now()]);
          }
        },
      };
      await discover(D("both"), { resolver: timed });
      assert.equal(spans.length, 2);
      const [[s1, e1], [s2, e2]] = spans;
      assert.ok(s1 < e2 && s2 < e1, `spans ${JSON.stringify(spans)}`);
    });
    await t.step(
      "target addresses: A and AAAA through the same server",
      async () => {
        assert.deepEqual(await resolver.a("tls.both.srv.test"), ["127.0.0.3"]);
        assert.deepEqual(await resolver.aaaa("tls.both.srv.test"), ["::3"]);
        assert.deepEqual(await resolver.aaaa("host.same.srv.test"), []);
      },
    );
    await t.step(
      "the same host:port under both services: two candidates",
      async () => {
        const d = await run("same");
        assert.deepEqual(d.candidates.map(brief), [
          "starttls host.same.srv.test:5222 srv",
          "directtls host.same.srv.test:5222 srv",
        ]);
      },
    );
    await t.step("only _xmpp-client", async () => {
      const d = await run("onlyxmpp");
      assert.deepEqual(d.candidates.map(brief), [
        "starttls xmpp.onlyxmpp.srv.test:5222 srv",
      ]);
      assert.equal(d.lookups.directTls.status, "empty");
    });
    await t.step("only _xmpps-client: no fallback", async () => {
      const d = await run("onlyxmpps");
      assert.deepEqual(d.candidates.map(brief), [
        "directtls tls.onlyxmpps.srv.test:5223 srv",
      ]);
    });
    await t.step('"." for _xmpp-client: no service, no fallback', async () => {
      const e = await fails("dotxmpp", "no-service");
      assert.match(e.message, /declares no XMPP service/);
      assert.equal(e.lookups.starttls.status, "unavailable");
    });
    await t.step('"." for _xmpp-client, _xmpps-client usable', async () => {
      const d = await run("dotxmpptls");
      assert.deepEqual(d.candidates.map(brief), [
        "directtls tls.dotxmpptls.srv.test:5223 srv",
      ]);
    });
    await t.step('"." for _xmpps-client: STARTTLS only', async () => {
      const d = await run("dotxmpps");
      assert.deepEqual(d.candidates.map(brief), [
        "starttls xmpp.dotxmpps.srv.test:5222 srv",
      ]);
      assert.equal(d.lookups.directTls.status, "unavailable");
    });
    await t.step('"." for both: no service', async () => {
      await fails("dotboth", "no-service");
    });
    await t.step('"." among other records: skipped', async () => {
      const d = await run("dotamong");
      assert.deepEqual(d.candidates.map(brief), [
        "starttls xmpp.dotamong.srv.test:5222 srv",
      ]);
      assert.equal(d.skipped.length, 1);
      assert.equal(d.skipped[0].reason, "no-service");
    });
    await t.step("NXDOMAIN for both: fallback to domain:5222", async () => {
      for (const name of ["_xmpp-client._tcp.nx.srv.test", "nx.srv.test"]) {
        assert.equal(
          (await rawQuery(knot.nameServer, { name, type: SRV })).rcode,
          3,
          `${name} is NXDOMAIN`,
        );
      }
      const d = await run("nx");
      assert.deepEqual(d.candidates.map(brief), [
        "starttls nx.srv.test:5222 fallback",
      ]);
      assert.equal(d.candidates[0].serverName, "nx.srv.test");
    });
    await t.step("NODATA for both: fallback", async () => {
      assert.deepEqual(
        await rawQuery(knot.nameServer, {
          name: "_xmpp-client._tcp.nodata.srv.test",
          type: SRV,
        }),
        { rcode: 0, answers: 0 },
      );
      const d = await run("nodata");
      assert.deepEqual(d.candidates.map(brief), [
        "starttls nodata.srv.test:5222 fallback",
      ]);
    });
    await t.step("NXDOMAIN, s2s: fallback to domain:5269", async () => {
      const d = await run("nx", { kind: "server" });
      assert.deepEqual(d.candidates.map(brief), [
        "starttls nx.srv.test:5269 fallback",
      ]);
      assert.equal(d.candidates[0].alpn, "xmpp-server");
    });
    await t.step("port 0 only: no usable records, no fallback", async () => {
      await fails("port0", "no-usable-records");
    });
    await t.step(
      "mixed weights: priorities hold, weights decide within",
      async () => {
        let heavyFirst = 0;
        const draws = 200;
        for (let seed = 0; seed < draws; seed++) {
          const d = await run("weights", { seed });
          const p = d.candidates.map((c) => c.priority);
          assert.deepEqual(p, [1, 1, 2, 2]);
          if (d.candidates[0].host === "heavy.weights.srv.test") heavyFirst++;
          assert.equal(
            d.candidates.find((c) => c.host.startsWith("heavy"))!.transport,
            "directtls",
          );
        }
        // 90 of 101 slots: expect about 178 of 200.
        assert.ok(
          heavyFirst > 160 && heavyFirst < 195,
          `heavy first ${heavyFirst}`,
        );
      },
    );
    await t.step("s2s: the -server services", async () => {
      const d = await run("s2s", { kind: "server" });
      assert.deepEqual(d.candidates.map(brief), [
        "starttls xmpp.s2s.srv.test:5269 srv",
        "directtls xmpp.s2s.srv.test:5270 srv",
      ]);
      for (const c of d.candidates) assert.equal(c.alpn, "xmpp-server");
    });
    await t.step(
      "IDN: the A-label is looked up and is the SNI name",
      async () => {
        const d = await run("user@Bücher.srv.test/res");
        assert.equal(d.domain, "xn--bcher-kva.srv.test");
        assert.deepEqual(d.candidates.map(brief), [
          "starttls xmpp.xn--bcher-kva.srv.test:5222 srv",
        ]);
        assert.equal(d.candidates[0].serverName, "xn--bcher-kva.srv.test");
      },
    );
    await t.step("QUIC opt-in: UDP 443 at the domain, last", async () => {
      const d = await run("both", { quic: true });
      assert.deepEqual(
        d.candidates.map(brief).at(-1),
        "quic both.srv.test:443 quic-default",
      );
      assert.equal(d.candidates.length, 3);
    });
    await t.step(
      "SERVFAIL is a ResolveError (Deno.resolveDns still reports NotFound)",
      async () => {
        const name = "_xmpp-client._tcp.servfail.test";
        assert.equal(
          (await rawQuery(knot.nameServer, { name, type: SRV })).rcode,
          2,
        );
        // Measured fact the wire client exists for: Deno cannot tell.
        const err = await Deno.resolveDns(name, "SRV", {
          nameServer: knot.nameServer,
        }).catch((e) => e);
        assert.ok(err instanceof Deno.errors.NotFound, String(err));
        const viaDeno = dnsResolver({
          nameServer: knot.nameServer,
          timeout: 2000,
          transport: "deno",
        });
        assert.deepEqual(await viaDeno.srv(name), []);

        const e = await resolver.srv(name).catch((e) => e);
        assert.ok(e instanceof ResolveError, String(e));
        assert.equal(e.query, name);
        assert.equal(e.recordType, "SRV");
        assert.match(
          e.message,
          /server failure \(SERVFAIL, rcode 2\) from 127\.0\.0\.1 port \d+$/,
        );
      },
    );
    await t.step(
      "REFUSED (a zone knot does not serve) is a ResolveError",
      async () => {
        const name = "_xmpp-client._tcp.elsewhere.example";
        assert.equal(
          (await rawQuery(knot.nameServer, { name, type: SRV })).rcode,
          5,
        );
        const e = await resolver.srv(name).catch((e) => e);
        assert.ok(e instanceof ResolveError, String(e));
        assert.match(e.message, /query refused \(REFUSED, rcode 5\)/);
      },
    );
    await t.step("one service SERVFAIL: the other is used", async () => {
      assert.equal(
        (await rawQuery(knot.nameServer, {
          name: "_xmpps-client._tcp.onesf.srv.test",
          type: SRV,
        })).rcode,
        2,
      );
      const d = await run("onesf");
      assert.deepEqual(d.candidates.map(brief), [
        "starttls xmpp.onesf.srv.test:5222 srv",
      ]);
      const l = d.lookups.directTls;
      assert.equal(l.status, "error");
      assert.ok(l.error instanceof ResolveError);
      assert.match(l.error.message, /SERVFAIL/);
    });
    await t.step(
      "both SERVFAIL: DiscoveryError lookup-failed, not the fallback",
      async () => {
        const e = await discover("servfail.test", { resolver }).catch((e) => e);
        assert.ok(e instanceof DiscoveryError, String(e));
        assert.equal(e.code, "lookup-failed");
        assert.match(e.message, /_xmpp-client\._tcp\.servfail\.test/);
        assert.match(e.message, /_xmpps-client\._tcp\.servfail\.test/);
        const errors = (e.cause as AggregateError).errors;
        assert.equal(errors.length, 2);
        for (const x of errors) {
          assert.ok(x instanceof ResolveError);
          assert.match(x.message, /SERVFAIL/);
        }
      },
    );
    await t.step(
      "through Deno.resolveDns both SERVFAIL still look like no records",
      async () => {
        const viaDeno = dnsResolver({
          nameServer: knot.nameServer,
          timeout: 2000,
          transport: "deno",
        });
        const d = await discover("servfail.test", { resolver: viaDeno });
        assert.deepEqual(d.candidates.map(brief), [
          "starttls servfail.test:5222 fallback",
        ]);
      },
    );
    // The timeout steps go last: each blackholed query holds one of
    // knotd's UDP workers for blackholeMs, and knotd picks the worker by
    // the client's source port, so any later query may wait (measured).
    await t.step("one lookup times out: the other is used", async () => {
      const d = await discover(D("onefail"), { resolver: fast });
      assert.deepEqual(d.candidates.map(brief), [
        "starttls xmpp.onefail.srv.test:5222 srv",
      ]);
      const l = d.lookups.directTls;
      assert.equal(l.status, "error");
      assert.ok(l.error instanceof ResolveError);
      assert.match(l.error.message, /no answer within 300 ms/);
    });
    await t.step(
      "both lookups time out: DiscoveryError naming both",
      async () => {
        const e = await discover(D("bothfail"), { resolver: fast }).catch((e) =>
          e
        );
        assert.ok(e instanceof DiscoveryError, String(e));
        assert.equal(e.code, "lookup-failed");
        assert.match(e.message, /_xmpp-client\._tcp\.bothfail\.srv\.test/);
        assert.match(e.message, /_xmpps-client\._tcp\.bothfail\.srv\.test/);
        assert.equal((e.cause as AggregateError).errors.length, 2);
      },
    );
  } finally {
    await knot.stop();
  }
  await t.step("knotd stopped and its directory removed", async () => {
    await assert.rejects(Deno.stat(knot.dir), Deno.errors.NotFound);
    const log = await knot.readLog();
    assert.match(log, /server started/);
  });
});
