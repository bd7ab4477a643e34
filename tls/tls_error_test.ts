import assert from "node:assert/strict";
import { TlsError } from "./tls_error.ts";

Deno.test("TlsError: code, serverName, cause", () => {
  const cause = new Error("engine");
  const e = new TlsError("pin-mismatch", "no pin", {
    serverName: "example.org",
    cause,
  });
  assert.ok(e instanceof Error);
  assert.equal(e.name, "TlsError");
  assert.equal(e.code, "pin-mismatch");
  assert.equal(e.serverName, "example.org");
  assert.equal(e.cause, cause);
  assert.equal(e.message, "no pin");
  const bare = new TlsError("handshake-failed", "x");
  assert.equal(bare.serverName, undefined);
  assert.equal("cause" in bare, false);
});
