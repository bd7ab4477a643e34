import assert from "node:assert/strict";
import { fromConn, fromTlsConn } from "./conn_duplex.ts";
import type { Duplex } from "./duplex.ts";
import { testCerts } from "./_test_certs.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Read everything until EOF. */
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

/** A connected TCP pair on loopback, both ends raw. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  return [client, await accepted];
}

Deno.test("fromConn over TCP loopback", async (t) => {
  await t.step("info fields", async () => {
    const [c, s] = await tcpPair();
    const client = fromConn(c, { serverName: "example.net" });
    const server = fromConn(s, { info: { alpn: null } });
    assert.equal(client.info.transport, "tcp");
    assert.equal(client.info.secure, false);
    assert.equal(client.info.alpn, undefined);
    assert.equal(client.info.serverName, "example.net");
    assert.deepEqual(client.info.localAddr, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: c.localAddr.port,
    });
    assert.deepEqual(client.info.remoteAddr, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: s.localAddr.port,
    });
    assert.deepEqual(server.info.remoteAddr, client.info.localAddr);
    assert.deepEqual(server.info.localAddr, client.info.remoteAddr);
    assert.equal(server.info.alpn, null);
    client.close();
    server.close();
  });

  await t.step("bytes both ways", async () => {
    const [c, s] = await tcpPair();
    const client = fromConn(c);
    const server = fromConn(s);
    const cw = client.writable.getWriter();
    const sw = server.writable.getWriter();
    const cr = client.readable.getReader();
    const sr = server.readable.getReader();
    await cw.write(enc.encode("<stream:stream>"));
    assert.equal(dec.decode((await sr.read()).value), "<stream:stream>");
    await sw.write(enc.encode("<stream:features/>"));
    assert.equal(dec.decode((await cr.read()).value), "<stream:features/>");
    client.close();
    server.close();
  });

  await t.step("1 MiB each way at once, with half-close", async () => {
    const [c, s] = await tcpPair();
    const client = fromConn(c, { readSize: 4096 });
    const server = fromConn(s);
    const up = crypto.getRandomValues(new Uint8Array(65536));
    const down = crypto.getRandomValues(new Uint8Array(65536));
    const send = async (d: Duplex, data: Uint8Array) => {
      const w = d.writable.getWriter();
      for (let i = 0; i < 16; i++) await w.write(data);
      await w.close();
    };
    const [, , gotUp, gotDown] = await Promise.all([
      send(client, up),
      send(server, down),
      readAll(server),
      readAll(client),
    ]);
    assert.equal(gotUp.byteLength, 16 * 65536);
    assert.equal(gotDown.byteLength, 16 * 65536);
    assert.deepEqual(gotUp.subarray(15 * 65536), up);
    assert.deepEqual(gotDown.subarray(0, 65536), down);
    // Both directions finished: the conns were closed; close() is a no-op.
    client.close();
    server.close();
  });

  await t.step("half-close: the peer can answer after our EOF", async () => {
    const [c, s] = await tcpPair();
    const client = fromConn(c);
    const server = fromConn(s);
    const cw = client.writable.getWriter();
    await cw.write(enc.encode("</stream:stream>"));
    await cw.close();
    assert.equal(dec.decode(await readAll(server)), "</stream:stream>");
    // The server's read side has ended; its write side still works.
    const sw = server.writable.getWriter();
    await sw.write(enc.encode("</stream:stream>"));
    await sw.close();
    assert.equal(dec.decode(await readAll(client)), "</stream:stream>");
    // Both sides released their conns; the raw conns are gone.
    assert.throws(() => c.close(), Deno.errors.BadResource);
    assert.throws(() => s.close(), Deno.errors.BadResource);
    client.close();
    server.close();
  });

  await t.step("close: idempotent, peer sees EOF, writes fail", async () => {
    const [c, s] = await tcpPair();
    const client = fromConn(c);
    const server = fromConn(s);
    const sr = server.readable.getReader();
    const pendingPeerRead = sr.read();
    const cr = client.readable.getReader();
    const pendingOwnRead = cr.read();
    client.close();
    client.close();
    assert.deepEqual(await pendingPeerRead, { value: undefined, done: true });
    assert.deepEqual(await pendingOwnRead, { value: undefined, done: true });
    await assert.rejects(
      client.writable.getWriter().write(enc.encode("x")),
      Deno.errors.BadResource,
    );
    server.close();
    server.close();
  });

  await t.step("close after the conn was closed elsewhere", async () => {
    const [c, s] = await tcpPair();
    const client = fromConn(c);
    c.close();
    client.close();
    client.close();
    s.close();
  });

  await t.step(
    "sets no-delay on TCP (Nagle + delayed ACK stall ~42 ms)",
    async () => {
      // The stall itself is measured by benchmarks, not asserted on timing here.
      const [c, s] = await tcpPair();
      const calls: (boolean | undefined)[] = [];
      for (const conn of [c, s]) {
        const original = conn.setNoDelay.bind(conn);
        conn.setNoDelay = (value?: boolean) => {
          calls.push(value);
          original(value);
        };
      }
      const client = fromConn(c);
      assert.deepEqual(calls, [true]);
      const server = fromConn(s, { noDelay: false });
      assert.deepEqual(calls, [true], "noDelay: false leaves the socket alone");
      client.close();
      server.close();
    },
  );

  await t.step("rejects a bad readSize", async () => {
    const [c, s] = await tcpPair();
    assert.throws(() => fromConn(c, { readSize: 0 }), RangeError);
    assert.throws(() => fromConn(c, { readSize: 1.5 }), RangeError);
    await assert.rejects(
      fromTlsConn(c as unknown as Deno.TlsConn),
      TypeError,
    );
    c.close();
    s.close();
  });
});

Deno.test("fromTlsConn over TLS loopback", async (t) => {
  const { caCert, cert, key } = await testCerts();

  await t.step("alpn, info and bytes both ways", async () => {
    using listener = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert,
      key,
      alpnProtocols: ["xmpp-client"],
    });
    const accepted = listener.accept();
    const tlsClient = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: listener.addr.port,
      caCerts: [caCert],
      alpnProtocols: ["xmpp-client"],
      serverName: "localhost",
    } as Deno.ConnectTlsOptions);
    const [client, server] = await Promise.all([
      fromTlsConn(tlsClient, { serverName: "localhost" }),
      accepted.then((conn) => fromTlsConn(conn)),
    ]);
    for (const d of [client, server]) {
      assert.equal(d.info.transport, "tls");
      assert.equal(d.info.secure, true);
      assert.equal(d.info.alpn, "xmpp-client");
      assert.equal(d.info.remoteAddr?.transport, "tcp");
    }
    assert.equal(client.info.serverName, "localhost");
    assert.equal(client.info.remoteAddr?.port, listener.addr.port);
    assert.equal(server.info.localAddr?.port, listener.addr.port);

    const cw = client.writable.getWriter();
    await cw.write(enc.encode("ping"));
    await cw.close(); // close_notify; the server can still answer
    assert.equal(dec.decode(await readAll(server)), "ping");
    const sw = server.writable.getWriter();
    await sw.write(enc.encode("pong"));
    await sw.close();
    assert.equal(dec.decode(await readAll(client)), "pong");
    client.close();
    server.close();
  });

  await t.step(
    "no ALPN negotiated gives null; fromConn leaves it unset",
    async () => {
      using listener = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert,
        key,
      });
      const accepted = listener.accept();
      const tcp = await Deno.connect({
        hostname: "127.0.0.1",
        port: listener.addr.port,
      });
      tcp.setNoDelay(true);
      const tlsClient = await Deno.startTls(tcp, {
        hostname: "localhost",
        caCerts: [caCert],
      });
      const serverConn = await accepted;
      const [client] = await Promise.all([
        fromTlsConn(tlsClient),
        serverConn.handshake(),
      ]);
      const server = fromConn(serverConn);
      assert.equal(client.info.alpn, null);
      assert.equal(server.info.alpn, undefined);
      assert.equal(server.info.transport, "tls");
      client.close();
      server.close();
    },
  );
});
