import assert from "node:assert/strict";
import { Duplex as NodeDuplex } from "node:stream";
import tls from "node:tls";
import { spkiSha256 } from "../srv/host_meta.ts";
import type { Duplex } from "../stream/duplex.ts";
import { memoryPair } from "../stream/memory_duplex.ts";
import { tlsConnect, type TlsConnectOptions } from "./client.ts";
import { TLS12_CIPHER_SUITES, TLS13_CIPHER_SUITES } from "./policy.ts";
import { tlsAccept, type TlsAcceptOptions } from "./server.ts";
import { TlsError, type TlsErrorCode } from "./tls_error.ts";
import { pemToDer } from "./_x509.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFileSync(new URL(f, dir));
const ca = read("ca.pem");
const leaf = (name: string) => ({
  cert: read(`${name}.pem`),
  key: read(`${name}.key`),
});
const LOCALHOST = leaf("localhost");
const trust = { ca, systemCa: false } as const;

/** Run both sides over a memory pair; close whatever succeeded. */
async function handshake(
  client: Omit<TlsConnectOptions, "serverName"> & { serverName?: string },
  server: Partial<TlsAcceptOptions>,
): Promise<[PromiseSettledResult<Duplex>, PromiseSettledResult<Duplex>]> {
  const [a, b] = memoryPair();
  const results = await Promise.allSettled([
    tlsConnect(a, { serverName: "localhost", ...trust, ...client }),
    tlsAccept(b, { certificates: { localhost: LOCALHOST }, ...server }),
  ]);
  for (const r of results) if (r.status === "fulfilled") r.value.close();
  return results;
}

function refused(
  r: PromiseSettledResult<unknown>,
  code: TlsErrorCode,
): TlsError {
  assert.equal(r.status, "rejected", `expected ${code}, got a connection`);
  const e = (r as PromiseRejectedResult).reason;
  assert.ok(e instanceof TlsError, `expected a TlsError, got ${e}`);
  assert.equal(e.code, code, e.message);
  return e;
}

/** A raw node:tls server over the other end (for peers tlsAccept won't be). */
function rawServer(b: Duplex, options: tls.TLSSocketOptions): tls.TLSSocket {
  const socket = new tls.TLSSocket(
    NodeDuplex.fromWeb(b as never),
    { isServer: true, ...LOCALHOST, ...options } as tls.TLSSocketOptions,
  );
  socket.on("error", () => {});
  return socket;
}

Deno.test("tlsConnect: handshake and info", async (t) => {
  await t.step("TLS 1.3 with ALPN, against tlsAccept", async () => {
    const [a, b] = memoryPair();
    const [client, server] = await Promise.all([
      tlsConnect(a, { serverName: "LocalHost", ...trust }),
      tlsAccept(b, { certificates: { localhost: LOCALHOST } }),
    ]);
    try {
      assert.equal(client.info.transport, "tls");
      assert.equal(client.info.secure, true);
      assert.equal(client.info.tlsVersion, "TLSv1.3");
      assert.ok(TLS13_CIPHER_SUITES.includes(client.info.cipher!));
      assert.equal(client.info.alpn, "xmpp-client");
      assert.equal(client.info.serverName, "localhost");
      const cert = client.info.peerCertificate!;
      assert.deepEqual(cert.raw, pemToDer(LOCALHOST.cert)[0]);
      assert.deepEqual(cert.dnsNames, ["localhost", "example.test"]);
      assert.match(cert.subject!, /CN=localhost/);
      assert.ok(
        cert.validTo instanceof Date && cert.validTo.getTime() > Date.now(),
      );
      assert.equal(server.info.secure, true);
      assert.equal(server.info.serverName, "localhost");
      assert.equal(server.info.alpn, "xmpp-client");
      assert.equal(server.info.peerCertificate, undefined);
    } finally {
      client.close();
      server.close();
    }
  });

  await t.step("TLS 1.2 peer: ECDHE + AEAD", async () => {
    const [a, b] = memoryPair();
    const server = rawServer(b, {
      maxVersion: "TLSv1.2",
      ALPNProtocols: ["xmpp-client"],
    });
    const client = await tlsConnect(a, { serverName: "localhost", ...trust });
    try {
      assert.equal(client.info.tlsVersion, "TLSv1.2");
      assert.ok(
        TLS12_CIPHER_SUITES.includes(client.info.cipher!),
        client.info.cipher,
      );
    } finally {
      client.close();
      server.destroy();
    }
  });

  await t.step(
    "a server selecting no ALPN is accepted by default",
    async () => {
      const [a, b] = memoryPair();
      const server = rawServer(b, {});
      const client = await tlsConnect(a, { serverName: "localhost", ...trust });
      assert.equal(client.info.alpn, null);
      client.close();
      server.destroy();
    },
  );

  await t.step("... and refused with requireAlpn", async () => {
    const [a, b] = memoryPair();
    const server = rawServer(b, {});
    await assert.rejects(
      tlsConnect(a, { serverName: "localhost", ...trust, requireAlpn: true }),
      (e: unknown) => e instanceof TlsError && e.code === "alpn-missing",
    );
    server.destroy();
  });

  await t.step("alpn: null offers none (STARTTLS)", async () => {
    const [client, server] = await handshake({ alpn: null }, {});
    assert.equal(client.status, "fulfilled");
    assert.equal(server.status, "fulfilled");
  });
});

