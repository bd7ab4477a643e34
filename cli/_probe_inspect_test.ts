import assert from "node:assert/strict";
import { memoryPair } from "../stream/memory_duplex.ts";
import { tlsAccept } from "../tls/server.ts";
import { inspectTls } from "./_probe_inspect.ts";
import { TEST_CA, testCertificate } from "./_probe_test_servers.ts";

function serve(
  name: "localhost" | "other.test",
  alpn?: readonly string[],
) {
  const [a, b] = memoryPair();
  const cert = testCertificate(name);
  const server = tlsAccept(b, { certificates: () => cert, alpn }).then(
    (d) => d.close(),
    () => {},
  );
  return { client: a, server };
}

Deno.test("inspectTls: shows a certificate for another name, chain verified", async () => {
  const { client, server } = serve("other.test");
  const seen = await inspectTls(client, {
    serverName: "example.test",
    alpn: "xmpp-client",
    ca: [TEST_CA],
  });
  await server;
  assert.deepEqual(seen.certificate?.dnsNames, ["other.test"]);
  assert.match(seen.certificate?.subject ?? "", /CN=other\.test/);
  assert.ok(seen.certificate?.validTo instanceof Date);
  assert.ok((seen.certificate?.raw.byteLength ?? 0) > 100);
  assert.equal(seen.chainError, null);
  assert.ok(seen.tlsVersion === "TLSv1.3" || seen.tlsVersion === "TLSv1.2");
  assert.equal(typeof seen.cipher, "string");
  assert.equal(seen.alpn, "xmpp-client");
});

Deno.test("inspectTls: reports an untrusted chain instead of refusing", async () => {
  const { client, server } = serve("localhost");
  const seen = await inspectTls(client, {
    serverName: "example.test",
    alpn: null,
  });
  await server;
  assert.equal(typeof seen.chainError, "string");
  assert.notEqual(seen.chainError, null);
  assert.deepEqual(seen.certificate?.dnsNames, ["localhost", "example.test"]);
  assert.equal(seen.alpn, null);
});

Deno.test("inspectTls: a peer that is not TLS, a timeout, an abort", async (t) => {
  await t.step("closed", async () => {
    const [a, b] = memoryPair();
    b.close();
    await assert.rejects(
      inspectTls(a, { serverName: "example.test", alpn: null }),
      Error,
    );
  });
  await t.step("silent", async () => {
    const [a, b] = memoryPair();
    await assert.rejects(
      inspectTls(a, { serverName: "example.test", alpn: null, timeout: 50 }),
      /longer than 50 ms/,
    );
    b.close();
  });
  await t.step("aborted", async () => {
    const [a, b] = memoryPair();
    const reason = new Error("stop");
    const controller = new AbortController();
    const p = inspectTls(a, {
      serverName: "example.test",
      alpn: null,
      signal: controller.signal,
    });
    controller.abort(reason);
    await assert.rejects(p, (e) => e === reason);
    b.close();
    const [c, d] = memoryPair();
    await assert.rejects(
      inspectTls(c, {
        serverName: "example.test",
        alpn: null,
        signal: AbortSignal.abort(reason),
      }),
      (e) => e === reason,
    );
    d.close();
  });
});
