import assert from "node:assert/strict";
import { Duplex as NodeDuplex } from "node:stream";
import tls from "node:tls";
import type { Duplex } from "../stream/duplex.ts";
import { memoryPair } from "../stream/memory_duplex.ts";
import { tlsConnect, type TlsConnectOptions } from "./client.ts";
import {
  type CertificateKey,
  tlsAccept,
  type TlsAcceptOptions,
} from "./server.ts";
import { TlsError, type TlsErrorCode } from "./tls_error.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFileSync(new URL(f, dir));
const ca = read("ca.pem");
const leaf = (name: string): CertificateKey => ({
  cert: read(`${name}.pem`),
  key: read(`${name}.key`),
});
const LOCALHOST = leaf("localhost");
const OTHER = leaf("other.test");

async function handshake(
  client: Partial<TlsConnectOptions>,
  server: TlsAcceptOptions,
): Promise<[PromiseSettledResult<Duplex>, PromiseSettledResult<Duplex>]> {
  const [a, b] = memoryPair();
  const results = await Promise.allSettled([
    tlsConnect(a, { serverName: "localhost", ca, systemCa: false, ...client }),
    tlsAccept(b, server),
  ]);
  for (const r of results) if (r.status === "fulfilled") r.value.close();
  return results;
}

function ok(r: PromiseSettledResult<Duplex>): Duplex {
  if (r.status === "rejected") throw r.reason;
  return r.value;
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

/** A raw node:tls client sending no SNI, over `a`; closed when `done` settles. */
async function noSniClient(a: Duplex, done: Promise<unknown>): Promise<string> {
  const socket = tls.connect({
    socket: NodeDuplex.fromWeb(a as never),
    ca,
    checkServerIdentity: () => undefined, // no name to check against
  });
  const outcome = await new Promise<string>((resolve) => {
    socket.once(
      "secureConnect",
      () => resolve(`ok ${socket.getPeerCertificate().subject?.CN}`),
    );
    socket.once("error", (e) => resolve(`error ${e.message}`));
    socket.once("close", () => resolve("closed"));
  });
  await done.catch(() => {});
  socket.destroy();
  return outcome;
}

Deno.test("tlsAccept: certificates per virtual host", async (t) => {
  const certificates = { localhost: LOCALHOST, "other.test": OTHER };
  await t.step("by SNI, from a map", async () => {
    const [c1, s1] = await handshake({ serverName: "localhost" }, {
      certificates,
    });
    assert.equal(ok(s1).info.serverName, "localhost");
    assert.match(ok(c1).info.peerCertificate!.subject!, /CN=localhost/);
    const [c2, s2] = await handshake({ serverName: "other.test" }, {
      certificates,
    });
    assert.equal(ok(s2).info.serverName, "other.test");
    assert.match(ok(c2).info.peerCertificate!.subject!, /CN=other\.test/);
  });
  await t.step("by SNI, from an async function", async () => {
    const asked: (string | null)[] = [];
    const select = async (name: string | null) => {
      asked.push(name);
      await new Promise((r) => setTimeout(r, 10));
      return name === "other.test" ? OTHER : undefined;
    };
    const [client, server] = await handshake({ serverName: "Other.Test" }, {
      certificates: select,
    });
    ok(client);
    ok(server);
    assert.deepEqual(asked, ["other.test"]);
  });
  await t.step("map keys are domains", async () => {
    await assert.rejects(
      tlsAccept(memoryPair()[1], {
        certificates: { "not a domain": LOCALHOST },
      }),
      TypeError,
    );
  });
  await t.step("map keys in U-labels match the A-label SNI", async () => {
    const [, server] = await handshake(
      { serverName: "localhost" },
      { certificates: { "LOCALHOST.": LOCALHOST } },
    );
    assert.equal(ok(server).info.serverName, "localhost");
  });
});

Deno.test("tlsAccept: unknown server names", async (t) => {
  await t.step("refused with unrecognized_name", async () => {
    const [client, server] = await handshake({ serverName: "example.test" }, {
      certificates: { "other.test": OTHER },
    });
    refused(server, "unknown-server-name");
    refused(client, "unknown-server-name");
  });
  await t.step("or served the default certificate", async () => {
    const [client, server] = await handshake({ serverName: "example.test" }, {
      certificates: { "other.test": OTHER },
      unknownServerName: "default",
      defaultCertificate: LOCALHOST, // names example.test too
    });
    assert.equal(ok(server).info.serverName, "example.test");
    assert.match(ok(client).info.peerCertificate!.subject!, /CN=localhost/);
  });
  await t.step("no SNI at all: refused", async () => {
    const [a, b] = memoryPair();
    const accepting = tlsAccept(b, { certificates: { localhost: LOCALHOST } });
    const [server, outcome] = await Promise.allSettled([
      accepting,
      noSniClient(a, accepting),
    ]);
    const e = refused(server, "unknown-server-name");
    assert.match(e.message, /no SNI/);
    assert.match(
      (outcome as PromiseFulfilledResult<string>).value,
      /UnrecognisedName/,
    );
  });
  await t.step("no SNI at all: default certificate", async () => {
    const [a, b] = memoryPair();
    const accepting = tlsAccept(b, {
      certificates: {},
      unknownServerName: "default",
      defaultCertificate: LOCALHOST,
    });
    const [server, outcome] = await Promise.all([
      accepting,
      noSniClient(a, accepting),
    ]);
    assert.equal(server.info.serverName, undefined);
    assert.equal(outcome, "ok localhost");
    server.close();
  });
});

Deno.test("tlsAccept: ALPN tells c2s from s2s", async (t) => {
  const certificates = { localhost: LOCALHOST };
  for (const alpn of ["xmpp-client", "xmpp-server"]) {
    await t.step(alpn, async () => {
      const [client, server] = await handshake({ alpn }, { certificates });
      assert.equal(ok(server).info.alpn, alpn);
      assert.equal(ok(client).info.alpn, alpn);
    });
  }
  await t.step("client offers none: accepted, alpn null", async () => {
    const [, server] = await handshake({ alpn: null }, { certificates });
    assert.equal(ok(server).info.alpn, null);
  });
  await t.step("client offers none, requireAlpn: refused", async () => {
    const [, server] = await handshake({ alpn: null }, {
      certificates,
      requireAlpn: true,
    });
    refused(server, "alpn-missing");
  });
  await t.step("client offers only another protocol", async () => {
    const [client, server] = await handshake({ alpn: ["h2"] }, {
      certificates,
    });
    refused(server, "alpn-mismatch");
    refused(client, "alpn-mismatch");
  });
});

Deno.test("tlsAccept: client certificates", async (t) => {
  const base = { certificates: { localhost: LOCALHOST }, clientCa: ca };
  await t.step("requested and sent: verified, exposed", async () => {
    const [client, server] = await handshake({ ...OTHER }, {
      ...base,
      clientCertificate: "request",
    });
    ok(client);
    const cert = ok(server).info.peerCertificate!;
    assert.match(cert.subject!, /CN=other\.test/);
    assert.deepEqual(cert.dnsNames, ["other.test"]);
  });
  await t.step("requested, not sent: accepted without one", async () => {
    const [, server] = await handshake({}, {
      ...base,
      clientCertificate: "request",
    });
    assert.equal(ok(server).info.peerCertificate, undefined);
  });
  await t.step("required, not sent", async () => {
    const [, server] = await handshake({}, {
      ...base,
      clientCertificate: "require",
    });
    refused(server, "certificate-required");
  });
  await t.step("a certificate from an untrusted issuer", async () => {
    // The client CA is the localhost leaf: other.test is not issued by it.
    const [, server] = await handshake({ ...OTHER }, {
      ...base,
      clientCa: LOCALHOST.cert,
      clientCertificate: "require",
    });
    const e = refused(server, "untrusted-certificate");
    assert.match(e.message, /client certificate/);
  });
});

/** A minimal hand-made ClientHello (SNI localhost, one cipher suite). */
function craftedHello(version: number, suite: number): Uint8Array {
  const name = [...new TextEncoder().encode("localhost")];
  const ext = [
    0,
    0,
    0,
    name.length + 5,
    0,
    name.length + 3,
    0,
    0,
    name.length,
    ...name,
  ];
  const body = [
    version >> 8,
    version & 0xff,
    ...new Array(32).fill(7),
    0,
    0,
    2,
    suite >> 8,
    suite & 0xff,
    1,
    0,
    ext.length >> 8,
    ext.length & 0xff,
    ...ext,
  ];
  const hs = [1, 0, body.length >> 8, body.length & 0xff, ...body];
  return Uint8Array.from([0x16, 3, 1, hs.length >> 8, hs.length & 0xff, ...hs]);
}

Deno.test("tlsAccept: refusals before the engine", async (t) => {
  const certificates = { localhost: LOCALHOST };
  await t.step("a TLS 1.1 client: protocol_version alert", async () => {
    const [a, b] = memoryPair();
    const w = a.writable.getWriter();
    await w.write(craftedHello(0x0302, 0xc013));
    const r = a.readable.getReader();
    const [result, alert] = await Promise.all([
      tlsAccept(b, { certificates }).then(() => null, (e) => e),
      r.read(),
    ]);
    assert.ok(result instanceof TlsError && result.code === "protocol-version");
    assert.match(result.message, /TLS 1\.1/);
    assert.deepEqual([...alert.value!], [0x15, 3, 3, 0, 2, 2, 70]);
    a.close();
  });
  await t.step(
    "an engine failure on the first flight does not crash",
    async () => {
      // TLS 1.2 with only TLS_RSA_WITH_AES_128_CBC_SHA: the engine refuses it.
      // Deno 2.9.6 threw an uncaught TypeError from TLSSocket._start here.
      const [a, b] = memoryPair();
      const w = a.writable.getWriter();
      await w.write(craftedHello(0x0303, 0x002f));
      const drain = a.readable.pipeTo(new WritableStream()).catch(() => {});
      await assert.rejects(
        tlsAccept(b, { certificates }),
        (e: unknown) => e instanceof TlsError && e.code === "handshake-failed",
      );
      a.close();
      await drain;
    },
  );
  await t.step("plaintext XMPP on a TLS port: refused at once", async () => {
    const [a, b] = memoryPair();
    const w = a.writable.getWriter();
    await w.write(
      new TextEncoder().encode("<?xml version='1.0'?><stream:stream to='x'>"),
    );
    const t0 = Date.now();
    await assert.rejects(
      tlsAccept(b, { certificates }),
      (e: unknown) => e instanceof TlsError && /plaintext XMPP/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 1000);
    a.close();
  });
  await t.step("a silent client: handshake timeout", async () => {
    const [a, b] = memoryPair();
    await assert.rejects(
      tlsAccept(b, { certificates, timeout: 100 }),
      (e: unknown) => e instanceof TlsError && e.code === "handshake-timeout",
    );
    assert.equal((await a.readable.getReader().read()).done, true);
  });
  await t.step("abort", async () => {
    const [a, b] = memoryPair();
    const reason = new Error("shutting down");
    const ac = new AbortController();
    setTimeout(() => ac.abort(reason), 10);
    await assert.rejects(
      tlsAccept(b, { certificates, signal: ac.signal }),
      (e: unknown) => e === reason,
    );
    a.close();
  });
});

Deno.test("tlsAccept: bad options", async (t) => {
  const table: [string, TlsAcceptOptions, ErrorConstructor][] = [
    ["no certificates", {} as TlsAcceptOptions, TypeError],
    ["key of another certificate", {
      certificates: { localhost: { cert: LOCALHOST.cert, key: OTHER.key } },
    }, TypeError],
    [
      "not PEM",
      { certificates: { localhost: { cert: "x", key: "y" } } },
      TypeError,
    ],
    ["default mode without a default", {
      certificates: {},
      unknownServerName: "default",
    }, TypeError],
    ["unknown mode", {
      certificates: {},
      unknownServerName: "maybe" as "refuse",
    }, TypeError],
    ["client certificates without clientCa", {
      certificates: {},
      clientCertificate: "require",
    }, TypeError],
    ["timeout", { certificates: {}, timeout: -5 }, RangeError],
  ];
  for (const [name, options, type] of table) {
    await t.step(name, async () => {
      const [a, b] = memoryPair();
      await assert.rejects(tlsAccept(b, options), type);
      assert.equal((await a.readable.getReader().read()).done, true);
    });
  }
});
