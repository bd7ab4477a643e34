import assert from "node:assert/strict";
import { Element } from "../stream/element.ts";
import { negotiateClient, negotiateServer } from "../stream/negotiate.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { MemoryCredentialStore } from "../sasl/credentials.ts";
import {
  bindClient,
  bindServer,
  saslClient,
  saslServer,
} from "../sasl/stream_features.ts";
import { TlsError } from "../tls/tls_error.ts";
import { startUdpRelay } from "../examples/_udp_relay.ts";
import type { QuicConnection } from "./connection.ts";
import { quicConnectionOf } from "./connection.ts";
import { dialQuic, openQuicConnection } from "./dial.ts";
import { createQuicEndpoint } from "./endpoint.ts";
import {
  loopbackCandidate,
  testListener,
  testPki,
  trustTestCa,
} from "./_test_util.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("dialQuic: login and binding over QUIC with the session layer", async () => {
  const store = new MemoryCredentialStore();
  await store.setPassword("alice", "secret");
  const listener = testListener({ domains: ["localhost"] });
  const served = (async () => {
    const duplex = await listener.accept();
    const xs = await XmlStream.accept(duplex, { domains: ["localhost"] });
    const r = await negotiateServer(xs, {
      features: [saslServer({ store }), bindServer({ domain: "localhost" })],
    });
    assert.equal(r.state.secure, true, "QUIC counts as secure");
    for await (const el of r.stream) await r.stream.send(el);
    await r.stream.close();
    return r.state;
  })();

  const duplex = await dialQuic(
    loopbackCandidate(listener.addr.port),
    trustTestCa(),
  );
  assert.equal(duplex.info.transport, "quic");
  assert.equal(duplex.info.secure, true);
  assert.equal(duplex.info.alpn, "xmpp-client");
  assert.equal(duplex.info.serverName, "localhost");
  assert.equal(duplex.info.tlsVersion, "TLSv1.3");
  assert.equal(duplex.info.remoteAddr?.port, listener.addr.port);
  const xs = await XmlStream.open(duplex, { to: "localhost" });
  const { stream, state } = await negotiateClient(xs, {
    features: [
      saslClient({ username: "alice", password: "secret" }),
      bindClient({ resource: "quic" }),
    ],
    require: ["secure", "authenticated", "bound"],
  });
  assert.equal(state.jid, "alice@localhost/quic");
  await stream.send(new Element("message", "jabber:client", { id: "m1" }));
  assert.equal((await stream.read())?.attrs.id, "m1");
  const conn = quicConnectionOf(duplex)!;
  await stream.close();
  // dialQuic's connection closes with its last stream.
  assert.deepEqual(await conn.closed, { closeCode: 0, reason: "" });
  assert.equal((await served).jid, "alice@localhost/quic");
  await listener.close();
});

