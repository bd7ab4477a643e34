import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { fromNodeDuplex } from "./node_duplex.ts";
import type { Duplex } from "./duplex.ts";
import { testCerts } from "./_test_certs.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function closed(socket: net.Socket): Promise<void> {
  return socket.closed
    ? Promise.resolve()
    : new Promise((resolve) => socket.once("close", () => resolve()));
}

/** A node:net pair on loopback. */
async function netPair(): Promise<
  { server: net.Server; client: net.Socket; peer: net.Socket }
> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const port = await listen(server);
  const client = net.connect({ port, host: "127.0.0.1" });
  await new Promise((r) => client.once("connect", r));
  return { server, client, peer: await accepted };
}

/** A node:tls pair over node:net on loopback. */
async function tlsPair(): Promise<
  { server: tls.Server; client: tls.TLSSocket; peer: tls.TLSSocket }
> {
  const { caCert, cert, key } = await testCerts();
  const server = tls.createServer({
    key,
    cert,
    ALPNProtocols: ["xmpp-client"],
  });
  const accepted = new Promise<tls.TLSSocket>((r) =>
    server.once("secureConnection", r)
  );
  const port = await listen(server);
  const client = tls.connect({
    port,
    host: "127.0.0.1",
    servername: "localhost",
    ca: caCert,
    ALPNProtocols: ["xmpp-client"],
  });
  await new Promise((r) => client.once("secureConnect", r));
  return { server, client, peer: await accepted };
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

Deno.test("fromNodeDuplex over node:tls", async (t) => {
  await t.step("info from a TLSSocket", async () => {
    const { server, client, peer } = await tlsPair();
    const c = fromNodeDuplex(client);
    const s = fromNodeDuplex(peer);
    assert.equal(c.info.transport, "tls");
    assert.equal(c.info.secure, true);
    assert.equal(c.info.alpn, "xmpp-client");
    assert.equal(c.info.serverName, "localhost");
    assert.equal(c.info.tlsVersion, "TLSv1.3");
    assert.equal(typeof c.info.cipher, "string");
    assert.match(c.info.cipher!, /^TLS_/);
    const pc = c.info.peerCertificate;
    assert.ok(pc, "client sees the server certificate");
    assert.ok(pc.raw instanceof Uint8Array);
    assert.equal(pc.raw[0], 0x30); // DER SEQUENCE
    assert.ok(pc.dnsNames?.includes("localhost"), `${pc.dnsNames}`);
    assert.ok(pc.dnsNames!.every((n) => !n.includes(":")), "only DNS names");
    assert.match(pc.subject ?? "", /(^|, )CN=localhost$/);
    assert.ok(pc.validTo instanceof Date);
    assert.ok(pc.validTo.getTime() > Date.now());
    assert.deepEqual(c.info.remoteAddr, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: (server.address() as net.AddressInfo).port,
    });
    assert.deepEqual(s.info.remoteAddr, c.info.localAddr);
    assert.deepEqual(s.info.localAddr, c.info.remoteAddr);

    assert.equal(s.info.transport, "tls");
    assert.equal(s.info.secure, true);
    assert.equal(s.info.alpn, "xmpp-client");
    assert.equal(s.info.serverName, "localhost");
    assert.equal(s.info.tlsVersion, "TLSv1.3");
    // No client certificate was sent.
    assert.equal(s.info.peerCertificate, undefined);

    c.close();
    s.close();
    await Promise.all([closed(client), closed(peer), closeServer(server)]);
  });

  await t.step("info is filled in once the handshake completes", async () => {
    const { caCert, cert, key } = await testCerts();
    const server = tls.createServer({ key, cert });
    const accepted = new Promise<tls.TLSSocket>((r) =>
      server.once("secureConnection", r)
    );
    const port = await listen(server);
    const client = tls.connect({
      port,
      host: "127.0.0.1",
      servername: "localhost",
      ca: caCert,
    });
    const c = fromNodeDuplex(client, { info: { serverName: "override" } });
    assert.equal(c.info.transport, "tls");
    await new Promise((r) => client.once("secureConnect", r));
    assert.equal(c.info.tlsVersion, "TLSv1.3");
    assert.equal(c.info.alpn, null); // none offered
    assert.ok(c.info.peerCertificate?.dnsNames?.includes("localhost"));
    assert.equal(c.info.serverName, "override");
    const peer = await accepted;
    c.close();
    peer.destroy();
    await Promise.all([closed(client), closed(peer), closeServer(server)]);
  });

  await t.step("bytes both ways, half-close", async () => {
    const { server, client, peer } = await tlsPair();
    const c = fromNodeDuplex(client);
    const s = fromNodeDuplex(peer);
    const cw = c.writable.getWriter();
    const sw = s.writable.getWriter();
    const cr = c.readable.getReader();
    const sr = s.readable.getReader();
    await cw.write(enc.encode("<stream:stream>"));
    assert.equal(dec.decode((await sr.read()).value), "<stream:stream>");
    await sw.write(enc.encode("<stream:features/>"));
    assert.equal(dec.decode((await cr.read()).value), "<stream:features/>");
    // 1 MiB each way at once, through the pausing/resuming backpressure.
    const block = crypto.getRandomValues(new Uint8Array(65536));
    const total = 16 * block.byteLength;
    const send = async (w: WritableStreamDefaultWriter<Uint8Array>) => {
      for (let i = 0; i < 16; i++) await w.write(block);
    };
    const receive = async (r: ReadableStreamDefaultReader<Uint8Array>) => {
      const out = new Uint8Array(total);
      let off = 0;
      while (off < total) {
        const { value, done } = await r.read();
        assert.ok(!done, `EOF after ${off} bytes`);
        out.set(value, off);
        off += value.byteLength;
      }
      return out;
    };
    const [, , up, down] = await Promise.all([
      send(cw),
      send(sw),
      receive(sr),
      receive(cr),
    ]);
    assert.deepEqual(up.subarray(65536 * 3, 65536 * 4), block);
    assert.deepEqual(down.subarray(65536 * 15), block);
    // Close once the readers are idle (see the known node:tls issue). With
    // node's default allowHalfOpen: false the server socket ends its side
    // when it sees our end, so both readers reach EOF.
    await cw.close();
    assert.deepEqual(await sr.read(), { value: undefined, done: true });
    assert.deepEqual(await cr.read(), { value: undefined, done: true });
    // Both directions done: the sockets were destroyed; close() is a no-op.
    await Promise.all([closed(client), closed(peer)]);
    c.close();
    s.close();
    await closeServer(server);
  });

  await t.step(
    "highWaterMark Infinity: bulk then EOF while not reading",
    async () => {
      const { server, client, peer } = await tlsPair();
      const c = fromNodeDuplex(client, { highWaterMark: Infinity });
      const s = fromNodeDuplex(peer);
      const sw = s.writable.getWriter();
      const total = 1024 * 1024;
      await sw.write(new Uint8Array(total).fill(1));
      await sw.close();
      await new Promise((r) => setTimeout(r, 50));
      const got = await readAll(c);
      assert.equal(got.byteLength, total);
      c.close();
      s.close();
      await Promise.all([closed(client), closed(peer), closeServer(server)]);
    },
  );

  await t.step("close: idempotent, peer sees EOF, writes fail", async () => {
    const { server, client, peer } = await tlsPair();
    const c = fromNodeDuplex(client);
    const s = fromNodeDuplex(peer);
    const sr = s.readable.getReader();
    const pendingPeerRead = sr.read();
    const cr = c.readable.getReader();
    const pendingOwnRead = cr.read();
    c.close();
    c.close();
    assert.deepEqual(await pendingOwnRead, { value: undefined, done: true });
    assert.deepEqual(await pendingPeerRead, { value: undefined, done: true });
    await assert.rejects(c.writable.getWriter().write(enc.encode("x")));
    s.close();
    s.close();
    await Promise.all([closed(client), closed(peer), closeServer(server)]);
  });
});

