import assert from "node:assert/strict";
import type { CandidateResult, ProbeReport } from "./_probe_report.ts";
import { renderJson, renderText } from "./_probe_render.ts";

function result(over: Partial<CandidateResult> = {}): CandidateResult {
  return {
    ok: true,
    addresses: ["2001:db8::1", "192.0.2.1"],
    address: "192.0.2.1",
    tcpMs: 12.3,
    tcpErrors: ["2001:db8::1: Network is unreachable"],
    starttls: null,
    sni: "example.org",
    tlsVersion: "TLSv1.3",
    cipher: "TLS_AES_128_GCM_SHA256",
    alpn: "xmpp-client",
    tlsMs: 25,
    certificate: {
      subject: "CN=example.org",
      dnsNames: ["example.org", "*.example.org"],
      srvNames: ["_xmpp-client.example.org"],
      xmppAddrs: [],
      validTo: "2030-01-01T00:00:00.000Z",
      daysLeft: 200,
    },
    certificateValid: true,
    identity: "dns-id example.org",
    inspected: false,
    features: ["mechanisms"],
    mechanisms: ["SCRAM-SHA-1", "PLAIN"],
    error: null,
    errorCode: null,
    failedStep: null,
    ms: 40,
    ...over,
  };
}

function report(): ProbeReport {
  return {
    domain: "example.org",
    kind: "client",
    connect: true,
    lookups: {
      starttls: {
        service: "_xmpp-client._tcp",
        name: "_xmpp-client._tcp.example.org",
        transport: "starttls",
        status: "records",
        records: [
          { priority: 10, weight: 5, port: 5222, target: "xmpp.example.org" },
          { priority: 0, weight: 0, port: 5222, target: "." },
        ],
        error: null,
        ms: 3.2,
      },
      directTls: {
        service: "_xmpps-client._tcp",
        name: "_xmpps-client._tcp.example.org",
        transport: "directtls",
        status: "error",
        records: [],
        error: "SRV lookup of _xmpps-client._tcp.example.org failed: timeout",
        ms: 5000,
      },
    },
    skipped: [{
      service: "_xmpp-client._tcp",
      record: { priority: 0, weight: 0, port: 5222, target: "." },
      reason: "no-service",
    }],
    candidates: [
      {
        transport: "directtls",
        host: "tls.example.org",
        port: 443,
        serverName: "example.org",
        alpn: "xmpp-client",
        priority: 5,
        weight: 1,
        source: "srv",
        result: result(),
      },
      {
        transport: "starttls",
        host: "xmpp.example.org",
        port: 5222,
        serverName: "example.org",
        alpn: "xmpp-client",
        priority: 10,
        weight: 5,
        source: "srv",
        result: result({
          ok: false,
          starttls: "required",
          tcpErrors: [],
          tlsMs: null,
          certificate: {
            subject: "CN=other.example",
            dnsNames: ["other.example"],
            srvNames: [],
            xmppAddrs: [],
            validTo: "2020-01-01T00:00:00.000Z",
            daysLeft: -5,
          },
          certificateValid: false,
          identity: null,
          inspected: true,
          features: [],
          mechanisms: [],
          error: "the certificate presented for example.org is not valid",
          errorCode: "name-mismatch",
          failedStep: "tls",
        }),
      },
    ],
    secure: 1,
    status: "ok",
    verdict: "ok: 1 secure candidate of 2 (1 failed)",
    error: null,
    ms: 5100,
  };
}

