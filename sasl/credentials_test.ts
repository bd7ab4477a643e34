import assert from "node:assert/strict";
import {
  DEFAULT_ITERATIONS,
  MemoryCredentialStore,
  scramCredential,
} from "./credentials.ts";
import { deriveScramKeys } from "./scram_keys.ts";

Deno.test("scramCredential", async (t) => {
  await t.step("defaults", async () => {
    const c = await scramCredential("pencil");
    assert.equal(c.hash, "SHA-256");
    assert.equal(c.iterations, DEFAULT_ITERATIONS);
    assert.equal(c.salt.length, 16);
    const keys = await deriveScramKeys("pencil", c);
    assert.deepEqual(c.storedKey, keys.storedKey);
    assert.deepEqual(c.serverKey, keys.serverKey);
    assert.equal("clientKey" in c, false);
    assert.notDeepEqual((await scramCredential("pencil")).salt, c.salt);
  });
  await t.step("bad arguments", async () => {
    await assert.rejects(
      scramCredential("p", { iterations: 4095 }),
      RangeError,
    );
    await assert.rejects(scramCredential(""), TypeError);
    await assert.rejects(
      scramCredential("p", { salt: new Uint8Array() }),
      TypeError,
    );
  });
});

Deno.test("MemoryCredentialStore", async (t) => {
  await t.step(
    "no plaintext, per-hash salts, case-insensitive names",
    async () => {
      const store = new MemoryCredentialStore({ iterations: 4096 });
      await store.setPassword("Alice", "secret");
      const c256 = store.scram("ALICE", "SHA-256")!;
      const c1 = store.scram("alice", "SHA-1")!;
      assert.equal(c256.username, "alice");
      assert.equal(c256.iterations, 4096);
      assert.notDeepEqual(c256.salt, c1.salt);
      assert.equal(c1.storedKey.length, 20);
      assert.ok(!JSON.stringify(c256).includes("secret"));
      assert.equal(store.size, 1);
      assert.ok(store.has("aLiCe"));
      assert.ok(store.delete("alice"));
      assert.equal(store.scram("alice", "SHA-1"), null);
    },
  );
  await t.step("SASLprep on names", async () => {
    const store = new MemoryCredentialStore({ iterations: 4096 });
    await store.setPassword("I\u00ADX", "p");
    assert.ok(store.has("IX"));
    assert.equal(store.scram("\u0007", "SHA-1"), null);
  });
  await t.step("set: imported credentials, copied", async () => {
    const store = new MemoryCredentialStore({ hashes: ["SHA-1"] });
    const cred = await scramCredential("p", {
      hash: "SHA-1",
      iterations: 4096,
    });
    store.set("bob", cred);
    cred.storedKey[0] ^= 1;
    assert.notDeepEqual(store.scram("bob", "SHA-1")!.storedKey, cred.storedKey);
    assert.equal(store.scram("bob", "SHA-256"), null);
    assert.throws(
      () => store.set("bob", { ...cred, storedKey: new Uint8Array(3) }),
      TypeError,
    );
    assert.throws(() => store.set("", cred), TypeError);
  });
  await t.step("only the configured hashes", async () => {
    const store = new MemoryCredentialStore({
      hashes: ["SHA-256"],
      iterations: 4096,
    });
    await store.setPassword("carol", "p");
    assert.equal(store.scram("carol", "SHA-1"), null);
    assert.ok(store.scram("carol", "SHA-256"));
  });
  await t.step("bad options", () => {
    assert.throws(
      () => new MemoryCredentialStore({ iterations: 100 }),
      RangeError,
    );
    assert.throws(() => new MemoryCredentialStore({ hashes: [] }), TypeError);
    assert.throws(
      () => new MemoryCredentialStore({ hashes: ["MD5" as "SHA-1"] }),
      TypeError,
    );
  });
});
