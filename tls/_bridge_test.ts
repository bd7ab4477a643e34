import assert from "node:assert/strict";
import { memoryPair } from "../stream/memory_duplex.ts";
import { NodeBridge, toTlsError } from "./_bridge.ts";
import { tlsConnect } from "./client.ts";
import { tlsAccept } from "./server.ts";
import { TlsError, type TlsErrorCode } from "./tls_error.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFileSync(new URL(f, dir));

Deno.test("bridge: engine errors become TlsErrors with advice", async (t) => {
  const err = (code: string, message = "x") =>
    Object.assign(new Error(message), { code });
  const table: [string, Error, TlsErrorCode, RegExp][] = [
    [
      "unknown issuer",
      err("UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
      "untrusted-certificate",
      /`ca`/,
    ],
    [
      "self-signed",
      err("DEPTH_ZERO_SELF_SIGNED_CERT"),
      "untrusted-certificate",
      /trusted CA/,
    ],
    ["expired", err("CERT_HAS_EXPIRED"), "certificate-expired", /renew/],
    [
      "not yet valid",
      err("CERT_NOT_YET_VALID"),
      "certificate-expired",
      /clock/,
    ],
    [
      "alert protocol_version",
      err(
        "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
        "received fatal alert: ProtocolVersion",
      ),
      "protocol-version",
      /TLS 1\.2/,
    ],
    [
      "TLS 1.2 not offered",
      err(
        "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
        "peer is incompatible: Tls12NotOfferedOrEnabled",
      ),
      "protocol-version",
      /TLS 1\.2/,
    ],
    [
      "no ALPN overlap",
      err("ERR_SSL_NO_APPLICATION_PROTOCOL"),
      "alpn-mismatch",
      /xmpp-client/,
    ],
    [
      "alert no_application_protocol",
      err("X", "received fatal alert: NoApplicationProtocol"),
      "alpn-mismatch",
      /XEP-0368/,
    ],
    [
      "alert unrecognized_name",
      err("X", "received fatal alert: UnrecognisedName"),
      "unknown-server-name",
      /does not serve example\.org/,
    ],
    [
      "no client certificate",
      err("ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"),
      "certificate-required",
      /cert/,
    ],
    [
      "handshake failure",
      err(
        "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
        "received fatal alert: HandshakeFailure",
      ),
      "handshake-failed",
      /ECDHE and AEAD/,
    ],
    [
      "plaintext answer",
      err(
        "ERR_SSL_WRONG_VERSION_NUMBER",
        "received corrupt message of type InvalidContentType",
      ),
      "handshake-failed",
      /STARTTLS/,
    ],
  ];
  for (const [name, e, code, advice] of table) {
    await t.step(name, () => {
      const mapped = toTlsError(e, {
        side: "client",
        serverName: "example.org",
      });
      assert.equal(mapped.code, code);
      assert.equal(mapped.serverName, "example.org");
      assert.equal(mapped.cause, e);
      assert.match(mapped.message, advice);
    });
  }
  await t.step("a TlsError passes through", () => {
    const e = new TlsError("pin-mismatch", "x");
    assert.equal(toTlsError(e, { side: "client" }), e);
  });
  await t.step("the trust note is appended", () => {
    const mapped = toTlsError(err("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), {
      side: "client",
      trustNote: "the OS trust store was not loaded",
    });
    assert.match(mapped.message, /OS trust store/);
  });
});

Deno.test("bridge: a node view of a duplex, with a read gate", async () => {
  const [a, b] = memoryPair();
  const bridge = new NodeBridge(a);
  const got: string[] = [];
  bridge.on("data", (d: Uint8Array) => got.push(new TextDecoder().decode(d)));
  const ended = new Promise((r) => bridge.once("end", r));
  bridge.gate(false);
  const w = b.writable.getWriter();
  await w.write(new TextEncoder().encode("one"));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(got, []); // gate closed: nothing read
  bridge.gate(true);
  await w.write(new TextEncoder().encode("two"));
  await w.close();
  await ended;
  assert.equal(got.join(""), "onetwo");
  // Writes go to the duplex; end closes its writable.
  const r = b.readable.getReader();
  await new Promise<void>((res) =>
    bridge.end(new TextEncoder().encode("back"), () => res())
  );
  assert.equal(new TextDecoder().decode((await r.read()).value), "back");
  assert.equal((await r.read()).done, true);
  bridge.destroy();
  b.close();
});

Deno.test("bridge: backpressure on ciphertext, end after the bulk", async () => {
  const [a, b] = memoryPair({ highWaterMark: 16384 });
  const localhost = { cert: read("localhost.pem"), key: read("localhost.key") };
  const [client, server] = await Promise.all([
    tlsConnect(a, {
      serverName: "localhost",
      ca: read("ca.pem"),
      systemCa: false,
      highWaterMark: 16384,
    }),
    tlsAccept(b, { certificates: { localhost } }),
  ]);
  const total = 8 << 20;
  let written = 0;
  const w = server.writable.getWriter();
  const writing = (async () => {
    const chunk = new Uint8Array(16384);
    while (written < total) {
      await w.write(chunk);
      written += chunk.byteLength;
    }
    await w.close();
  })();
  await new Promise((r) => setTimeout(r, 200)); // the client does not read
  assert.ok(written < 1 << 20, `${written} bytes accepted without a reader`);
  let n = 0;
  for await (const chunk of client.readable) n += chunk.byteLength;
  assert.equal(n, total);
  await writing;
  client.close();
  server.close();
});
