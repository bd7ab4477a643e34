import assert from "node:assert/strict";
import {
  deriveScramKeys,
  keysFromSaltedPassword,
  saltedPassword,
} from "./scram_keys.ts";
import { scramDigest, scramHmac } from "./_scram_crypto.ts";

const SHA1 = {
  hash: "SHA-1" as const,
  salt: Uint8Array.fromBase64("QSXCR+Q6sek8bf92"),
  iterations: 4096,
};

Deno.test("scram keys", async (t) => {
  await t.step("PBKDF2 (RFC 6070 test vector 2, SHA-1)", async () => {
    const out = await saltedPassword("password", {
      hash: "SHA-1",
      salt: new TextEncoder().encode("salt"),
      iterations: 2,
    });
    assert.equal(out.toHex(), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
  });
  await t.step("RFC 5802 §5 salted password and keys", async () => {
    const salted = await saltedPassword("pencil", SHA1);
    assert.equal(salted.toHex(), "1d96ee3a529b5a5f9e47c01f229a2cb8a6e15f7d");
    const keys = await keysFromSaltedPassword(salted, "SHA-1");
    assert.equal(
      keys.clientKey.toHex(),
      "e234c47bf6c36696dd6d852b99aaa2ba26555728",
    );
    assert.deepEqual(
      keys.storedKey,
      await scramDigest("SHA-1", keys.clientKey),
    );
    assert.deepEqual(
      keys.serverKey,
      await scramHmac("SHA-1", salted, new TextEncoder().encode("Server Key")),
    );
    assert.deepEqual(await deriveScramKeys("pencil", SHA1), keys);
  });
  await t.step("SASLprep applies to the password", async () => {
    assert.deepEqual(
      await saltedPassword("I\u00ADX", SHA1),
      await saltedPassword("IX", SHA1),
    );
  });
  await t.step("bad arguments", async () => {
    await assert.rejects(saltedPassword("", SHA1), TypeError);
    await assert.rejects(saltedPassword("\u00AD", SHA1), /must not be empty/);
    await assert.rejects(saltedPassword("a\u0000", SHA1), TypeError);
    await assert.rejects(
      saltedPassword("p", { ...SHA1, salt: new Uint8Array() }),
      TypeError,
    );
    await assert.rejects(
      saltedPassword("p", { ...SHA1, iterations: 0 }),
      RangeError,
    );
    await assert.rejects(
      saltedPassword("p", { ...SHA1, iterations: 1.5 }),
      RangeError,
    );
    await assert.rejects(
      saltedPassword("p", { ...SHA1, hash: "MD5" as "SHA-1" }),
      TypeError,
    );
  });
  await t.step(
    "10,000 iterations take milliseconds, not a second",
    async () => {
      const t0 = performance.now();
      await saltedPassword("pencil", { ...SHA1, iterations: 10_000 });
      const ms = performance.now() - t0;
      assert.ok(ms < 200, `${ms} ms`);
    },
  );
});
