import assert from "node:assert/strict";
import type { Duplex } from "../stream/duplex.ts";
import { openQuicConnection } from "./dial.ts";
import { loopbackCandidate, testListener, trustTestCa } from "./_test_util.ts";

async function readAll(d: Duplex): Promise<number> {
  let n = 0;
  for await (const c of d.readable) n += c.byteLength;
  return n;
}

Deno.test("stream duplex: close() sends FIN after the data, never a reset", async () => {
  const listener = testListener();
  const conn = await openQuicConnection(
    loopbackCandidate(listener.addr.port),
    { ...trustTestCa(), linger: 500 },
  );
  const client = await conn.openStream();
  const w = client.writable.getWriter();
  const block = new Uint8Array(65536);
  const writes = (async () => {
    for (let i = 0; i < 32; i++) await w.write(block);
  })();
  const server = await listener.accept();
  const reading = readAll(server);
  await writes;
  w.releaseLock();
  // Closing right after the last write: all 2 MiB still arrive, then FIN.
  client.close();
  client.close();
  assert.equal(await reading, 32 * 65536);
  server.close();
  await assert.rejects(
    client.writable.getWriter().write(block),
    Deno.errors.BadResource,
  );
  await conn.close();
  await listener.close();
});

Deno.test("stream duplex: linger bounds the wait for the peer's FIN", async () => {
  const listener = testListener();
  const conn = await openQuicConnection(
    loopbackCandidate(listener.addr.port),
    { ...trustTestCa(), linger: 100 },
  );
  const client = await conn.openStream();
  await client.writable.getWriter().write(new TextEncoder().encode("<x>"));
  const server = await listener.accept(); // never answers, never closes
  const started = performance.now();
  client.close();
  await conn.close(); // waits for the stream's close to finish
  const waited = performance.now() - started;
  assert.ok(waited >= 90 && waited < 1000, `${waited} ms`);
  server.close();
  await listener.close();
});

Deno.test("stream duplex: info", async () => {
  const listener = testListener();
  const conn = await openQuicConnection(
    loopbackCandidate(listener.addr.port),
    trustTestCa(),
  );
  const client = await conn.openStream();
  await client.writable.getWriter().write(new TextEncoder().encode("<x>"));
  const server = await listener.accept();
  assert.deepEqual({ ...client.info }, {
    transport: "quic",
    secure: true,
    tlsVersion: "TLSv1.3",
    localAddr: conn.localAddr,
    serverName: "localhost",
    alpn: "xmpp-client",
    remoteAddr: {
      transport: "udp",
      hostname: "127.0.0.1",
      port: listener.addr.port,
    },
  });
  assert.equal(server.info.serverName, "localhost");
  assert.equal(server.info.remoteAddr?.port, conn.localAddr?.port);
  client.close();
  server.close();
  await conn.close();
  await listener.close();
});
