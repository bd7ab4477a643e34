import assert from "node:assert/strict";
import { ScramClient } from "./scram_client.ts";
import { ScramCache } from "./scram_cache.ts";
import { deriveScramKeys } from "./scram_keys.ts";
import { SaslError } from "./sasl_error.ts";
import { b, s, VECTORS } from "./_test_util.ts";

async function assertSasl(
  p: Promise<unknown>,
  condition: string,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof SaslError, String(e));
    assert.equal(e.condition, condition, e.message);
    assert.equal(e.origin, "local");
    if (message) assert.match(e.message, message);
    return true;
  });
}

function client(
  hash: "SHA-1" | "SHA-256" = "SHA-1",
  extra: Partial<ConstructorParameters<typeof ScramClient>[1]> = {},
) {
  return new ScramClient(hash, {
    username: "user",
    password: "pencil",
    nonce: "fyko+d2lbbFgONRv9qkxdawL",
    ...extra,
  });
}

Deno.test("ScramClient: RFC test vectors", async (t) => {
  for (const v of VECTORS) {
    await t.step(`SCRAM-${v.hash}`, async () => {
      const c = client(v.hash, { nonce: v.clientNonce });
      assert.equal(c.name, `SCRAM-${v.hash}`);
      assert.equal(s(await c.start()), v.clientFirst);
      assert.equal(s(await c.challenge(b(v.serverFirst))), v.clientFinal);
      await c.success(b(v.serverFinal));
    });
    await t.step(`SCRAM-${v.hash}: server-final as a challenge`, async () => {
      const c = client(v.hash, { nonce: v.clientNonce });
      await c.start();
      await c.challenge(b(v.serverFirst));
      assert.equal(s(await c.challenge(b(v.serverFinal))), "");
      await c.success(null);
    });
    await t.step(
      `SCRAM-${v.hash}: from derived keys, no password`,
      async () => {
        const params = {
          hash: v.hash,
          salt: Uint8Array.fromBase64(v.salt),
          iterations: 4096,
        };
        const keys = await deriveScramKeys("pencil", params);
        const c = new ScramClient(v.hash, {
          username: "user",
          keys: [{ ...params, ...keys }],
          nonce: v.clientNonce,
        });
        await c.start();
        assert.equal(s(await c.challenge(b(v.serverFirst))), v.clientFinal);
        await c.success(b(v.serverFinal));
        const other = new ScramClient(v.hash, {
          username: "user",
          keys: [{ ...params, ...keys, iterations: 8192 }],
          nonce: v.clientNonce,
        });
        await other.start();
        await assertSasl(
          other.challenge(b(v.serverFirst)),
          "not-authorized",
          /no derived keys/,
        );
      },
    );
  }
  await t.step("the cache derives once", async () => {
    const v = VECTORS[0];
    const cache = new ScramCache();
    for (let i = 0; i < 3; i++) {
      const c = client("SHA-1", { cache, nonce: v.clientNonce });
      await c.start();
      assert.equal(s(await c.challenge(b(v.serverFirst))), v.clientFinal);
      await c.success(b(v.serverFinal));
    }
    assert.equal(cache.misses, 1);
    assert.equal(cache.hits, 2);
  });
});

