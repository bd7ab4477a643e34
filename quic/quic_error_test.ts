import assert from "node:assert/strict";
import { QuicError } from "./quic_error.ts";

Deno.test("QuicError: code, close info, cause", () => {
  const cause = new Error("closed by peer");
  const e = new QuicError("closed", "the connection is closed", {
    serverName: "example.org",
    closeCode: 1,
    reason: "bye",
    cause,
  });
  assert.ok(e instanceof Error);
  assert.equal(e.name, "QuicError");
  assert.equal(e.code, "closed");
  assert.equal(e.serverName, "example.org");
  assert.equal(e.closeCode, 1);
  assert.equal(e.reason, "bye");
  assert.equal(e.cause, cause);
  const bare = new QuicError("refused", "refused");
  assert.equal(bare.closeCode, undefined);
  assert.equal("cause" in bare, false);
});
