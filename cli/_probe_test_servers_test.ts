import assert from "node:assert/strict";
import { fromConn } from "../stream/conn_duplex.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { tlsConnect } from "../tls/client.ts";
import {
  directTlsServer,
  silentServer,
  startTlsServer,
  TEST_CA,
  testCertificate,
} from "./_probe_test_servers.ts";

Deno.test("test servers: Direct TLS serves SASL features and records the client", async () => {
  await using server = directTlsServer({ cert: testCertificate("localhost") });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const secure = await tlsConnect(fromConn(conn), {
    serverName: "localhost",
    ca: TEST_CA,
    systemCa: false,
  });
  const xs = await XmlStream.open(secure, { to: "localhost" });
  const features = await xs.readFeatures();
  assert.equal(features.elements[0].name, "mechanisms");
  await xs.close();
  assert.deepEqual(server.seen, [{
    ns: "jabber:client",
    to: "localhost",
    sni: "localhost",
    alpn: "xmpp-client",
  }]);
});

Deno.test("test servers: STARTTLS offers it and closes cleanly", async () => {
  await using server = startTlsServer({ cert: testCertificate("localhost") });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const xs = await XmlStream.open(fromConn(conn), { to: "localhost" });
  const features = await xs.readFeatures();
  assert.equal(features.elements[0].name, "starttls");
  await xs.close();
  assert.equal(server.connections, 1);
});

Deno.test("test servers: the silent server says nothing", async () => {
  await using server = silentServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const buf = new Uint8Array(16);
  const timer = AbortSignal.timeout(100);
  const read = conn.read(buf);
  await new Promise((r) => timer.addEventListener("abort", r));
  conn.close();
  await read.catch(() => null);
  assert.equal(server.connections, 1);
});
