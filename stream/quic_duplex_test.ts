import assert from "node:assert/strict";
import { fromQuicStream } from "./quic_duplex.ts";
import type { Duplex } from "./duplex.ts";
import { testCerts } from "./_test_certs.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ALPN = ["xmpp-client"];

interface QuicSetup {
  endpoint: Deno.QuicEndpoint;
  clientConn: Deno.QuicConn;
  serverConn: Deno.QuicConn;
  client: Duplex;
  /** Adapt the next stream the client opened (after it sent data). */
  acceptServer(options?: Parameters<typeof fromQuicStream>[2]): Promise<Duplex>;
  cleanup(): Promise<void>;
}

/** A QUIC loopback connection with one client stream adapted. */
async function quicSetup(
  clientOptions?: Parameters<typeof fromQuicStream>[2],
): Promise<QuicSetup> {
  const { caCert, cert, key } = await testCerts();
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({ cert, key, alpnProtocols: ALPN });
  const accepted = listener.accept();
  const clientConn = await Deno.connectQuic({
    hostname: "127.0.0.1",
    port: endpoint.addr.port,
    serverName: "localhost",
    alpnProtocols: ALPN,
    caCerts: [caCert],
  });
  const serverConn = await accepted;
  await serverConn.handshake;
  const client = fromQuicStream(
    await clientConn.createBidirectionalStream(),
    clientConn,
    { serverName: "localhost", ...clientOptions },
  );
  return {
    endpoint,
    clientConn,
    serverConn,
    client,
    async acceptServer(options) {
      const reader = serverConn.incomingBidirectionalStreams.getReader();
      const { value, done } = await reader.read();
      reader.releaseLock();
      assert.ok(!done && value);
      return fromQuicStream(value, serverConn, options);
    },
    async cleanup() {
      clientConn.close();
      serverConn.close();
      await Promise.all([clientConn.closed, serverConn.closed]);
      listener.stop();
      endpoint.close();
      clientConn.endpoint.close();
    },
  };
}

async function readAll(d: Duplex): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of d.readable) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