Deno.test("ScramClient: GS2 header", async (t) => {
  const sf = "r=abcdef,s=QSXCR+Q6sek8bf92,i=4096";
  await t.step("-PLUS with p=", async () => {
    const data = new Uint8Array([1, 2, 3]);
    const c = client("SHA-256", {
      nonce: "abc",
      binding: { type: "tls-exporter", data },
    });
    assert.equal(c.name, "SCRAM-SHA-256-PLUS");
    assert.equal(s(await c.start()), "p=tls-exporter,,n=user,r=abc");
    const final = s(await c.challenge(b(sf)));
    const cb = final.split(",")[0].slice(2);
    assert.deepEqual(
      Uint8Array.fromBase64(cb),
      new Uint8Array([...b("p=tls-exporter,,"), 1, 2, 3]),
    );
  });
  await t.step("y when binding is supported but not offered", async () => {
    const c = client("SHA-1", { nonce: "abc", bindingSupported: true });
    assert.equal(c.name, "SCRAM-SHA-1");
    assert.equal(s(await c.start()), "y,,n=user,r=abc");
    assert.match(s(await c.challenge(b(sf))), /^c=eSws,r=abcdef,p=/);
  });
  await t.step("authzid and user name escaping, SASLprep", async () => {
    const c = client("SHA-1", {
      username: "a=b,c\u00AD",
      authzid: "x,y=z@example.org",
      nonce: "abc",
    });
    assert.equal(
      s(await c.start()),
      "n,a=x=2Cy=3Dz@example.org,n=a=3Db=2Cc,r=abc",
    );
  });
  await t.step("a random nonce by default", async () => {
    const c1 = s(
      await new ScramClient("SHA-1", { username: "u", password: "p" }).start(),
    );
    const c2 = s(
      await new ScramClient("SHA-1", { username: "u", password: "p" }).start(),
    );
    assert.match(c1, /^n,,n=u,r=[A-Za-z0-9+/]{32}$/);
    assert.notEqual(c1, c2);
  });
});

Deno.test("ScramClient: refuses bad server messages", async (t) => {
  const cases: [string, string, string, RegExp][] = [
    [
      "mandatory extension",
      "m=x,r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92,i=4096",
      "malformed-request",
      /mandatory extension/,
    ],
    [
      "nonce not extended",
      "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
      "malformed-request",
      /nonce/,
    ],
    [
      "nonce of another client",
      "r=XXXX+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92,i=4096",
      "malformed-request",
      /nonce/,
    ],
    [
      "nonce with a control character",
      "r=fyko+d2lbbFgONRv9qkxdawL\u0001,s=QSXCR+Q6sek8bf92,i=4096",
      "malformed-request",
      /nonce/,
    ],
    [
      "salt not base64",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf9,i=4096",
      "malformed-request",
      /salt/,
    ],
    [
      "empty salt",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=,i=4096",
      "malformed-request",
      /salt/,
    ],
    [
      "iteration count 0",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92,i=0",
      "malformed-request",
      /iteration count/,
    ],
    [
      "leading zero",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92,i=04096",
      "malformed-request",
      /iteration count/,
    ],
    [
      "below the minimum",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92,i=4095",
      "mechanism-too-weak",
      /below the minimum 4096/,
    ],
    [
      "above the cap",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92,i=1000001",
      "malformed-request",
      /above the maximum/,
    ],
    [
      "absurd",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92,i=99999999999",
      "malformed-request",
      /iteration count/,
    ],
    [
      "missing i=",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92",
      "malformed-request",
      /r=…,s=…,i=…/,
    ],
    [
      "out of order",
      "s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawLs,i=4096",
      "malformed-request",
      /r=…,s=…,i=…/,
    ],
    [
      "bad extension",
      "r=fyko+d2lbbFgONRv9qkxdawLs,s=QSXCR+Q6sek8bf92,i=4096,junk",
      "malformed-request",
      /bad attribute/,
    ],
    ["garbage", "hello", "malformed-request", /server-first-message/],
    ["empty", "", "malformed-request", /server-first-message/],
    ["huge", "r=" + "a".repeat(5000), "malformed-request", /longer than 4096/],
  ];
  for (const [name, msg, condition, re] of cases) {
    await t.step(name, async () => {
      const c = client();
      await c.start();
      await assertSasl(c.challenge(b(msg)), condition, re);
      // The mechanism is finished after an error.
      await assertSasl(
        c.success(b("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")),
        "malformed-request",
      );
    });
  }
  await t.step("not UTF-8", async () => {
    const c = client();
    await c.start();
    await assertSasl(
      c.challenge(new Uint8Array([0x72, 0x3d, 0xff])),
      "malformed-request",
      /not UTF-8/,
    );
  });
  await t.step("configurable iteration bounds", async () => {
    const c = client("SHA-1", { minIterations: 8192 });
    await c.start();
    await assertSasl(
      c.challenge(b(VECTORS[0].serverFirst)),
      "mechanism-too-weak",
    );
    const d = client("SHA-1", { minIterations: 1000, maxIterations: 2000 });
    await d.start();
    await assertSasl(
      c.challenge(b(VECTORS[0].serverFirst)),
      "malformed-request",
    );
  });
});

