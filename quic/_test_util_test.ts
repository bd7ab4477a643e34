import assert from "node:assert/strict";
import {
  loopbackCandidate,
  testListener,
  testPki,
  trustTestCa,
} from "./_test_util.ts";

Deno.test("_test_util: PKI, candidate, listener", async () => {
  const pki = testPki();
  assert.match(pki.localhost.cert, /BEGIN CERTIFICATE/);
  assert.match(pki.other.key, /PRIVATE KEY/);
  assert.equal(
    loopbackCandidate(1, { alpn: "xmpp-server" }).alpn,
    "xmpp-server",
  );
  assert.equal(trustTestCa().ca, pki.ca);
  const listener = testListener();
  assert.ok(listener.addr.port > 0);
  await listener.close();
});
