import assert from "node:assert/strict";
import type { Candidate } from "../srv/candidate.ts";
import type { Duplex } from "../stream/duplex.ts";
import { dialDirectTls, listenDirectTls } from "./direct_tls.ts";
import { TlsError } from "./tls_error.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFileSync(new URL(f, dir));
const ca = read("ca.pem");
const LOCALHOST = { cert: read("localhost.pem"), key: read("localhost.key") };
const OTHER = { cert: read("other.test.pem"), key: read("other.test.key") };

function candidate(port: number, over: Partial<Candidate> = {}): Candidate {
  return {
    transport: "directtls",
    host: "127.0.0.1",
    port,
    serverName: "localhost",
    alpn: "xmpp-client",
    priority: 0,
    weight: 0,
    source: "srv",
    ...over,
  };
}

const trust = { ca, systemCa: false } as const;

Deno.test("Direct TLS: dialer and listener over loopback", async (t) => {
  const errors: unknown[] = [];
  const listener = listenDirectTls({
    hostname: "127.0.0.1",
    port: 0,
    certificates: { localhost: LOCALHOST, "example.test": OTHER },
    onError: (e) => errors.push(e),
  });
  try {
    await t.step("handshake, info, data", async () => {
      const [client, server] = await Promise.all([
        dialDirectTls(candidate(listener.addr.port), trust),
        listener.accept(),
      ]);
      try {
        assert.equal(client.info.secure, true);
        assert.equal(client.info.serverName, "localhost");
        assert.equal(client.info.alpn, "xmpp-client");
        assert.equal(client.info.tlsVersion, "TLSv1.3");
        assert.equal(client.info.remoteAddr?.port, listener.addr.port);
        assert.equal(client.info.remoteAddr?.hostname, "127.0.0.1");
        assert.equal(server.info.alpn, "xmpp-client");
        assert.equal(server.info.serverName, "localhost");
        assert.equal(server.info.localAddr?.port, listener.addr.port);
        const w = client.writable.getWriter();
        await w.write(new TextEncoder().encode("<stream:stream>"));
        const { value } = await server.readable.getReader().read();
        assert.equal(new TextDecoder().decode(value), "<stream:stream>");
      } finally {
        client.close();
        server.close();
      }
    });

    await t.step("s2s on the same port, told apart by ALPN", async () => {
      const [client, server] = await Promise.all([
        dialDirectTls(
          candidate(listener.addr.port, { alpn: "xmpp-server" }),
          trust,
        ),
        listener.accept(),
      ]);
      assert.equal(server.info.alpn, "xmpp-server");
      client.close();
      server.close();
    });

    await t.step(
      "no Nagle stall on the first writes (no-delay both sides)",
      async () => {
        const [client, server] = await Promise.all([
          dialDirectTls(candidate(listener.addr.port), trust),
          listener.accept(),
        ]);
        const cw = client.writable.getWriter();
        const cr = client.readable.getReader();
        const sw = server.writable.getWriter();
        const sr = server.readable.getReader();
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          // write-write-read: the pattern Nagle + delayed ACK stalls (~40 ms)
          await sw.write(new Uint8Array([1]));
          await sw.write(new Uint8Array([2]));
          let got = 0;
          while (got < 2) got += (await cr.read()).value!.byteLength;
          await cw.write(new Uint8Array([3]));
          await cw.write(new Uint8Array([4]));
          got = 0;
          while (got < 2) got += (await sr.read()).value!.byteLength;
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        assert.ok(times[2] < 30, `median round trip ${times[2]} ms`);
        client.close();
        server.close();
      },
    );

    await t.step(
      "the certificate is checked against the JID domain",
      async () => {
        await assert.rejects(
          dialDirectTls(
            candidate(listener.addr.port, { serverName: "example.test" }),
            trust,
          ),
          (e: unknown) => e instanceof TlsError && e.code === "name-mismatch",
        );
      },
    );

    await t.step("a plaintext client is reported and dropped", async () => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: listener.addr.port,
      });
      await conn.write(new TextEncoder().encode("<?xml version='1.0'?>"));
      assert.equal(await conn.read(new Uint8Array(16)), null);
      conn.close();
      for (let i = 0; i < 50 && errors.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const e = errors.pop();
      assert.ok(
        e instanceof TlsError && /plaintext XMPP/.test(e.message),
        String(e),
      );
    });
  } finally {
    await listener.close();
  }
});