Deno.test("ScramClient: never trusts an unverified success", async (t) => {
  const v = VECTORS[0];
  async function finalSent() {
    const c = client("SHA-1", { nonce: v.clientNonce });
    await c.start();
    await c.challenge(b(v.serverFirst));
    return c;
  }
  await t.step("no additional data", async () => {
    await assertSasl(
      (await finalSent()).success(null),
      "not-authorized",
      /without its SCRAM signature/,
    );
    await assertSasl(
      (await finalSent()).success(new Uint8Array()),
      "not-authorized",
    );
  });
  await t.step("tampered signature", async () => {
    await assertSasl(
      (await finalSent()).success(b("v=rmF9pqV8S7suAoZWja4dJRkFsKA=")),
      "not-authorized",
      /signature is wrong/,
    );
    await assertSasl(
      (await finalSent()).success(b("v=AAAA")),
      "not-authorized",
    );
    await assertSasl((await finalSent()).success(b("v=!!")), "not-authorized");
  });
  await t.step("server error e=", async () => {
    await assertSasl(
      (await finalSent()).success(b("e=invalid-proof")),
      "not-authorized",
      /invalid-proof/,
    );
  });
  await t.step("garbage", async () => {
    await assertSasl(
      (await finalSent()).success(b("x=1")),
      "malformed-request",
    );
  });
  await t.step("success before the exchange finished", async () => {
    const c = client();
    await assertSasl(c.success(b(v.serverFinal)), "malformed-request");
    const d = client();
    await d.start();
    await assertSasl(
      d.success(b(v.serverFinal)),
      "malformed-request",
      /before the SCRAM exchange finished/,
    );
  });
  await t.step("a challenge after the end", async () => {
    const c = await finalSent();
    await c.challenge(b(v.serverFinal));
    await assertSasl(c.challenge(b(v.serverFinal)), "malformed-request");
  });
  await t.step("a wrong signature in a challenge", async () => {
    const c = await finalSent();
    await assertSasl(
      c.challenge(b("v=rmF9pqV8S7suAoZWja4dJRkFsKA=")),
      "not-authorized",
    );
  });
  await t.step("start twice", async () => {
    const c = client();
    await c.start();
    await assertSasl(c.start(), "malformed-request");
  });
});

Deno.test("ScramClient: bad arguments", () => {
  const base = { username: "user", password: "pencil" };
  const bad: [string, () => unknown, ErrorConstructor][] = [
    ["hash", () => new ScramClient("MD5" as "SHA-1", base), TypeError],
    [
      "no password",
      () => new ScramClient("SHA-1", { username: "u" }),
      TypeError,
    ],
    [
      "empty password",
      () => new ScramClient("SHA-1", { username: "u", password: "" }),
      TypeError,
    ],
    [
      "empty user",
      () => new ScramClient("SHA-1", { username: "", password: "p" }),
      TypeError,
    ],
    [
      "user with NUL",
      () => new ScramClient("SHA-1", { username: "a\0", password: "p" }),
      TypeError,
    ],
    [
      "nonce with comma",
      () => new ScramClient("SHA-1", { ...base, nonce: "a,b" }),
      TypeError,
    ],
    [
      "empty authzid",
      () => new ScramClient("SHA-1", { ...base, authzid: "" }),
      TypeError,
    ],
    [
      "binding",
      () =>
        new ScramClient("SHA-1", {
          ...base,
          binding: { type: "x" as "tls-unique", data: new Uint8Array(1) },
        }),
      TypeError,
    ],
    [
      "iterations",
      () =>
        new ScramClient("SHA-1", {
          ...base,
          minIterations: 10,
          maxIterations: 5,
        }),
      RangeError,
    ],
  ];
  for (const [name, f, type] of bad) assert.throws(f, type, name);
});
