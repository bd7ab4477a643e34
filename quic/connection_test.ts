import assert from "node:assert/strict";
import { Element } from "../stream/element.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { startUdpRelay } from "../examples/_udp_relay.ts";
import { QuicConnection, quicConnectionOf } from "./connection.ts";
import { openQuicConnection } from "./dial.ts";
import { QuicError } from "./quic_error.ts";
import {
  loopbackCandidate,
  testListener,
  testPki,
  trustTestCa,
} from "./_test_util.ts";

const CLIENT_NS = "jabber:client";

function message(id: string): Element {
  return new Element("message", CLIENT_NS, { id }, [
    new Element("body", CLIENT_NS, {}, [id]),
  ]);
}

/** Accept a stream, send features, echo every stanza, close when the peer does. */
async function echo(xs: XmlStream): Promise<number> {
  await xs.sendFeatures([]);
  let n = 0;
  for await (const el of xs) {
    n++;
    await xs.send(el);
  }
  await xs.close();
  return n;
}

/** Open a stream, exchange `count` stanzas tagged with `tag`, close. */
async function talk(xs: XmlStream, tag: string, count: number): Promise<void> {
  await xs.readFeatures();
  for (let i = 0; i < count; i++) {
    await xs.send(message(`${tag}-${i}`));
    const back = await xs.read();
    assert.equal(back?.attrs.id, `${tag}-${i}`);
  }
  await xs.close();
}

Deno.test("QuicConnection: concurrent XML streams both ways on one connection", async () => {
  const serverConns: QuicConnection[] = [];
  const listener = testListener({ onConnection: (c) => serverConns.push(c) });
  const conn = await openQuicConnection(loopbackCandidate(listener.addr.port), {
    ...trustTestCa(),
    maxIncomingStreams: 4,
  });
  assert.equal(conn.role, "client");
  assert.equal(conn.alpn, "xmpp-client");
  assert.equal(conn.serverName, "localhost");
  assert.equal(conn.handshakeComplete, true);

  // Server side: echo every stream the client opens.
  const served: Promise<number>[] = [];
  const serving = (async () => {
    for (let i = 0; i < 3; i++) {
      const duplex = await listener.accept();
      assert.equal(duplex.info.transport, "quic");
      assert.equal(duplex.info.alpn, "xmpp-client");
      assert.equal(duplex.info.serverName, "localhost");
      assert.equal(quicConnectionOf(duplex), serverConns[0]);
      served.push(
        XmlStream.accept(duplex, { domains: ["localhost"] }).then(echo),
      );
    }
  })();

  // Client side: three streams (say, three accounts) at once.
  const clientStreams = await Promise.all(
    [0, 1, 2].map(async () =>
      XmlStream.open(await conn.openStream(), { to: "localhost" })
    ),
  );
  assert.equal(conn.streams, 3);
  await serving;
  assert.equal(serverConns.length, 1, "one QUIC connection for all streams");
  const server = serverConns[0];
  assert.equal(server.role, "server");
  assert.equal(server.serverName, "localhost");

  // The other direction: the server opens two streams to the client.
  const fromServer = Promise.all(
    [0, 1].map(async (i) => {
      const xs = await XmlStream.open(await server.openStream(), {
        to: "client.test",
      });
      await talk(xs, `s${i}`, 5);
    }),
  );
  const acceptedByClient = Promise.all(
    [0, 1].map(async () => {
      const xs = await XmlStream.accept(await conn.acceptStream(), {
        domains: ["client.test"],
      });
      return await echo(xs);
    }),
  );

  await Promise.all([
    ...clientStreams.map((xs, i) => talk(xs, `c${i}`, 10)),
    fromServer,
  ]);
  assert.deepEqual(await acceptedByClient, [5, 5]);
  assert.deepEqual(await Promise.all(served), [10, 10, 10]);
  assert.equal(serverConns.length, 1);

  await conn.close();
  assert.deepEqual(await conn.closed, { closeCode: 0, reason: "" });
  const serverClosed = await server.closed;
  assert.equal(serverClosed.closeCode, 0);
  assert.equal(conn.streams, 0);
  await assert.rejects(
    conn.openStream(),
    (e) => e instanceof QuicError && e.code === "closed",
  );
  await listener.close();
});

Deno.test("QuicConnection: the peer's stream limit", async (t) => {
  const listener = testListener({ maxStreams: 2 });
  const conn = await openQuicConnection(
    loopbackCandidate(listener.addr.port),
    trustTestCa(),
  );
  const enc = new TextEncoder();
  const a = await conn.openStream();
  const b = await conn.openStream();
  await t.step("a third stream fails with stream-limit", async () => {
    await assert.rejects(conn.openStream(), (e) => {
      assert.ok(e instanceof QuicError);
      assert.equal(e.code, "stream-limit");
      assert.match(e.message, /allows no more concurrent streams/);
      return true;
    });
  });
  await t.step("wait: true gets one once a stream has closed", async () => {
    for (const d of [a, b]) {
      await d.writable.getWriter().write(enc.encode("<x>"));
    }
    const sa = await listener.accept();
    const sb = await listener.accept();
    const waiting = conn.openStream({ wait: true });
    a.close();
    sa.close();
    const c = await waiting;
    await assert.rejects(
      conn.openStream({ wait: true, signal: AbortSignal.abort() }),
      DOMException,
    );
    for (const d of [b, sb, c]) d.close();
  });
  await conn.close();
  await listener.close();
});