Deno.test("renderText: lookups, records, skipped, table, results, verdict", () => {
  const text = renderText(report());
  const lines = text.split("\n");
  assert.equal(lines[0], "XMPP client-to-server probe of example.org");
  assert.ok(text.endsWith("Verdict: ok: 1 secure candidate of 2 (1 failed)\n"));
  for (
    const expected of [
      /_xmpp-client\._tcp\.example\.org +2 records \(3\.2 ms\)/,
      /priority 10 {2}weight 5 {2}port 5222 {2}xmpp\.example\.org\./,
      /priority 0 {2}weight 0 {2}port 5222 {2}\.\n/,
      /_xmpps-client\._tcp\.example\.org +lookup failed: .*timeout \(5000 ms\)/,
      /skipped from _xmpp-client\._tcp: 0 0 5222 \. \(target "\." among other records\)/,
      /# +transport +host:port +priority +weight +source/,
      /1 +directtls +tls\.example\.org:443 +5 +1 +srv/,
      /2 +starttls +xmpp\.example\.org:5222 +10 +5 +srv/,
      /1\. directtls tls\.example\.org:443 {2}SECURE/,
      /addresses +2001:db8::1, 192\.0\.2\.1/,
      /TCP failed: 2001:db8::1: Network is unreachable/,
      /TCP +connected to 192\.0\.2\.1 in 12 ms/,
      /TLS +TLSv1\.3, TLS_AES_128_GCM_SHA256, ALPN xmpp-client, SNI example\.org, 25 ms/,
      /certificate +CN=example\.org/,
      /names: example\.org, \*\.example\.org, SRV:_xmpp-client\.example\.org/,
      /expires 2030-01-01 \(in 200 days\)/,
      /valid for example\.org \(dns-id example\.org\)/,
      /features +mechanisms \(SASL: SCRAM-SHA-1, PLAIN\)/,
      /2\. starttls xmpp\.example\.org:5222 {2}FAILED/,
      /STARTTLS +offered, required/,
      /non-verifying handshake/,
      /EXPIRED on 2020-01-01 \(5 days ago\)/,
      /NOT valid for example\.org/,
      /error +tls: the certificate presented/,
    ]
  ) {
    assert.match(text, expected);
  }
});

Deno.test("renderText: no service, discovery failure, fallback, no-connect", () => {
  const r = report();
  const noService: ProbeReport = {
    ...r,
    candidates: [],
    skipped: [],
    secure: 0,
    status: "no-service",
    verdict: "no service: example.org declares …",
    error: "example.org declares no XMPP service",
  };
  const text = renderText(noService);
  assert.doesNotMatch(text, /Candidates/);
  assert.doesNotMatch(text, /^error:/m);
  assert.match(text, /Verdict: no service/);

  const failed = renderText({
    ...noService,
    lookups: null,
    status: "discovery-failed",
    verdict: "discovery failed: x",
    error: "cannot discover",
  });
  assert.doesNotMatch(failed, /^DNS/m);
  assert.match(failed, /^error: cannot discover$/m);

  const fallback = renderText({
    ...r,
    connect: false,
    status: "discovered",
    candidates: [{
      ...r.candidates[1],
      host: "example.org",
      source: "fallback",
      priority: 0,
      weight: 0,
      result: null,
    }],
  });
  assert.match(fallback, /fallback \(no SRV records: RFC 6120\)/);
  assert.doesNotMatch(fallback, /SECURE|FAILED/);

  const v6 = renderText({
    ...r,
    candidates: [{ ...r.candidates[0], host: "2001:db8::5" }],
  });
  assert.match(v6, /\[2001:db8::5\]:443/);
});

Deno.test("renderJson: one object with the documented shape", () => {
  const json = JSON.parse(renderJson(report()));
  assert.deepEqual(Object.keys(json), [
    "domain",
    "kind",
    "connect",
    "lookups",
    "skipped",
    "candidates",
    "secure",
    "status",
    "verdict",
    "error",
    "ms",
  ]);
  assert.equal(json.domain, "example.org");
  assert.equal(json.verdict, "ok: 1 secure candidate of 2 (1 failed)");
  const [good, bad] = json.candidates;
  for (
    const key of [
      "transport",
      "host",
      "port",
      "serverName",
      "alpn",
      "priority",
      "weight",
      "source",
      "result",
    ]
  ) {
    assert.ok(key in good, key);
  }
  for (
    const key of ["ok", "tlsVersion", "alpn", "certificateValid", "error"]
  ) {
    assert.ok(key in good.result, key);
  }
  assert.equal(good.result.ok, true);
  assert.equal(good.result.certificateValid, true);
  assert.equal(good.result.error, null);
  assert.equal(bad.result.ok, false);
  assert.equal(bad.result.certificateValid, false);
  assert.equal(bad.result.errorCode, "name-mismatch");
  assert.deepEqual(bad.result.certificate.dnsNames, ["other.example"]);
  assert.equal(json.lookups.directTls.status, "error");
  assert.deepEqual(JSON.parse(renderJson(report())), report());
  assert.ok(renderJson(report()).endsWith("}\n"));
});