Deno.test("tlsConnect: data, half-close, end after a bulk", async (t) => {
  const [a, b] = memoryPair();
  const [client, server] = await Promise.all([
    tlsConnect(a, { serverName: "localhost", ...trust }),
    tlsAccept(b, { certificates: { localhost: LOCALHOST } }),
  ]);
  const enc = new TextEncoder();
  await t.step("client closes its side; server still answers", async () => {
    const w = client.writable.getWriter();
    await w.write(enc.encode("<stream:stream>"));
    await w.write(enc.encode("</stream:stream>"));
    await w.close();
    const got: string[] = [];
    for await (const chunk of server.readable) {
      got.push(new TextDecoder().decode(chunk));
    }
    assert.equal(got.join(""), "<stream:stream></stream:stream>");
  });
  await t.step("1 MiB then close while the client is not reading", async () => {
    const big = new Uint8Array(1 << 20).fill(7);
    const w = server.writable.getWriter();
    const sent = (async () => {
      await w.write(big);
      await w.close();
    })();
    await new Promise((r) => setTimeout(r, 100)); // the client is busy
    let n = 0;
    for await (const chunk of client.readable) n += chunk.byteLength;
    assert.equal(n, big.byteLength);
    await sent;
  });
  client.close();
  server.close();
});

Deno.test("tlsConnect: refusals", async (t) => {
  await t.step("a certificate for another name (other.test leaf)", async () => {
    const [client, server] = await handshake(
      { serverName: "example.test" },
      { certificates: { "example.test": leaf("other.test") } },
    );
    const e = refused(client, "name-mismatch");
    assert.equal(e.serverName, "example.test");
    assert.match(e.message, /DNS:other\.test/);
    assert.equal(server.status, "rejected");
  });

  await t.step("a certificate valid only for the SRV target", async () => {
    const [client] = await handshake(
      { serverName: "target.test" },
      { certificates: { "target.test": leaf("target.test") } },
    );
    const e = refused(client, "name-mismatch");
    assert.match(e.message, /xmpp\.target\.test/);
    assert.match(e.message, /never the SRV target/);
  });

  await t.step("an untrusted CA", async () => {
    const [client] = await handshake({ ca: undefined }, {});
    const e = refused(client, "untrusted-certificate");
    assert.match(e.message, /`ca`/);
  });

  await t.step("ALPN mismatch (server accepts only xmpp-server)", async () => {
    const [client, server] = await handshake({ alpn: "xmpp-client" }, {
      alpn: ["xmpp-server"],
    });
    refused(client, "alpn-mismatch");
    refused(server, "alpn-mismatch");
  });

  await t.step("pin mismatch, and a matching pin", async () => {
    const other = await spkiSha256(pemToDer(read("other.test.pem"))[0]);
    const [client] = await handshake({ pins: [other] }, {});
    refused(client, "pin-mismatch");
    const good = await spkiSha256(pemToDer(ca)[0]);
    const [ok] = await handshake({ pins: [other, good] }, {});
    assert.equal(ok.status, "fulfilled");
  });

  await t.step("unknown SNI: the unrecognized_name alert", async () => {
    const [client, server] = await handshake(
      { serverName: "example.test" },
      {},
    );
    const e = refused(client, "unknown-server-name");
    assert.match(e.message, /example\.test/);
    refused(server, "unknown-server-name");
  });

  await t.step("a client certificate required but not sent", async () => {
    // With TLS 1.3 the client finishes first and only then sees the close.
    const [, server] = await handshake({}, {
      clientCertificate: "require",
      clientCa: ca,
    });
    refused(server, "certificate-required");
  });

  await t.step("handshake timeout (the server never answers)", async () => {
    const [a, b] = memoryPair();
    const drain = b.readable.pipeTo(new WritableStream()).catch(() => {});
    const t0 = Date.now();
    await assert.rejects(
      tlsConnect(a, { serverName: "localhost", ...trust, timeout: 150 }),
      (e: unknown) => e instanceof TlsError && e.code === "handshake-timeout",
    );
    assert.ok(Date.now() - t0 < 2000);
    b.close();
    await drain;
  });

  await t.step(
    "a server that does not speak TLS (plaintext XMPP)",
    async () => {
      const [a, b] = memoryPair();
      const r = b.readable.getReader();
      const w = b.writable.getWriter();
      const answering = r.read().then(() =>
        w.write(
          new TextEncoder().encode("<?xml version='1.0'?><stream:stream>"),
        )
      );
      await assert.rejects(
        tlsConnect(a, { serverName: "localhost", ...trust }),
        (e: unknown) =>
          e instanceof TlsError && e.code === "handshake-failed" &&
          /did not answer with TLS/.test(e.message),
      );
      await answering.catch(() => {});
      b.close();
    },
  );

  await t.step("the server closes during the handshake", async () => {
    const [a, b] = memoryPair();
    const r = b.readable.getReader();
    const closing = r.read().then(() => b.close());
    await assert.rejects(
      tlsConnect(a, { serverName: "localhost", ...trust }),
      (e: unknown) =>
        e instanceof TlsError && e.code === "handshake-failed" &&
        /closed the connection/.test(e.message),
    );
    await closing;
  });

  await t.step("abort", async () => {
    const [a, b] = memoryPair();
    const drain = b.readable.pipeTo(new WritableStream()).catch(() => {});
    const ac = new AbortController();
    const p = tlsConnect(a, {
      serverName: "localhost",
      ...trust,
      signal: ac.signal,
    });
    const reason = new Error("stop");
    setTimeout(() => ac.abort(reason), 20);
    await assert.rejects(p, (e: unknown) => e === reason);
    await drain;
  });

  await t.step("already aborted: the duplex is closed", async () => {
    const [a, b] = memoryPair();
    const reason = new Error("before");
    await assert.rejects(
      tlsConnect(a, {
        serverName: "localhost",
        signal: AbortSignal.abort(reason),
      }),
      (e: unknown) => e === reason,
    );
    assert.equal((await b.readable.getReader().read()).done, true);
  });
});

Deno.test("tlsConnect: bad options are refused and the duplex closed", async (t) => {
  const table: [string, Partial<TlsConnectOptions>, ErrorConstructor][] = [
    ["an IP as serverName", { serverName: "127.0.0.1" }, TypeError],
    ["no serverName", { serverName: undefined }, TypeError],
    ["bad ALPN", { alpn: [""] }, TypeError],
    ["bad pin", { pins: ["abc"] }, TypeError],
    ["bad CA", { ca: "not pem" }, TypeError],
    ["cert without key", { cert: LOCALHOST.cert }, TypeError],
    ["key of another certificate", {
      cert: LOCALHOST.cert,
      key: read("other.test.key"),
    }, TypeError],
    ["timeout 0", { timeout: 0 }, RangeError],
    ["negative highWaterMark", { highWaterMark: -1 }, RangeError],
  ];
  for (const [name, options, type] of table) {
    await t.step(name, async () => {
      const [a, b] = memoryPair();
      await assert.rejects(
        tlsConnect(
          a,
          {
            serverName: "localhost",
            ...trust,
            ...options,
          } as TlsConnectOptions,
        ),
        type,
      );
      assert.equal((await b.readable.getReader().read()).done, true);
    });
  }
});