Deno.test("Direct TLS: a silent client cannot hold a slot forever", async () => {
  const errors: unknown[] = [];
  const listener = listenDirectTls({
    hostname: "127.0.0.1",
    port: 0,
    certificates: { localhost: LOCALHOST },
    timeout: 200,
    maxHandshakes: 1,
    onError: (e) => errors.push(e),
  });
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  try {
    await new Promise((r) => setTimeout(r, 20)); // the silent one is accepted first
    const t0 = performance.now();
    const [client, server] = await Promise.all([
      dialDirectTls(candidate(listener.addr.port), { ...trust, timeout: 5000 }),
      listener.accept(),
    ]);
    const waited = performance.now() - t0;
    // The only slot was taken until the silent client's handshake timed out.
    assert.ok(waited >= 150, `waited ${waited} ms`);
    assert.ok(
      errors.some((e) =>
        e instanceof TlsError && e.code === "handshake-timeout"
      ),
    );
    assert.equal(await silent.read(new Uint8Array(1)), null); // closed by the server
    client.close();
    server.close();
  } finally {
    silent.close();
    await listener.close();
  }
});

Deno.test("Direct TLS: close() ends accept() and iteration", async () => {
  const listener = listenDirectTls({
    hostname: "127.0.0.1",
    port: 0,
    certificates: { localhost: LOCALHOST },
  });
  const pending = listener.accept().then(() => "a connection", (e) => e);
  const iterated: Duplex[] = [];
  const loop = (async () => {
    for await (const d of listener) iterated.push(d);
  })();
  // A handshake in progress is aborted too.
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  await new Promise((r) => setTimeout(r, 20));
  await listener.close();
  assert.ok((await pending) instanceof Deno.errors.BadResource);
  await loop;
  assert.equal(iterated.length, 0);
  assert.equal(await silent.read(new Uint8Array(1)), null);
  silent.close();
  await listener.close(); // idempotent
  await assert.rejects(listener.accept(), Deno.errors.BadResource);
});

Deno.test("Direct TLS: the listener's signal closes it", async () => {
  const ac = new AbortController();
  const listener = listenDirectTls({
    hostname: "127.0.0.1",
    port: 0,
    certificates: { localhost: LOCALHOST },
    signal: ac.signal,
  });
  const pending = listener.accept().then(() => "a connection", (e) => e);
  ac.abort();
  assert.ok((await pending) instanceof Deno.errors.BadResource);
  await listener.close();
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("Direct TLS: dialer arguments and aborts", async (t) => {
  await t.step("a STARTTLS candidate is refused", async () => {
    await assert.rejects(
      dialDirectTls(candidate(5222, { transport: "starttls" })),
      TypeError,
    );
  });
  await t.step("bad port", async () => {
    await assert.rejects(dialDirectTls(candidate(70000)), RangeError);
  });
  await t.step(
    "abort during the handshake (a server that never answers)",
    async () => {
      const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const accepted = tcp.accept();
      const ac = new AbortController();
      const reason = new Error("user gave up");
      const dial = dialDirectTls(candidate(tcp.addr.port), {
        ...trust,
        signal: ac.signal,
      });
      const conn = await accepted;
      ac.abort(reason);
      await assert.rejects(dial, (e: unknown) => e === reason);
      conn.close();
      tcp.close();
    },
  );
  await t.step("handshake timeout", async () => {
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = tcp.accept();
    const dial = dialDirectTls(candidate(tcp.addr.port), {
      ...trust,
      timeout: 150,
    });
    const conn = await accepted;
    await assert.rejects(
      dial,
      (e: unknown) => e instanceof TlsError && e.code === "handshake-timeout",
    );
    conn.close();
    tcp.close();
  });
  await t.step("listener options are checked up front", () => {
    assert.throws(
      () =>
        listenDirectTls({
          port: 0,
          certificates: { localhost: { cert: "x", key: "y" } },
        }),
      TypeError,
    );
    assert.throws(
      () => listenDirectTls({ port: 0, certificates: {}, maxHandshakes: 0 }),
      RangeError,
    );
  });
});
