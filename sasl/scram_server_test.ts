import assert from "node:assert/strict";
import { ScramServer, type ScramServerOptions } from "./scram_server.ts";
import { ScramClient } from "./scram_client.ts";
import {
  type CredentialStore,
  MemoryCredentialStore,
  scramCredential,
} from "./credentials.ts";
import { SaslError } from "./sasl_error.ts";
import type { ChannelBinding } from "./channel_binding.ts";
import type { ServerStep } from "./mechanism.ts";
import { b, exchange, s, VECTORS } from "./_test_util.ts";

const BINDING: ChannelBinding = {
  type: "tls-exporter",
  data: new Uint8Array(32).fill(0xab),
};

async function vectorStore(): Promise<MemoryCredentialStore> {
  const store = new MemoryCredentialStore({ iterations: 4096 });
  for (const v of VECTORS) {
    store.set(
      "user",
      await scramCredential("pencil", {
        hash: v.hash,
        salt: Uint8Array.fromBase64(v.salt),
        iterations: 4096,
      }),
    );
  }
  return store;
}

function failure(step: ServerStep, condition: string, text?: RegExp): void {
  assert.ok(
    "failure" in step,
    `expected a failure, got ${JSON.stringify(step)}`,
  );
  assert.equal(step.failure, condition, step.text);
  if (text) assert.match(step.text ?? "", text);
}

function challenge(step: ServerStep): string {
  assert.ok(
    "challenge" in step,
    `expected a challenge, got ${JSON.stringify(step)}`,
  );
  return s(step.challenge);
}

Deno.test("ScramServer: RFC test vectors", async (t) => {
  const store = await vectorStore();
  for (const v of VECTORS) {
    await t.step(`SCRAM-${v.hash}`, async () => {
      const server = new ScramServer(v.hash, { store, nonce: v.serverNonce });
      assert.equal(server.name, `SCRAM-${v.hash}`);
      assert.equal(
        challenge(await server.step(b(v.clientFirst))),
        v.serverFirst,
      );
      const last = await server.step(b(v.clientFinal));
      assert.ok("success" in last);
      assert.deepEqual(last.success, { username: "user" });
      assert.equal(s(last.additionalData), v.serverFinal);
      failure(await server.step(b(v.clientFinal)), "malformed-request", /over/);
    });
    await t.step(`SCRAM-${v.hash}: no initial response`, async () => {
      const server = new ScramServer(v.hash, { store, nonce: v.serverNonce });
      assert.equal(challenge(await server.step(null)), "");
      assert.equal(
        challenge(await server.step(b(v.clientFirst))),
        v.serverFirst,
      );
      assert.ok("success" in await server.step(b(v.clientFinal)));
    });
    await t.step(`SCRAM-${v.hash}: a flipped proof bit`, async () => {
      const server = new ScramServer(v.hash, { store, nonce: v.serverNonce });
      await server.step(b(v.clientFirst));
      const proof = Uint8Array.fromBase64(v.clientFinal.split("p=")[1]);
      proof[0] ^= 1;
      const final = v.clientFinal.split("p=")[0] + "p=" + proof.toBase64();
      failure(await server.step(b(final)), "not-authorized", /invalid-proof/);
    });
  }
});

