import assert from "node:assert/strict";
import type { Candidate } from "../srv/candidate.ts";
import { memoryResolver } from "../srv/memory_resolver.ts";
import {
  certificateReport,
  probeCandidate,
  type ProbeCandidateOptions,
} from "./_probe_candidate.ts";
import {
  directTlsServer,
  silentServer,
  startTlsServer,
  TEST_CA,
  testCertificate,
} from "./_probe_test_servers.ts";
import type { ProbeStep } from "./_probe_report.ts";

const DOMAIN = "example.test";

function candidate(
  transport: "starttls" | "directtls",
  port: number,
  over: Partial<Candidate> = {},
): Candidate {
  return {
    transport,
    host: "xmpp.example.test",
    port,
    serverName: DOMAIN,
    alpn: "xmpp-client",
    priority: 0,
    weight: 0,
    source: "srv",
    ...over,
  };
}

const resolver = memoryResolver({
  "xmpp.example.test": { a: ["127.0.0.1"] },
});

const options = (over: Partial<ProbeCandidateOptions> = {}) => ({
  resolver,
  ca: [TEST_CA],
  systemCa: false,
  timeout: 5000,
  ...over,
});

Deno.test("probeCandidate: Direct TLS, valid certificate", async () => {
  await using server = directTlsServer({ cert: testCertificate("localhost") });
  const steps: ProbeStep[] = [];
  const r = await probeCandidate(
    candidate("directtls", server.port),
    options({ onStep: (s) => steps.push(s) }),
  );
  assert.equal(r.error, null);
  assert.equal(r.ok, true);
  assert.deepEqual(steps, ["resolve", "tcp", "tls", "features"]);
  assert.deepEqual(r.addresses, ["127.0.0.1"]);
  assert.equal(r.address, "127.0.0.1");
  assert.equal(r.starttls, null);
  assert.equal(r.sni, DOMAIN);
  assert.ok(r.tlsVersion === "TLSv1.3" || r.tlsVersion === "TLSv1.2");
  assert.equal(typeof r.cipher, "string");
  assert.equal(r.alpn, "xmpp-client");
  assert.equal(r.certificateValid, true);
  assert.equal(r.identity, "dns-id example.test");
  assert.equal(r.inspected, false);
  assert.deepEqual(r.certificate?.dnsNames, ["localhost", "example.test"]);
  assert.match(r.certificate?.subject ?? "", /CN=localhost/);
  assert.ok((r.certificate?.daysLeft ?? 0) > 0);
  assert.deepEqual(r.features, ["mechanisms"]);
  assert.deepEqual(r.mechanisms, ["SCRAM-SHA-1", "PLAIN"]);
  assert.equal(server.seen[0].sni, DOMAIN);
  assert.equal(server.seen[0].to, DOMAIN);
});

Deno.test("probeCandidate: STARTTLS required, valid certificate", async () => {
  await using server = startTlsServer({ cert: testCertificate("localhost") });
  const steps: ProbeStep[] = [];
  const r = await probeCandidate(
    candidate("starttls", server.port),
    options({ onStep: (s) => steps.push(s) }),
  );
  assert.equal(r.error, null);
  assert.equal(r.ok, true);
  assert.deepEqual(steps, [
    "resolve",
    "tcp",
    "stream",
    "starttls",
    "tls",
    "features",
  ]);
  assert.equal(r.starttls, "required");
  assert.equal(r.certificateValid, true);
  assert.deepEqual(r.mechanisms, ["SCRAM-SHA-1", "PLAIN"]);
  assert.equal(server.seen[0].sni, DOMAIN);
});