Deno.test("fromQuicStream over a QUIC loopback connection", async (t) => {
  await t.step("info and bytes both ways", async () => {
    const q = await quicSetup();
    const cw = q.client.writable.getWriter();
    // A QUIC stream reaches the peer with its first bytes.
    await cw.write(enc.encode("<stream:stream>"));
    const server = await q.acceptServer();
    const sr = server.readable.getReader();
    assert.equal(dec.decode((await sr.read()).value), "<stream:stream>");
    await server.writable.getWriter().write(enc.encode("<stream:features/>"));
    const cr = q.client.readable.getReader();
    assert.equal(dec.decode((await cr.read()).value), "<stream:features/>");

    for (const d of [q.client, server]) {
      assert.equal(d.info.transport, "quic");
      assert.equal(d.info.secure, true);
      assert.equal(d.info.alpn, "xmpp-client");
      assert.equal(d.info.serverName, "localhost");
      assert.equal(d.info.tlsVersion, "TLSv1.3");
      assert.equal(d.info.remoteAddr?.transport, "udp");
      assert.equal(d.info.localAddr?.transport, "udp");
    }
    assert.deepEqual(q.client.info.remoteAddr, {
      transport: "udp",
      hostname: "127.0.0.1",
      port: q.endpoint.addr.port,
    });
    assert.deepEqual(server.info.localAddr, {
      transport: "udp",
      hostname: "127.0.0.1",
      port: q.endpoint.addr.port,
    });
    assert.equal(server.info.remoteAddr?.port, q.client.info.localAddr?.port);

    q.client.close();
    server.close();
    await q.cleanup();
  });

  await t.step("1 MiB each way, then a graceful end", async () => {
    const q = await quicSetup();
    const cw = q.client.writable.getWriter();
    await cw.write(enc.encode("x"));
    const server = await q.acceptServer();
    const sw = server.writable.getWriter();
    const block = crypto.getRandomValues(new Uint8Array(65536));
    const send = async (w: WritableStreamDefaultWriter<Uint8Array>) => {
      for (let i = 0; i < 16; i++) await w.write(block);
      await w.close(); // FIN
    };
    const [, , up, down] = await Promise.all([
      send(cw),
      send(sw),
      readAll(server),
      readAll(q.client),
    ]);
    assert.equal(up.byteLength, 1 + 16 * 65536);
    assert.equal(down.byteLength, 16 * 65536);
    assert.deepEqual(up.subarray(1, 65537), block);
    assert.deepEqual(down.subarray(15 * 65536), block);
    // Both sides saw both FINs; one closes the connection.
    q.client.close();
    q.client.close();
    assert.deepEqual({ ...await q.serverConn.closed }, {
      closeCode: 0,
      reason: "",
    });
    server.close();
    server.close();
    await q.cleanup();
  });

  await t.step("half-close: the peer answers after our FIN", async () => {
    const q = await quicSetup();
    const cw = q.client.writable.getWriter();
    await cw.write(enc.encode("</stream:stream>"));
    await cw.close();
    const server = await q.acceptServer();
    assert.equal(dec.decode(await readAll(server)), "</stream:stream>");
    const sw = server.writable.getWriter();
    await sw.write(enc.encode("</stream:stream>"));
    await sw.close();
    assert.equal(dec.decode(await readAll(q.client)), "</stream:stream>");
    q.client.close();
    await q.serverConn.closed;
    server.close();
    await q.cleanup();
  });

  await t.step(
    "close: idempotent; the connection closes, the peer's read fails",
    async () => {
      const q = await quicSetup({ closeInfo: { closeCode: 7, reason: "bye" } });
      const cw = q.client.writable.getWriter();
      await cw.write(enc.encode("x"));
      const server = await q.acceptServer();
      const sr = server.readable.getReader();
      assert.equal(dec.decode((await sr.read()).value), "x");
      const pendingPeerRead = sr.read();
      const cr = q.client.readable.getReader();
      const pendingOwnRead = cr.read();
      q.client.close();
      q.client.close();
      assert.deepEqual(await pendingOwnRead, { value: undefined, done: true });
      assert.deepEqual({ ...await q.serverConn.closed }, {
        closeCode: 7,
        reason: "bye",
      });
      // A connection close is abrupt: the peer's read errors rather than ends.
      await assert.rejects(pendingPeerRead);
      await assert.rejects(cw.write(enc.encode("x")), Deno.errors.BadResource);
      server.close();
      server.close();
      await q.cleanup();
    },
  );

  await t.step(
    "closeConn: false keeps the connection for other streams",
    async () => {
      const q = await quicSetup({ closeConn: false });
      await q.client.writable.getWriter().write(enc.encode("first"));
      const server = await q.acceptServer({ closeConn: false });
      const sr = server.readable.getReader();
      assert.equal(dec.decode((await sr.read()).value), "first");
      q.client.close();
      // Deno reports the client's reset of its send side as a plain EOF.
      assert.deepEqual(await sr.read(), { value: undefined, done: true });
      // The client stopped reading (STOP_SENDING): the server's writes fail.
      const sw = server.writable.getWriter();
      await assert.rejects(async () => {
        for (let i = 0; i < 100; i++) {
          await sw.write(new Uint8Array(1000));
          await new Promise((r) => setTimeout(r, 5));
        }
      }, Deno.errors.ConnectionReset);
      // The connection lives on.
      const second = fromQuicStream(
        await q.clientConn.createBidirectionalStream(),
        q.clientConn,
      );
      const w = second.writable.getWriter();
      await w.write(enc.encode("second"));
      await w.close();
      const server2 = await q.acceptServer();
      assert.equal(dec.decode(await readAll(server2)), "second");
      server.close();
      second.close(); // closes the connection (closeConn defaults to true)
      await q.serverConn.closed;
      server2.close();
      await q.cleanup();
    },
  );

  await t.step("bad arguments", async () => {
    const q = await quicSetup();
    assert.throws(
      () => fromQuicStream({} as Deno.QuicBidirectionalStream, q.clientConn),
      TypeError,
    );
    const stream = await q.clientConn.createBidirectionalStream();
    stream.readable.getReader();
    assert.throws(() => fromQuicStream(stream, q.clientConn), TypeError);
    q.client.close();
    await q.cleanup();
  });
});

Deno.test("quic_duplex.ts imports without --unstable-net", async () => {
  const url = new URL("./quic_duplex.ts", import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(url)});
console.log(typeof m.fromQuicStream, typeof Deno.QuicEndpoint);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-lock", code],
    cwd: await Deno.makeTempDir(),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = dec.decode(out.stderr);
  assert.ok(out.success, stderr);
  assert.equal(dec.decode(out.stdout).trim(), "function undefined");
});