Deno.test("ScramServer: against ScramClient", async (t) => {
  const store = new MemoryCredentialStore({ iterations: 4096 });
  await store.setPassword("alice", "secret");
  for (const hash of ["SHA-1", "SHA-256"] as const) {
    await t.step(`SCRAM-${hash}`, async () => {
      const { outcome } = await exchange(
        new ScramClient(hash, { username: "Alice", password: "secret" }),
        new ScramServer(hash, { store }),
      );
      assert.deepEqual(outcome, { username: "alice" });
    });
    await t.step(`SCRAM-${hash}-PLUS`, async () => {
      const client = new ScramClient(hash, {
        username: "alice",
        password: "secret",
        binding: BINDING,
      });
      const server = new ScramServer(hash, {
        store,
        plus: true,
        binding: BINDING,
      });
      assert.equal(server.name, `SCRAM-${hash}-PLUS`);
      assert.deepEqual((await exchange(client, server)).outcome, {
        username: "alice",
      });
    });
    await t.step(`SCRAM-${hash}-PLUS: another channel`, async () => {
      const client = new ScramClient(hash, {
        username: "alice",
        password: "secret",
        binding: { type: "tls-exporter", data: new Uint8Array(32).fill(0xac) },
      });
      const server = new ScramServer(hash, {
        store,
        plus: true,
        binding: BINDING,
      });
      const { outcome } = await exchange(client, server);
      failure(
        outcome as ServerStep,
        "not-authorized",
        /channel-bindings-dont-match/,
      );
    });
    await t.step(`SCRAM-${hash}: wrong password`, async () => {
      const { outcome } = await exchange(
        new ScramClient(hash, { username: "alice", password: "wrong" }),
        new ScramServer(hash, { store }),
      );
      failure(outcome as ServerStep, "not-authorized", /invalid-proof/);
    });
  }
  await t.step(
    "unknown user: a stable decoy, then not-authorized",
    async () => {
      const first = (nonce: string) =>
        new ScramServer("SHA-1", { store, nonce: "S" }).step(
          b(`n,,n=mallory,r=${nonce}`),
        );
      const a = challenge(await first("c1"));
      const b2 = challenge(await first("c1"));
      assert.equal(a, b2);
      assert.match(a, /^r=c1S,s=[A-Za-z0-9+/]{22}==,i=4096$/);
      const { outcome } = await exchange(
        new ScramClient("SHA-1", { username: "mallory", password: "secret" }),
        new ScramServer("SHA-1", { store }),
      );
      failure(outcome as ServerStep, "not-authorized", /invalid-proof/);
    },
  );
  await t.step("credentials only for the other hash", async () => {
    const only1 = new MemoryCredentialStore({
      hashes: ["SHA-1"],
      iterations: 4096,
    });
    await only1.setPassword("alice", "secret");
    const { outcome } = await exchange(
      new ScramClient("SHA-256", { username: "alice", password: "secret" }),
      new ScramServer("SHA-256", { store: only1 }),
    );
    failure(outcome as ServerStep, "not-authorized");
  });
});

Deno.test("ScramServer: channel binding flags", async (t) => {
  const store = await vectorStore();
  const run = (first: string, options: Partial<ScramServerOptions> = {}) =>
    new ScramServer("SHA-1", { store, ...options }).step(b(first));
  await t.step("y while -PLUS is offered: downgrade", async () => {
    failure(
      await run("y,,n=user,r=abc", { binding: BINDING }),
      "not-authorized",
      /server-does-support-channel-binding/,
    );
    failure(
      await run("y,,n=user,r=abc", { plusOffered: true }),
      "not-authorized",
    );
  });
  await t.step("y without -PLUS offered: fine", async () => {
    challenge(await run("y,,n=user,r=abc"));
    const { outcome } = await exchange(
      new ScramClient("SHA-1", {
        username: "user",
        password: "pencil",
        bindingSupported: true,
      }),
      new ScramServer("SHA-1", { store }),
    );
    assert.deepEqual(outcome, { username: "user" });
  });
  await t.step(
    "n while -PLUS is offered: fine (client without binding)",
    async () => {
      challenge(await run("n,,n=user,r=abc", { binding: BINDING }));
    },
  );
  await t.step("p= with a non-PLUS mechanism", async () => {
    failure(
      await run("p=tls-exporter,,n=user,r=abc", { binding: BINDING }),
      "malformed-request",
      /-PLUS/,
    );
  });
  await t.step("n with a -PLUS mechanism", async () => {
    failure(
      await run("n,,n=user,r=abc", { binding: BINDING, plus: true }),
      "malformed-request",
      /p=/,
    );
  });
  await t.step("another binding type", async () => {
    failure(
      await run("p=tls-unique,,n=user,r=abc", { binding: BINDING, plus: true }),
      "malformed-request",
      /unsupported-channel-binding-type/,
    );
  });
  await t.step("c= that does not repeat the GS2 header", async () => {
    const server = new ScramServer("SHA-1", { store, nonce: "S" });
    await server.step(b("n,,n=user,r=abc"));
    failure(
      await server.step(b("c=eSws,r=abcS,p=" + "A".repeat(27) + "=")),
      "not-authorized",
      /GS2/,
    );
  });
});

