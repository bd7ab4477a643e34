import assert from "node:assert/strict";
import { memoryResolver, type MemoryZone } from "../srv/memory_resolver.ts";
import { probe, type ProbeProgress } from "./_probe_run.ts";
import {
  directTlsServer,
  silentServer,
  startTlsServer,
  TEST_CA,
  testCertificate,
} from "./_probe_test_servers.ts";

const DOMAIN = "example.test";

/** SRV for both c2s services pointing at loopback ports. */
function zone(
  starttls: number | ".",
  directTls: number | "." | null,
  kind: "client" | "server" = "client",
): MemoryZone {
  const srv = (port: number | ".", target: string) =>
    port === "."
      ? [{ priority: 0, weight: 0, port: 0, target: "." }]
      : [{ priority: 10, weight: 5, port, target }];
  const z: MemoryZone = {
    [`_xmpp-${kind}._tcp.${DOMAIN}`]: {
      srv: srv(starttls, "xmpp.example.test"),
    },
    "xmpp.example.test": { a: ["127.0.0.1"] },
    "tls.example.test": { a: ["127.0.0.1"] },
  };
  if (directTls !== null) {
    z[`_xmpps-${kind}._tcp.${DOMAIN}`] = {
      srv: srv(directTls, "tls.example.test"),
    };
  }
  return z;
}

const trust = { ca: TEST_CA, systemCa: false, timeout: 5000 };

Deno.test("probe: good SRV for both services gives two secure candidates", async () => {
  const cert = testCertificate("localhost");
  await using st = startTlsServer({ cert });
  await using dt = directTlsServer({ cert });
  const events: ProbeProgress[] = [];
  const report = await probe(DOMAIN, {
    ...trust,
    resolver: memoryResolver(zone(st.port, dt.port)),
    onProgress: (e) => events.push(e),
  });
  assert.equal(report.status, "ok");
  assert.equal(report.verdict, "ok: 2 secure candidates");
  assert.equal(report.secure, 2);
  assert.equal(report.domain, DOMAIN);
  assert.equal(report.kind, "client");
  assert.equal(report.connect, true);
  assert.equal(report.error, null);
  assert.equal(report.lookups?.starttls.status, "records");
  assert.deepEqual(report.lookups?.directTls.records, [
    { priority: 10, weight: 5, port: dt.port, target: "tls.example.test" },
  ]);
  const byTransport = Object.fromEntries(
    report.candidates.map((c) => [c.transport, c]),
  );
  assert.equal(byTransport.starttls.port, st.port);
  assert.equal(byTransport.starttls.result?.starttls, "required");
  assert.equal(byTransport.directtls.result?.alpn, "xmpp-client");
  for (const c of report.candidates) {
    assert.equal(c.priority, 10);
    assert.equal(c.weight, 5);
    assert.equal(c.source, "srv");
    assert.equal(c.serverName, DOMAIN);
    assert.equal(c.result?.ok, true);
    assert.equal(c.result?.certificateValid, true);
  }
  // The report is plain data: JSON round-trips it unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  assert.deepEqual(events.slice(0, 2), [
    { type: "discovering", domain: DOMAIN },
    { type: "discovered", total: 2 },
  ]);
  const done = events.filter((e) => e.type === "done");
  assert.deepEqual(
    done.map((e) => e.type === "done" && e.finished),
    [1, 2],
  );
  assert.ok(events.some((e) => e.type === "step" && e.step === "starttls"));
});

Deno.test("probe: a wrong certificate everywhere is no secure candidate", async () => {
  const cert = testCertificate("other.test");
  await using st = startTlsServer({ cert });
  await using dt = directTlsServer({ cert });
  const report = await probe(DOMAIN, {
    ...trust,
    resolver: memoryResolver(zone(st.port, dt.port)),
  });
  assert.equal(report.status, "no-secure-candidate");
  assert.equal(
    report.verdict,
    "no secure candidate: all 2 candidates of example.test failed",
  );
  for (const c of report.candidates) {
    assert.equal(c.result?.ok, false);
    assert.equal(c.result?.certificateValid, false);
    assert.equal(c.result?.errorCode, "name-mismatch");
    assert.deepEqual(c.result?.certificate?.dnsNames, ["other.test"]);
  }
});

Deno.test("probe: one good and one failing candidate is still ok", async () => {
  await using st = startTlsServer({
    cert: testCertificate("localhost"),
    offer: "none",
  });
  await using dt = directTlsServer({ cert: testCertificate("localhost") });
  const report = await probe(DOMAIN, {
    ...trust,
    resolver: memoryResolver(zone(st.port, dt.port)),
    concurrency: 1,
  });
  assert.equal(report.status, "ok");
  assert.equal(report.verdict, "ok: 1 secure candidate of 2 (1 failed)");
});

Deno.test('probe: the "." target says there is no service', async () => {
  const report = await probe(DOMAIN, {
    ...trust,
    resolver: memoryResolver(zone(".", null)),
  });
  assert.equal(report.status, "no-service");
  assert.match(report.verdict, /^no service: example\.test/);
  assert.deepEqual(report.candidates, []);
  assert.equal(report.lookups?.starttls.status, "unavailable");
  assert.deepEqual(report.lookups?.starttls.records, [
    { priority: 0, weight: 0, port: 0, target: "." },
  ]);
  assert.equal(report.lookups?.directTls.status, "empty");
  assert.match(report.error ?? "", /declares no XMPP service/);
});

