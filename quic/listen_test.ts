import assert from "node:assert/strict";
import { XmlStream } from "../stream/xml_stream.ts";
import { TlsError } from "../tls/tls_error.ts";
import { startUdpRelay } from "../examples/_udp_relay.ts";
import type { QuicConnection } from "./connection.ts";
import { openQuicConnection } from "./dial.ts";
import { createQuicEndpoint } from "./endpoint.ts";
import { listenQuic } from "./listen.ts";
import { QuicError } from "./quic_error.ts";
import {
  loopbackCandidate,
  testListener,
  testPki,
  trustTestCa,
} from "./_test_util.ts";

const enc = new TextEncoder();

Deno.test("listenQuic: one handler for c2s and s2s streams, by ALPN", async () => {
  const listener = testListener();
  const seen: string[] = [];
  const handled: Promise<void>[] = [];
  const serving = (async () => {
    for await (const duplex of listener) {
      const ns = duplex.info.alpn === "xmpp-server"
        ? "jabber:server"
        : "jabber:client";
      seen.push(`${duplex.info.alpn} ${ns}`);
      handled.push((async () => {
        const xs = await XmlStream.accept(duplex, { ns });
        await xs.sendFeatures([]);
        await xs.read();
        await xs.close();
      })());
    }
  })();
  for (
    const [alpn, ns] of [["xmpp-client", "jabber:client"], [
      "xmpp-server",
      "jabber:server",
    ]] as const
  ) {
    const conn = await openQuicConnection(
      loopbackCandidate(listener.addr.port, { alpn }),
      trustTestCa(),
    );
    const xs = await XmlStream.open(await conn.openStream(), {
      ns,
      to: "localhost",
      from: ns === "jabber:server" ? "remote.test" : undefined,
    });
    await xs.readFeatures();
    await xs.close();
    await conn.close();
  }
  assert.equal(listener.connections.size <= 2, true);
  await listener.close();
  await serving;
  await Promise.all(handled);
  assert.deepEqual(seen, [
    "xmpp-client jabber:client",
    "xmpp-server jabber:server",
  ]);
});