Deno.test("ScramServer: refuses malformed client messages", async (t) => {
  const store = await vectorStore();
  const firsts: [string, string | Uint8Array, RegExp][] = [
    ["garbage", "hello", /GS2/],
    ["empty", "", /GS2/],
    ["bad flag", "x,,n=user,r=abc", /flag/],
    ["bad cb name", "p=tls unique,,n=user,r=abc", /channel binding name/],
    ["bad authzid field", "n,b=x,n=user,r=abc", /authzid/],
    ["mandatory extension", "n,,m=x,n=user,r=abc", /mandatory extension/],
    ["no n=", "n,,r=abc", /n=/],
    ["no r=", "n,,n=user,x=abc", /r=/],
    ["bad escape", "n,,n=us=2Xer,r=abc", /"="/],
    ["raw =", "n,,n=us=er,r=abc", /"="/],
    ["empty user", "n,,n=,r=abc", /empty user name/],
    ["user that SASLprep refuses", "n,,n=a\u0007,r=abc", /control/],
    ["user empty after SASLprep", "n,,n=\u00AD,r=abc", /empty user name/],
    ["nonce with a comma-free control", "n,,n=user,r=a\u0001", /nonce/],
    ["long nonce", "n,,n=user,r=" + "a".repeat(300), /nonce too long/],
    ["bad extension", "n,,n=user,r=abc,junk", /bad attribute/],
    ["too long", "n,,n=" + "u".repeat(5000) + ",r=abc", /longer than 4096/],
    [
      "not UTF-8",
      new Uint8Array([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xc3]),
      /not UTF-8/,
    ],
  ];
  for (const [name, msg, re] of firsts) {
    await t.step(`client-first: ${name}`, async () => {
      const server = new ScramServer("SHA-1", { store });
      failure(
        await server.step(typeof msg === "string" ? b(msg) : msg),
        "malformed-request",
        re,
      );
      failure(
        await server.step(b("n,,n=user,r=abc")),
        "malformed-request",
        /over/,
      );
    });
  }
  const v = VECTORS[0];
  const finals: [string, string, string, RegExp][] = [
    ["garbage", "hello", "malformed-request", /c=/],
    [
      "proof not last",
      "c=biws,p=AAAA,r=" + v.clientNonce + v.serverNonce,
      "malformed-request",
      /c=…,r=…/,
    ],
    [
      "c= not base64",
      `c=b!ws,r=${v.clientNonce}${v.serverNonce},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=`,
      "malformed-request",
      /base64/,
    ],
    [
      "other nonce",
      `c=biws,r=${v.clientNonce}XX,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=`,
      "malformed-request",
      /nonce/,
    ],
    [
      "short proof",
      `c=biws,r=${v.clientNonce}${v.serverNonce},p=AAAA`,
      "malformed-request",
      /20 bytes/,
    ],
    [
      "proof not base64",
      `c=biws,r=${v.clientNonce}${v.serverNonce},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts`,
      "malformed-request",
      /20 bytes/,
    ],
    ["empty", "", "malformed-request", /c=/],
  ];
  for (const [name, msg, condition, re] of finals) {
    await t.step(`client-final: ${name}`, async () => {
      const server = new ScramServer("SHA-1", { store, nonce: v.serverNonce });
      challenge(await server.step(b(v.clientFirst)));
      failure(await server.step(b(msg)), condition, re);
    });
  }
  await t.step("client-final: extensions before p= are allowed", async () => {
    const server = new ScramServer("SHA-1", { store, nonce: v.serverNonce });
    challenge(await server.step(b(v.clientFirst)));
    // The proof covers the extension, so the vector's proof no longer fits.
    const withExt = v.clientFinal.replace(",p=", ",x=1,p=");
    failure(await server.step(b(withExt)), "not-authorized", /invalid-proof/);
  });
  await t.step("client-final missing (null)", async () => {
    const server = new ScramServer("SHA-1", { store });
    challenge(await server.step(b(v.clientFirst)));
    failure(await server.step(null), "malformed-request");
  });
});