Deno.test("probeCandidate: a certificate for another name is shown, never valid", async (t) => {
  for (const transport of ["directtls", "starttls"] as const) {
    await t.step(transport, async () => {
      const cert = testCertificate("other.test");
      await using server = transport === "directtls"
        ? directTlsServer({ cert })
        : startTlsServer({ cert });
      const r = await probeCandidate(
        candidate(transport, server.port),
        options(),
      );
      assert.equal(r.ok, false);
      assert.equal(r.errorCode, "name-mismatch");
      assert.equal(r.failedStep, "tls");
      assert.equal(r.certificateValid, false);
      assert.equal(r.inspected, true);
      assert.equal(r.identity, null);
      assert.deepEqual(r.certificate?.dnsNames, ["other.test"]);
      assert.match(r.certificate?.subject ?? "", /CN=other\.test/);
      assert.match(r.error ?? "", /other\.test/);
      assert.ok(r.tlsVersion);
      assert.equal(r.tlsMs, null);
      assert.equal(r.features.length, 0);
      if (transport === "starttls") {
        // The verifying handshake and the inspecting one.
        assert.equal(server.connections, 2);
      }
      assert.equal(server.seen.length, 0);
    });
  }
});

Deno.test("probeCandidate: a certificate valid only for the SRV target", async () => {
  await using server = directTlsServer({
    cert: testCertificate("target.test"),
  });
  const r = await probeCandidate(
    candidate("directtls", server.port, {
      host: "xmpp.target.test",
      serverName: "target.test",
    }),
    options({
      resolver: memoryResolver({ "xmpp.target.test": { a: ["127.0.0.1"] } }),
    }),
  );
  assert.equal(r.ok, false);
  assert.equal(r.errorCode, "name-mismatch");
  assert.equal(r.certificateValid, false);
  assert.deepEqual(r.certificate?.dnsNames, ["xmpp.target.test"]);
});

Deno.test("probeCandidate: an untrusted certificate names the chain problem", async () => {
  await using server = directTlsServer({ cert: testCertificate("localhost") });
  const r = await probeCandidate(
    candidate("directtls", server.port),
    options({ ca: [] }),
  );
  assert.equal(r.ok, false);
  assert.equal(r.errorCode, "untrusted-certificate");
  assert.equal(r.certificateValid, false);
  assert.equal(r.inspected, true);
  // The name matches; the chain does not lead to an anchor.
  assert.equal(r.identity, "dns-id example.test");
  assert.deepEqual(r.certificate?.dnsNames, ["localhost", "example.test"]);
});

Deno.test("probeCandidate: STARTTLS offered as optional is used", async () => {
  await using server = startTlsServer({
    cert: testCertificate("localhost"),
    offer: "optional",
  });
  const r = await probeCandidate(candidate("starttls", server.port), options());
  assert.equal(r.ok, true);
  assert.equal(r.starttls, "optional");
});

Deno.test("probeCandidate: no STARTTLS offered", async () => {
  await using server = startTlsServer({
    cert: testCertificate("localhost"),
    offer: "none",
  });
  const r = await probeCandidate(candidate("starttls", server.port), options());
  assert.equal(r.ok, false);
  assert.equal(r.starttls, "none");
  assert.equal(r.errorCode, "starttls-not-offered");
  assert.equal(r.failedStep, "stream");
  assert.equal(r.certificateValid, null);
  assert.equal(r.tlsVersion, null);
  assert.match(r.error ?? "", /does not offer STARTTLS/);
});

Deno.test("probeCandidate: <failure/> to <starttls/>", async () => {
  await using server = startTlsServer({
    cert: testCertificate("localhost"),
    answer: "failure",
  });
  const r = await probeCandidate(candidate("starttls", server.port), options());
  assert.equal(r.ok, false);
  assert.equal(r.errorCode, "starttls-failure");
  assert.equal(r.failedStep, "starttls");
});

Deno.test("probeCandidate: a stanza pipelined after <proceed/> is refused", async () => {
  await using server = startTlsServer({
    cert: testCertificate("localhost"),
    answer: "inject",
  });
  const r = await probeCandidate(candidate("starttls", server.port), options());
  assert.equal(r.ok, false);
  assert.equal(r.errorCode, "policy-violation");
  assert.equal(r.failedStep, "starttls");
  assert.equal(r.tlsVersion, null);
});