Deno.test("listenQuic: limits", async (t) => {
  await t.step("maxConnections: one more is refused", async () => {
    const errors: Error[] = [];
    const listener = testListener({
      maxConnections: 1,
      onError: (e) => errors.push(e),
    });
    const first = await openQuicConnection(
      loopbackCandidate(listener.addr.port),
      trustTestCa(),
    );
    await assert.rejects(
      openQuicConnection(loopbackCandidate(listener.addr.port), trustTestCa()),
      (e) => {
        assert.ok(e instanceof QuicError, String(e));
        assert.equal(e.code, "refused");
        assert.match(e.message, /refused the connection/);
        return true;
      },
    );
    assert.equal((errors[0] as QuicError).code, "refused");
    await first.close();
    await listener.close();
  });

  await t.step(
    "maxPending: streams wait in the connection until taken",
    async () => {
      const listener = testListener({ maxPending: 1 });
      const conn = await openQuicConnection(
        loopbackCandidate(listener.addr.port),
        trustTestCa(),
      );
      const streams = await Promise.all([0, 1, 2].map(() => conn.openStream()));
      for (const [i, d] of streams.entries()) {
        await d.writable.getWriter().write(enc.encode(`<s${i}>`));
      }
      await new Promise((r) => setTimeout(r, 50));
      const got: string[] = [];
      for (let i = 0; i < 3; i++) {
        const d = await listener.accept();
        const r = d.readable.getReader();
        got.push(new TextDecoder().decode((await r.read()).value));
        r.releaseLock();
        d.close();
      }
      assert.deepEqual(got.sort(), ["<s0>", "<s1>", "<s2>"]);
      for (const d of streams) d.close();
      await conn.close();
      await listener.close();
    },
  );

  await t.step(
    "handshake timeout (0.5-RTT accept, the client goes silent)",
    async () => {
      const errors: Error[] = [];
      const listener = testListener({
        zeroRtt: true,
        timeout: 600,
        onError: (e) => errors.push(e),
      });
      // A long delay: the server's handshake answer must still be in the
      // relay when the link dies below.
      const relay = startUdpRelay(listener.addr.port, { rtt: 200 });
      const endpoint = createQuicEndpoint({ hostname: "127.0.0.1" });
      // A first connection, for a session ticket.
      const first = await openQuicConnection(loopbackCandidate(relay.port), {
        ...trustTestCa(),
        endpoint,
      });
      const d = await first.openStream();
      await d.writable.getWriter().write(enc.encode("<x>"));
      (await listener.accept()).close();
      await new Promise((r) => setTimeout(r, 50));
      d.close();
      await first.close();
      // 0-RTT, then the link dies before the handshake completes.
      const conn = await openQuicConnection(loopbackCandidate(relay.port), {
        ...trustTestCa(),
        endpoint,
        zeroRtt: true,
        timeout: 600,
      });
      assert.equal(conn.handshakeComplete, false);
      const stream = await conn.openStream();
      const w = stream.writable.getWriter();
      await w.write(enc.encode("<stream:stream>"));
      // The header arrives in early data; then the link dies.
      const s = await listener.accept();
      relay.setDropping(true);
      const r = s.readable.getReader();
      assert.equal(
        new TextDecoder().decode((await r.read()).value),
        "<stream:stream>",
      );
      // Both sides give up after their handshake timeout.
      await assert.rejects(r.read(), (e) => {
        assert.ok(e instanceof TlsError, String(e));
        assert.equal(e.code, "handshake-timeout");
        return true;
      });
      await assert.rejects(conn.handshake, (e) => {
        assert.ok(e instanceof TlsError, String(e));
        assert.equal(e.code, "handshake-timeout");
        return true;
      });
      await assert.rejects(
        w.write(enc.encode("<auth/>")),
        (e) => e instanceof TlsError && e.code === "handshake-timeout",
      );
      const info = await conn.closed;
      assert.equal(info.error instanceof TlsError, true);
      r.releaseLock();
      s.close();
      while (listener.connections.size > 0) {
        await [...listener.connections][0].closed;
      }
      assert.ok(
        errors.some((e) =>
          e instanceof TlsError && e.code === "handshake-timeout"
        ),
        errors.map(String).join("; "),
      );
      stream.close();
      await conn.close();
      await listener.close();
      await relay.close();
      endpoint.close();
    },
  );
});

Deno.test("listenQuic: close() and signal", async (t) => {
  await t.step(
    "close: waiters rejected, clients closed, iteration ends",
    async () => {
      const conns: QuicConnection[] = [];
      const listener = testListener({ onConnection: (c) => conns.push(c) });
      const client = await openQuicConnection(
        loopbackCandidate(listener.addr.port),
        trustTestCa(),
      );
      const iterating = (async () => {
        const got = [];
        for await (const d of listener) got.push(d);
        return got.length;
      })();
      const waiting = assert.rejects(
        listener.accept(),
        Deno.errors.BadResource,
      );
      await new Promise((r) => setTimeout(r, 20));
      await listener.close();
      await listener.close();
      await waiting;
      assert.equal(await iterating, 0);
      await assert.rejects(listener.accept(), Deno.errors.BadResource);
      const info = await client.closed;
      assert.equal(info.reason, "server shutting down");
      await client.close();
    },
  );

  await t.step("signal", async () => {
    const ac = new AbortController();
    const listener = testListener({ signal: ac.signal });
    const waiting = assert.rejects(
      listener.accept(),
      Deno.errors.BadResource,
    );
    ac.abort();
    await waiting;
    await listener.close();
  });
});

Deno.test("listenQuic: bad arguments", () => {
  const certificate = testPki().localhost;
  const base = { hostname: "127.0.0.1", port: 0, certificate };
  assert.throws(
    () => listenQuic({ ...base, certificate: { cert: "x", key: "y" } }),
    TypeError,
  );
  assert.throws(() => listenQuic({ ...base, alpn: [] }), TypeError);
  assert.throws(() => listenQuic({ ...base, maxStreams: 0 }), RangeError);
  assert.throws(() => listenQuic({ ...base, timeout: -1 }), RangeError);
  assert.throws(
    () => listenQuic({ ...base, domains: ["127.0.0.1"] }),
    TypeError,
  );
  assert.throws(() => listenQuic(null as never), TypeError);
});