Deno.test("fromNodeDuplex over node:net", async (t) => {
  await t.step("info, bytes both ways", async () => {
    const { server, client, peer } = await netPair();
    const c = fromNodeDuplex(client);
    const s = fromNodeDuplex(peer);
    assert.equal(c.info.transport, "tcp");
    assert.equal(c.info.secure, false);
    assert.equal(c.info.alpn, undefined);
    assert.equal(c.info.remoteAddr?.hostname, "127.0.0.1");
    assert.equal(
      c.info.remoteAddr?.port,
      (server.address() as net.AddressInfo).port,
    );
    assert.deepEqual(s.info.remoteAddr, c.info.localAddr);
    const cw = c.writable.getWriter();
    await cw.write(enc.encode("ping"));
    assert.equal(
      dec.decode((await s.readable.getReader().read()).value),
      "ping",
    );
    await s.writable.getWriter().write(enc.encode("pong"));
    assert.equal(
      dec.decode((await c.readable.getReader().read()).value),
      "pong",
    );
    c.close();
    s.close();
    await Promise.all([closed(client), closed(peer), closeServer(server)]);
  });

  await t.step("half-close with allowHalfOpen sockets", async () => {
    const server = net.createServer({ allowHalfOpen: true });
    const accepted = new Promise<net.Socket>((r) =>
      server.once("connection", r)
    );
    const port = await listen(server);
    const client = net.connect({
      port,
      host: "127.0.0.1",
      allowHalfOpen: true,
    });
    await new Promise((r) => client.once("connect", r));
    const peer = await accepted;
    const c = fromNodeDuplex(client);
    const s = fromNodeDuplex(peer);
    const cw = c.writable.getWriter();
    await cw.write(enc.encode("</stream:stream>"));
    await cw.close();
    assert.equal(dec.decode(await readAll(s)), "</stream:stream>");
    // The server can still answer after our end.
    const sw = s.writable.getWriter();
    await sw.write(enc.encode("</stream:stream>"));
    await sw.close();
    assert.equal(dec.decode(await readAll(c)), "</stream:stream>");
    await Promise.all([closed(client), closed(peer), closeServer(server)]);
    c.close();
    s.close();
  });

  await t.step("backpressure pauses the socket", async () => {
    const { server, client, peer } = await netPair();
    const highWaterMark = 16384;
    const c = fromNodeDuplex(client, { highWaterMark });
    const s = fromNodeDuplex(peer);
    const total = 16 * 1024 * 1024;
    const block = new Uint8Array(65536).fill(7);
    let sent = 0;
    const w = s.writable.getWriter();
    const sending = (async () => {
      while (sent < total) {
        await w.write(block);
        sent += block.byteLength;
      }
      await w.close();
    })();
    // Nobody reads c: node must stop pulling from the kernel.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(client.isPaused(), "socket paused");
    assert.ok(sent < total, "the sender is held back");
    assert.ok(
      client.bytesRead <= highWaterMark + 1024 * 1024,
      `read ${client.bytesRead} bytes from the kernel with no reader`,
    );
    const got = await readAll(c);
    await sending;
    assert.equal(got.byteLength, total);
    assert.ok(got.every((b) => b === 7));
    c.close();
    s.close();
    await Promise.all([closed(client), closed(peer), closeServer(server)]);
  });

  await t.step("socket errors error the readable, no crash", async () => {
    // A port nothing listens on.
    const probe = net.createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const socket = net.connect({ port, host: "127.0.0.1" });
    const d = fromNodeDuplex(socket);
    await assert.rejects(
      d.readable.getReader().read(),
      (e: Error & { code?: string }) => e.code === "ECONNREFUSED",
    );
    await assert.rejects(d.writable.getWriter().write(enc.encode("x")));
    d.close();
    d.close();
    await closed(socket);
  });

  await t.step("bad arguments", () => {
    assert.throws(
      () => fromNodeDuplex({} as unknown as net.Socket),
      TypeError,
    );
    const socket = new net.Socket();
    assert.throws(
      () => fromNodeDuplex(socket, { highWaterMark: -1 }),
      RangeError,
    );
    socket.destroy();
  });
});