Deno.test("QuicConnection: unidirectional streams are stopped", async () => {
  // Raw Deno QUIC on both sides, default limits (100 unidirectional streams).
  const pki = testPki();
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const raw = endpoint.listen({
    ...pki.localhost,
    alpnProtocols: ["xmpp-client"],
  });
  const accepted = raw.accept();
  const client = await Deno.connectQuic({
    hostname: "127.0.0.1",
    port: endpoint.addr.port,
    serverName: "localhost",
    alpnProtocols: ["xmpp-client"],
    caCerts: [pki.ca],
  });
  const server = new QuicConnection(await accepted, { role: "server" });
  await server.handshake;
  const uni = await client.createUnidirectionalStream();
  const w = uni.getWriter();
  await assert.rejects(async () => {
    for (let i = 0; i < 200; i++) {
      await w.write(new Uint8Array(100));
      await new Promise((r) => setTimeout(r, 5));
    }
  }, Deno.errors.ConnectionReset);
  client.close();
  await server.closed;
  await server.close();
  raw.stop();
  endpoint.close();
  client.endpoint.close();
});

Deno.test("QuicConnection: NAT rebinding mid-connection, the XML stream carries on", async () => {
  const serverConns: QuicConnection[] = [];
  const listener = testListener({ onConnection: (c) => serverConns.push(c) });
  const relay = startUdpRelay(listener.addr.port, { rtt: 4 });
  const conn = await openQuicConnection(
    loopbackCandidate(relay.port),
    trustTestCa(),
  );
  const [client, server] = await Promise.all([
    XmlStream.open(await conn.openStream(), { to: "localhost" }),
    listener.accept().then((d) => XmlStream.accept(d)),
  ]);
  await server.sendFeatures([]);
  await client.readFeatures();
  const serverConn = serverConns[0];
  const before = serverConn.remoteAddr!.port;
  assert.deepEqual(relay.upstreamPorts(), [before]);
  assert.equal(server.info.remoteAddr?.port, before);

  for (let round = 0; round < 3; round++) {
    const [port] = relay.rebind(); // the NAT forgot us: new source port
    assert.notEqual(port, before);
    for (let i = 0; i < 5; i++) {
      await client.send(message(`r${round}-${i}`));
      const got = await server.read();
      assert.equal(got?.attrs.id, `r${round}-${i}`);
      await server.send(message(`back-${round}-${i}`));
      assert.equal((await client.read())?.attrs.id, `back-${round}-${i}`);
    }
    // The server follows the client to its new address (path validation).
    assert.equal(serverConn.remoteAddr!.port, port);
    assert.equal(server.info.remoteAddr?.port, port, "info is live");
  }
  // The client's own view did not change: it still talks to the relay.
  assert.equal(conn.remoteAddr!.port, relay.port);

  await Promise.all([client.close(), server.read().then(() => server.close())]);
  await conn.close();
  await listener.close();
  await relay.close();
});

Deno.test("QuicConnection: preferredAddressV4 is announced; Deno's client stays on its path", async () => {
  // A free UDP port for the listener, so it can announce its own address.
  const probe = Deno.listenDatagram({
    hostname: "127.0.0.1",
    port: 0,
    transport: "udp",
  });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const listener = testListener({
    port,
    preferredAddressV4: `127.0.0.1:${port}`,
  });
  // The client reaches the listener through the relay first.
  const relay = startUdpRelay(port);
  const conn = await openQuicConnection(
    loopbackCandidate(relay.port),
    trustTestCa(),
  );
  const [client, server] = await Promise.all([
    XmlStream.open(await conn.openStream(), { to: "localhost" }),
    listener.accept().then((d) => XmlStream.accept(d)),
  ]);
  await server.sendFeatures([]);
  await client.readFeatures();
  await new Promise((r) => setTimeout(r, 50));
  const before = relay.datagrams();
  await client.send(message("via-relay"));
  assert.equal((await server.read())?.attrs.id, "via-relay");
  // quinn clients do not move to a server's preferred address (measured):
  // the datagrams still go through the relay.
  assert.ok(relay.datagrams() > before);
  assert.equal(conn.remoteAddr!.port, relay.port);
  await Promise.all([client.close(), server.read().then(() => server.close())]);
  await conn.close();
  await listener.close();
  await relay.close();
});

Deno.test("QuicConnection: bad arguments", () => {
  assert.throws(
    () => new QuicConnection({} as Deno.QuicConn, { role: "client" }),
    TypeError,
  );
  assert.throws(
    () =>
      new QuicConnection(
        { createBidirectionalStream() {} } as unknown as Deno.QuicConn,
        { role: "peer" as "client" },
      ),
    TypeError,
  );
});
