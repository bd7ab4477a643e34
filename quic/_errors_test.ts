import assert from "node:assert/strict";
import { TlsError } from "../tls/tls_error.ts";
import { _handshakeError, _isZeroRttRejected } from "./_errors.ts";
import { QuicError } from "./quic_error.ts";

const client = {
  role: "client" as const,
  serverName: "localhost",
  peer: "127.0.0.1:443",
  alpn: ["xmpp-client"],
};

/** Messages measured with Deno 2.9.6 (see the module docs). */
const CASES: [string, string, string | undefined, RegExp][] = [
  [
    "aborted by peer: the cryptographic handshake failed: error 120: peer doesn't support any known protocol",
    "alpn-mismatch",
    undefined,
    /refused ALPN "xmpp-client".*only "h3"/,
  ],
  [
    "aborted by peer: the cryptographic handshake failed: error 120",
    "alpn-mismatch",
    undefined,
    /no_application_protocol/,
  ],
  [
    "the cryptographic handshake failed: error 120: peer doesn't support any known protocol",
    "alpn-mismatch",
    undefined,
    /selected none of the ALPN protocols/,
  ],
  [
    'the cryptographic handshake failed: error 42: invalid peer certificate: certificate not valid for name "localhost"; certificate is only valid for DnsName("other.test")',
    "name-mismatch",
    undefined,
    /not valid for localhost \(it is only valid for other\.test\)/,
  ],
  [
    "the cryptographic handshake failed: error 48: invalid peer certificate: UnknownIssuer",
    "untrusted-certificate",
    undefined,
    /not trusted \(UnknownIssuer\)/,
  ],
  [
    "the cryptographic handshake failed: error 45: invalid peer certificate: Expired",
    "certificate-expired",
    undefined,
    /expired/,
  ],
  ["timed out", "handshake-timeout", undefined, /stopped answering/],
  [
    "aborted by peer: the server refused to accept a new connection",
    "refused",
    "QuicError",
    /refused the connection/,
  ],
  ["something else", "handshake-failed", undefined, /failed: something else/],
];

Deno.test("_handshakeError: Deno's QUIC messages to clear errors", () => {
  for (const [message, code, type, text] of CASES) {
    const cause = new Error(message);
    const e = _handshakeError(cause, client);
    assert.ok(
      type === "QuicError" ? e instanceof QuicError : e instanceof TlsError,
      message,
    );
    assert.equal(e.code, code, message);
    assert.match(e.message, text);
    assert.equal(e.serverName, "localhost");
    assert.equal(e.cause, cause);
  }
});

Deno.test("_handshakeError: server side, and errors already typed", () => {
  const server = { role: "server" as const, alpn: ["xmpp-client"] };
  const e = _handshakeError(
    new Error("the cryptographic handshake failed: error 120"),
    server,
  );
  assert.equal(e.code, "alpn-mismatch");
  assert.match(e.message, /^the QUIC client offered none/);
  const typed = new TlsError("handshake-timeout", "x");
  assert.equal(_handshakeError(typed, server), typed);
  assert.equal(
    _handshakeError("plain string", server).message,
    "the QUIC handshake with a client failed: plain string",
  );
});

Deno.test("_isZeroRttRejected", () => {
  assert.equal(
    _isZeroRttRejected(new Deno.errors.ConnectionReset("0-RTT rejected")),
    true,
  );
  assert.equal(_isZeroRttRejected(new Error("connection lost")), false);
  assert.equal(_isZeroRttRejected("0-RTT rejected"), false);
});
