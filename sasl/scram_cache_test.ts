import assert from "node:assert/strict";
import { ScramCache } from "./scram_cache.ts";
import { deriveScramKeys } from "./scram_keys.ts";

const params = {
  hash: "SHA-1" as const,
  salt: new Uint8Array([1, 2, 3]),
  iterations: 4096,
};

Deno.test("ScramCache", async (t) => {
  await t.step("hit on the same password and parameters", async () => {
    const cache = new ScramCache();
    const a = await cache.keys("secret", params);
    assert.deepEqual(a, await deriveScramKeys("secret", params));
    const b = await cache.keys("secret", {
      ...params,
      salt: new Uint8Array([1, 2, 3]),
    });
    assert.equal(a, b);
    assert.equal(cache.hits, 1);
    assert.equal(cache.misses, 1);
  });
  await t.step("a miss for any change", async () => {
    const cache = new ScramCache();
    await cache.keys("secret", params);
    await cache.keys("secret2", params);
    await cache.keys("secret", { ...params, salt: new Uint8Array([9]) });
    await cache.keys("secret", { ...params, iterations: 4097 });
    await cache.keys("secret", { ...params, hash: "SHA-256" });
    assert.equal(cache.misses, 5);
    assert.equal(cache.size, 5);
  });
  await t.step("bounded, least recently used first", async () => {
    const cache = new ScramCache({ maxEntries: 2 });
    await cache.keys("a", params);
    await cache.keys("b", params);
    await cache.keys("a", params); // a is now the most recent
    await cache.keys("c", params); // evicts b
    assert.equal(cache.size, 2);
    await cache.keys("a", params);
    assert.equal(cache.hits, 2);
    await cache.keys("b", params);
    assert.equal(cache.misses, 4);
  });
  await t.step("clear, failures not cached, bad options", async () => {
    const cache = new ScramCache();
    await cache.keys("a", params);
    cache.clear();
    assert.equal(cache.size, 0);
    await assert.rejects(cache.keys("", params), TypeError);
    assert.equal(cache.size, 0);
    await assert.rejects(
      cache.keys("a", { ...params, iterations: -1 }),
      RangeError,
    );
    assert.throws(() => new ScramCache({ maxEntries: 0 }), RangeError);
  });
});