Deno.test("probeCandidate: TCP refused on every address", async () => {
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = free.addr.port;
  free.close();
  const r = await probeCandidate(
    candidate("directtls", port),
    options({
      resolver: memoryResolver({
        "xmpp.example.test": { a: ["127.0.0.1"], aaaa: ["::1"] },
      }),
    }),
  );
  assert.equal(r.ok, false);
  assert.equal(r.errorCode, "tcp-failed");
  assert.equal(r.failedStep, "tcp");
  assert.deepEqual(r.addresses, ["::1", "127.0.0.1"]);
  assert.equal(r.address, null);
  assert.match(r.error ?? "", /127\.0\.0\.1/);
});

Deno.test("probeCandidate: a host without addresses", async () => {
  const r = await probeCandidate(
    candidate("directtls", 5223, { host: "nowhere.example.test" }),
    options(),
  );
  assert.equal(r.ok, false);
  assert.equal(r.errorCode, "resolve-failed");
  assert.equal(r.failedStep, "resolve");
});

Deno.test("probeCandidate: a silent server times out with the step named", async (t) => {
  await using server = silentServer();
  for (const transport of ["directtls", "starttls"] as const) {
    await t.step(transport, async () => {
      const start = performance.now();
      const r = await probeCandidate(
        candidate(transport, server.port),
        options({ timeout: 300 }),
      );
      assert.ok(performance.now() - start < 3000);
      assert.equal(r.ok, false);
      assert.equal(r.errorCode, "timeout");
      assert.equal(r.failedStep, transport === "starttls" ? "stream" : "tls");
      assert.match(r.error ?? "", /within 300 ms/);
    });
  }
});

Deno.test("probeCandidate: the caller's signal rejects", async () => {
  await using server = silentServer();
  const controller = new AbortController();
  const reason = new Error("stop");
  const p = probeCandidate(
    candidate("directtls", server.port),
    options({ signal: controller.signal }),
  );
  setTimeout(() => controller.abort(reason), 50);
  await assert.rejects(p, (e) => e === reason);
  const aborted = AbortSignal.abort(reason);
  await assert.rejects(
    probeCandidate(candidate("directtls", 1), options({ signal: aborted })),
    (e) => e === reason,
  );
});

Deno.test("probeCandidate: s2s candidates speak jabber:server and offer xmpp-server", async (t) => {
  for (const transport of ["directtls", "starttls"] as const) {
    await t.step(transport, async () => {
      const cert = testCertificate("localhost");
      await using server = transport === "directtls"
        ? directTlsServer({ cert, ns: "jabber:server" })
        : startTlsServer({ cert, ns: "jabber:server" });
      const r = await probeCandidate(
        candidate(transport, server.port, { alpn: "xmpp-server" }),
        options(),
      );
      assert.equal(r.error, null);
      assert.equal(r.ok, true);
      assert.equal(r.alpn, "xmpp-server");
      assert.equal(server.seen[0].ns, "jabber:server");
      assert.equal(server.seen[0].alpn, "xmpp-server");
    });
  }
});

Deno.test("probeCandidate: options are checked", async () => {
  await assert.rejects(
    probeCandidate(candidate("directtls", 1), options({ timeout: 0 })),
    RangeError,
  );
  const r = await probeCandidate(
    { ...candidate("directtls", 443), transport: "quic" },
    options(),
  );
  assert.equal(r.errorCode, "unsupported-transport");
});

Deno.test("certificateReport: fields and days left", () => {
  const pem = testCertificate("localhost").cert;
  const raw = Uint8Array.from(
    atob(pem.replace(/-----[A-Z ]+-----|\s/g, "")),
    (c) => c.charCodeAt(0),
  );
  const validTo = new Date("2030-01-11T00:00:00Z");
  const r = certificateReport(
    { raw, subject: "CN=localhost", validTo },
    Date.parse("2030-01-01T12:00:00Z"),
  );
  assert.deepEqual(r, {
    subject: "CN=localhost",
    dnsNames: ["localhost", "example.test"],
    srvNames: [],
    xmppAddrs: [],
    validTo: "2030-01-11T00:00:00.000Z",
    daysLeft: 9,
  });
  const bad = certificateReport(
    { raw: new Uint8Array([1, 2]), dnsNames: ["x.test"] },
    0,
  );
  assert.deepEqual(bad.dnsNames, ["x.test"]);
  assert.equal(bad.validTo, null);
  assert.equal(bad.daysLeft, null);
});