Deno.test("dialQuic: refusals", async (t) => {
  await t.step("ALPN mismatch: a server offering only h3", async () => {
    const errors: Error[] = [];
    const listener = testListener({
      alpn: ["h3"],
      onError: (e) => errors.push(e),
    });
    await assert.rejects(
      dialQuic(loopbackCandidate(listener.addr.port), trustTestCa()),
      (e) => {
        assert.ok(e instanceof TlsError, String(e));
        assert.equal(e.code, "alpn-mismatch");
        assert.equal(e.serverName, "localhost");
        assert.match(e.message, /refused ALPN "xmpp-client"/);
        assert.match(e.message, /no_application_protocol/);
        return true;
      },
    );
    await listener.close();
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as TlsError).code, "alpn-mismatch");
  });

  await t.step("ALPN mismatch: xmpp-server to a c2s-only server", async () => {
    const listener = testListener({ alpn: ["xmpp-client"] });
    await assert.rejects(
      dialQuic(
        loopbackCandidate(listener.addr.port, { alpn: "xmpp-server" }),
        trustTestCa(),
      ),
      (e) => e instanceof TlsError && e.code === "alpn-mismatch",
    );
    await listener.close();
  });

  await t.step(
    "wrong certificate: other.test's leaf for localhost",
    async () => {
      const listener = testListener({ certificate: testPki().other });
      await assert.rejects(
        dialQuic(loopbackCandidate(listener.addr.port), trustTestCa()),
        (e) => {
          assert.ok(e instanceof TlsError, String(e));
          assert.equal(e.code, "name-mismatch");
          assert.match(e.message, /not valid for localhost/);
          assert.match(e.message, /only valid for other\.test/);
          return true;
        },
      );
      await listener.close();
    },
  );

  await t.step("untrusted certificate: the test CA not trusted", async () => {
    const listener = testListener();
    await assert.rejects(
      dialQuic(loopbackCandidate(listener.addr.port), { systemCa: false }),
      (e) => {
        assert.ok(e instanceof TlsError, String(e));
        assert.equal(e.code, "untrusted-certificate");
        assert.match(e.message, /UnknownIssuer/);
        return true;
      },
    );
    await listener.close();
  });

  await t.step(
    "SNI not served: the connection is closed with the reason",
    async () => {
      const errors: Error[] = [];
      const listener = testListener({
        domains: ["localhost"],
        onError: (e) => errors.push(e),
      });
      // The certificate also names example.test, but the server does not serve it.
      const duplex = await dialQuic(
        loopbackCandidate(listener.addr.port, { serverName: "example.test" }),
        trustTestCa(),
      );
      await assert.rejects(
        XmlStream.open(duplex, { to: "example.test" }),
        (e) => {
          assert.match(String(e), /unknown-server-name/);
          assert.match(String(e), /example\.test/);
          return true;
        },
      );
      await quicConnectionOf(duplex)!.closed;
      await listener.close();
      assert.equal((errors[0] as TlsError).code, "unknown-server-name");
    },
  );

  await t.step("nothing answers: handshake-timeout", async () => {
    const hole = Deno.listenDatagram({
      hostname: "127.0.0.1",
      port: 0,
      transport: "udp",
    });
    const port = (hole.addr as Deno.NetAddr).port;
    const started = performance.now();
    await assert.rejects(
      dialQuic(loopbackCandidate(port), { ...trustTestCa(), timeout: 300 }),
      (e) => {
        assert.ok(e instanceof TlsError, String(e));
        assert.equal(e.code, "handshake-timeout");
        assert.match(e.message, /within 300 ms/);
        return true;
      },
    );
    assert.ok(performance.now() - started < 2000);
    hole.close();
  });

  await t.step("abort signal", async () => {
    const hole = Deno.listenDatagram({
      hostname: "127.0.0.1",
      port: 0,
      transport: "udp",
    });
    const ac = new AbortController();
    const dial = dialQuic(loopbackCandidate((hole.addr as Deno.NetAddr).port), {
      ...trustTestCa(),
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(new Error("stop")), 50);
    await assert.rejects(dial, /stop/);
    await assert.rejects(
      dialQuic(loopbackCandidate(1), { signal: AbortSignal.abort() }),
      DOMException,
    );
    hole.close();
  });
});

Deno.test("dialQuic: bad arguments", async () => {
  const c = loopbackCandidate(4433);
  await assert.rejects(
    dialQuic({ ...c, transport: "directtls" }),
    TypeError,
  );
  await assert.rejects(dialQuic({ ...c, serverName: "127.0.0.1" }), TypeError);
  await assert.rejects(
    dialQuic({ ...c, alpn: "h3" as "xmpp-client" }),
    TypeError,
  );
  await assert.rejects(dialQuic(c, { port: 70000 }), RangeError);
  await assert.rejects(dialQuic(c, { timeout: 0 }), RangeError);
  await assert.rejects(
    dialQuic({ ...c, pins: ["AAAA"] }),
    (e) =>
      e instanceof Deno.errors.NotSupported &&
      /does not expose the peer certificate/.test(e.message),
  );
  await assert.rejects(dialQuic(null as never), TypeError);
});

/** Time from dialing to `<stream:features/>`, and the connection. */
async function timeToFeatures(
  port: number,
  endpoint: Deno.QuicEndpoint,
  zeroRtt: boolean,
): Promise<{ ms: number; early: boolean; conn: QuicConnection }> {
  const started = performance.now();
  const conn = await openQuicConnection(loopbackCandidate(port), {
    ...trustTestCa(),
    endpoint,
    zeroRtt,
  });
  const early = !conn.handshakeComplete;
  const xs = await XmlStream.open(await conn.openStream(), { to: "localhost" });
  await xs.readFeatures();
  const ms = performance.now() - started;
  await xs.close();
  await conn.close();
  return { ms, early, conn };
}