Deno.test('probe: a "." among other records, and port 0, are skipped', async () => {
  await using dt = directTlsServer({ cert: testCertificate("localhost") });
  const z = zone(1, dt.port);
  z[`_xmpp-client._tcp.${DOMAIN}`] = {
    srv: [
      { priority: 0, weight: 0, port: 5222, target: "." },
      { priority: 1, weight: 0, port: 0, target: "xmpp.example.test" },
    ],
  };
  const report = await probe(DOMAIN, { ...trust, resolver: memoryResolver(z) });
  assert.equal(report.status, "ok");
  assert.equal(report.candidates.length, 1);
  assert.equal(report.lookups?.starttls.status, "records");
  assert.deepEqual(report.skipped.map((s) => s.reason), [
    "no-service",
    "port-0",
  ]);
  assert.equal(report.skipped[0].service, "_xmpp-client._tcp");
});

Deno.test("probe: failed lookups are a discovery failure", async () => {
  const report = await probe(DOMAIN, {
    ...trust,
    resolver: memoryResolver({
      [`_xmpp-client._tcp.${DOMAIN}`]: { fail: "server failure" },
      [`_xmpps-client._tcp.${DOMAIN}`]: { fail: "server failure" },
    }),
  });
  assert.equal(report.status, "discovery-failed");
  assert.equal(
    report.verdict,
    "discovery failed: the SRV lookups of example.test failed",
  );
  assert.match(report.error ?? "", /cannot discover the XMPP service/);
  assert.equal(report.lookups?.starttls.status, "error");
  assert.match(report.lookups?.starttls.error ?? "", /server failure/);
});

Deno.test("probe: no SRV records falls back to the domain on 5222 (not connected)", async () => {
  const report = await probe(DOMAIN, {
    ...trust,
    resolver: memoryResolver({}),
    connect: false,
  });
  assert.equal(report.status, "discovered");
  assert.equal(report.connect, false);
  assert.deepEqual(report.candidates, [{
    transport: "starttls",
    host: DOMAIN,
    port: 5222,
    serverName: DOMAIN,
    alpn: "xmpp-client",
    priority: 0,
    weight: 0,
    source: "fallback",
    result: null,
  }]);
  assert.equal(report.lookups?.starttls.status, "empty");
});

Deno.test("probe: s2s looks up the -server services and speaks jabber:server", async () => {
  const cert = testCertificate("localhost");
  await using st = startTlsServer({ cert, ns: "jabber:server" });
  await using dt = directTlsServer({ cert, ns: "jabber:server" });
  const report = await probe(DOMAIN, {
    ...trust,
    kind: "server",
    resolver: memoryResolver(zone(st.port, dt.port, "server")),
  });
  assert.equal(report.status, "ok");
  assert.equal(report.kind, "server");
  assert.equal(report.lookups?.starttls.service, "_xmpp-server._tcp");
  assert.equal(report.lookups?.directTls.service, "_xmpps-server._tcp");
  for (const c of report.candidates) assert.equal(c.alpn, "xmpp-server");
  assert.equal(st.seen[0].ns, "jabber:server");
  assert.equal(dt.seen[0].alpn, "xmpp-server");
});

Deno.test("probe: the timeout bounds every candidate", async () => {
  await using silent = silentServer();
  const start = performance.now();
  const report = await probe(DOMAIN, {
    ...trust,
    timeout: 300,
    resolver: memoryResolver(zone(silent.port, silent.port)),
  });
  assert.ok(performance.now() - start < 3000);
  assert.equal(report.status, "no-secure-candidate");
  for (const c of report.candidates) {
    assert.equal(c.result?.errorCode, "timeout");
  }
});

Deno.test("probe: an abort rejects after closing everything", async () => {
  await using silent = silentServer();
  const controller = new AbortController();
  const reason = new Error("stop");
  const p = probe(DOMAIN, {
    ...trust,
    resolver: memoryResolver(zone(silent.port, silent.port)),
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === "step" && e.step === "tls") controller.abort(reason);
    },
  });
  await assert.rejects(p, (e) => e === reason);
});

Deno.test("probe: options are checked", async () => {
  const resolver = memoryResolver({});
  await assert.rejects(probe(DOMAIN, { resolver, timeout: -1 }), RangeError);
  await assert.rejects(
    probe(DOMAIN, { resolver, concurrency: 0 }),
    RangeError,
  );
  await assert.rejects(probe("not a domain!", { resolver }), TypeError);
});

Deno.test("probe: records that are all unusable are a discovery failure", async () => {
  const report = await probe(DOMAIN, {
    ...trust,
    resolver: memoryResolver({
      [`_xmpp-client._tcp.${DOMAIN}`]: {
        srv: [{ priority: 0, weight: 0, port: 0, target: "xmpp.example.test" }],
      },
    }),
  });
  assert.equal(report.status, "discovery-failed");
  assert.equal(
    report.verdict,
    "discovery failed: example.test publishes SRV records, but none can be used",
  );
  assert.ok(!("reason" in report));
});