Deno.test("ScramServer: authorization identity", async (t) => {
  const store = new MemoryCredentialStore({ iterations: 4096 });
  await store.setPassword("alice", "secret");
  const login = (authzid: string, options: Partial<ScramServerOptions> = {}) =>
    exchange(
      new ScramClient("SHA-256", {
        username: "alice",
        password: "secret",
        authzid,
      }),
      new ScramServer("SHA-256", { store, ...options }),
    );
  await t.step("the user itself", async () => {
    assert.deepEqual((await login("alice")).outcome, {
      username: "alice",
      authzid: "alice",
    });
  });
  await t.step("someone else: invalid-authzid", async () => {
    failure(
      (await login("bob")).outcome as ServerStep,
      "invalid-authzid",
      /alice may not act as bob/,
    );
  });
  await t.step("a custom policy", async () => {
    const seen: unknown[] = [];
    const { outcome } = await login("admin,=x", {
      authorize: (id) => {
        seen.push(id);
        return Promise.resolve(true);
      },
    });
    assert.deepEqual(outcome, { username: "alice", authzid: "admin,=x" });
    assert.deepEqual(seen, [{ username: "alice", authzid: "admin,=x" }]);
  });
  await t.step("not asked for a wrong password", async () => {
    let asked = false;
    const { outcome } = await exchange(
      new ScramClient("SHA-256", {
        username: "alice",
        password: "nope",
        authzid: "bob",
      }),
      new ScramServer("SHA-256", { store, authorize: () => asked = true }),
    );
    failure(outcome as ServerStep, "not-authorized");
    assert.equal(asked, false);
  });
});

Deno.test("ScramServer: credential store failures", async (t) => {
  await t.step("a SaslError from the store is the condition", async () => {
    const store: CredentialStore = {
      scram: () => {
        throw new SaslError("account-disabled", "suspended");
      },
    };
    failure(
      await new ScramServer("SHA-1", { store }).step(b("n,,n=u,r=abc")),
      "account-disabled",
      /suspended/,
    );
  });
  await t.step("any other error is temporary-auth-failure", async () => {
    const store: CredentialStore = {
      scram: () => Promise.reject(new Error("db down")),
    };
    failure(
      await new ScramServer("SHA-1", { store }).step(b("n,,n=u,r=abc")),
      "temporary-auth-failure",
    );
  });
  await t.step("a malformed credential", async () => {
    const cred = await scramCredential("p", {
      hash: "SHA-1",
      iterations: 4096,
    });
    const store: CredentialStore = {
      scram: () => ({ ...cred, storedKey: new Uint8Array(3) }),
    };
    failure(
      await new ScramServer("SHA-1", { store }).step(b("n,,n=u,r=abc")),
      "temporary-auth-failure",
      /malformed/,
    );
  });
});

Deno.test("ScramServer: bad arguments", () => {
  const store = new MemoryCredentialStore();
  assert.throws(() => new ScramServer("MD5" as "SHA-1", { store }), TypeError);
  assert.throws(
    () => new ScramServer("SHA-1", {} as ScramServerOptions),
    TypeError,
  );
  assert.throws(
    () => new ScramServer("SHA-1", { store, plus: true }),
    /channel binding/,
  );
  assert.throws(
    () => new ScramServer("SHA-1", { store, nonce: "a,b" }),
    TypeError,
  );
  assert.throws(
    () =>
      new ScramServer("SHA-1", {
        store,
        binding: { type: "tls-unique", data: new Uint8Array() },
      }),
    TypeError,
  );
});