/** Serve features to every stream and wait for the client to close. */
function serveFeatures(
  listener: { accept(): Promise<import("../stream/duplex.ts").Duplex> },
) {
  return (async () => {
    const all: Promise<void>[] = [];
    for (;;) {
      let duplex;
      try {
        duplex = await listener.accept();
      } catch {
        break;
      }
      all.push(
        (async () => {
          const xs = await XmlStream.accept(duplex, { domains: ["localhost"] });
          await xs.sendFeatures([]);
          while ((await xs.read()) !== null) { /* until the client closes */ }
          await xs.close();
        })().catch(() => {}),
      );
    }
    await Promise.all(all);
  })();
}

Deno.test("0-RTT: one round trip to features, two without (through a 150 ms RTT relay)", async () => {
  const listener = testListener({ zeroRtt: true });
  const serving = serveFeatures(listener);
  const relay = startUdpRelay(listener.addr.port, { rtt: 150 });
  const endpoint = createQuicEndpoint({ hostname: "127.0.0.1" });
  const first = await timeToFeatures(relay.port, endpoint, true);
  assert.equal(first.early, false, "no session ticket yet");
  const full = await timeToFeatures(relay.port, endpoint, false);
  assert.equal(full.early, false);
  const zero = await timeToFeatures(relay.port, endpoint, true);
  assert.equal(zero.early, true, "0-RTT with the ticket from the first one");
  assert.ok(full.ms >= 2 * 150, `full handshake: ${full.ms} ms`);
  assert.ok(zero.ms < 2 * 150, `0-RTT: ${zero.ms} ms`);
  await listener.close();
  await serving;
  await relay.close();
  endpoint.close();
});

Deno.test("0-RTT: only the stream header is early data; credentials wait for the handshake", async () => {
  const listener2 = testListener({ zeroRtt: true });
  const relay2 = startUdpRelay(listener2.addr.port, { rtt: 100 });
  const endpoint = createQuicEndpoint({ hostname: "127.0.0.1" });
  // A first connection, for a session ticket.
  const s2 = (async () => {
    const xs = await XmlStream.accept(await listener2.accept());
    await xs.sendFeatures([]);
    await xs.read();
    await xs.close();
  })();
  await timeToFeatures(relay2.port, endpoint, true);
  await s2;

  const conn = await openQuicConnection(loopbackCandidate(relay2.port), {
    ...trustTestCa(),
    endpoint,
    zeroRtt: true,
  });
  assert.equal(conn.handshakeComplete, false, "0-RTT");
  const duplex = await conn.openStream();
  const w = duplex.writable.getWriter();
  const header = "<?xml version='1.0'?><stream:stream to='localhost' " +
    "version='1.0' xmlns='jabber:client' " +
    "xmlns:stream='http://etherx.jabber.org/streams' id='a>b'>";
  const auth = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' " +
    "mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>";
  // One write with both: the header goes at once, the rest after the handshake.
  const wrote = w.write(enc.encode(header + auth)).then(() =>
    conn.handshakeComplete
  );
  const server = await listener2.accept();
  const serverConn = quicConnectionOf(server)!;
  const r = server.readable.getReader();
  const first = await r.read();
  assert.equal(dec.decode(first.value), header);
  assert.equal(
    serverConn.handshakeComplete,
    false,
    "header before the handshake",
  );
  const second = await r.read();
  assert.equal(dec.decode(second.value), auth);
  assert.equal(serverConn.handshakeComplete, true, "credentials after it");
  assert.equal(await wrote, true, "the client held them back until then");
  r.releaseLock();
  w.releaseLock();
  server.close();
  duplex.close();
  await conn.close();
  await listener2.close();
  await relay2.close();
  endpoint.close();
});

Deno.test("0-RTT: a server that rejects the early data (new keys): the stream is sent again", async () => {
  const endpoint = createQuicEndpoint({ hostname: "127.0.0.1" });
  const a = testListener({ zeroRtt: true });
  const servingA = serveFeatures(a);
  await timeToFeatures(a.addr.port, endpoint, true);
  await a.close();
  await servingA;
  // Another server for the same name: the ticket is tried and rejected.
  const b = testListener({ zeroRtt: true });
  const servingB = serveFeatures(b);
  const conn = await openQuicConnection(loopbackCandidate(b.addr.port), {
    ...trustTestCa(),
    endpoint,
    zeroRtt: true,
  });
  assert.equal(conn.handshakeComplete, false, "0-RTT attempted");
  const xs = await XmlStream.open(await conn.openStream(), { to: "localhost" });
  const features = await xs.readFeatures();
  assert.equal(features.name, "features");
  assert.equal(conn.handshakeComplete, true);
  await xs.close();
  await conn.close();
  await b.close();
  await servingB;
  endpoint.close();
});
