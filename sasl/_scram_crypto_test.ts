import assert from "node:assert/strict";
import { scramDigest, scramHmac } from "./_scram_crypto.ts";

Deno.test("_scram_crypto", async (t) => {
  await t.step("digest", async () => {
    assert.equal(
      (await scramDigest("SHA-1", new Uint8Array())).toHex(),
      "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    );
    assert.equal((await scramDigest("SHA-256", new Uint8Array())).length, 32);
  });
  await t.step("HMAC (RFC 2202 / RFC 4231 test case 2)", async () => {
    const key = new TextEncoder().encode("Jefe");
    const data = new TextEncoder().encode("what do ya want for nothing?");
    assert.equal(
      (await scramHmac("SHA-1", key, data)).toHex(),
      "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    );
    assert.equal(
      (await scramHmac("SHA-256", key, data)).toHex(),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });
});
