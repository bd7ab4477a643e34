import assert from "node:assert/strict";
import { PlainClient, PlainServer } from "./plain.ts";
import {
  type CredentialStore,
  MemoryCredentialStore,
  scramCredential,
} from "./credentials.ts";
import { SaslError } from "./sasl_error.ts";
import type { ServerStep } from "./mechanism.ts";
import { b, exchange, s } from "./_test_util.ts";

function failure(step: unknown, condition: string, text?: RegExp): void {
  const f = step as ServerStep;
  assert.ok("failure" in f, `expected a failure, got ${JSON.stringify(f)}`);
  assert.equal(f.failure, condition, f.text);
  if (text) assert.match(f.text ?? "", text);
}

Deno.test("PlainClient", async (t) => {
  await t.step("the message", async () => {
    assert.equal(
      s(
        await new PlainClient({ username: "tim", password: "tanstaaftanstaaf" })
          .start(),
      ),
      "\0tim\0tanstaaftanstaaf",
    );
    assert.equal(
      s(
        await new PlainClient({
          username: "Kurt",
          password: "xipj3plmq",
          authzid: "Ursel",
        }).start(),
      ),
      "Ursel\0Kurt\0xipj3plmq",
    );
    assert.equal(
      s(
        await new PlainClient({ username: "I\u00ADX", password: "\u2168" })
          .start(),
      ),
      "\0IX\0IX",
    );
  });
  await t.step("empty challenge answered, others refused", async () => {
    const p = new PlainClient({ username: "u", password: "p" });
    assert.equal(s(await p.challenge(new Uint8Array())), "\0u\0p");
    await assert.rejects(p.challenge(b("x")), SaslError);
  });
  await t.step("success only after the message, without data", async () => {
    const p = new PlainClient({ username: "u", password: "p" });
    await assert.rejects(p.success(null), SaslError);
    await p.start();
    await assert.rejects(p.success(b("x")), SaslError);
    await p.success(new Uint8Array());
    await assert.rejects(p.start(), SaslError);
  });
  await t.step("bad arguments", () => {
    for (
      const o of [
        { username: "", password: "p" },
        { username: "u", password: "" },
        { username: "u\0", password: "p" },
        { username: "u", password: "p", authzid: "" },
        { username: "u", password: "p", authzid: "a\0" },
        { username: "u".repeat(1025), password: "p" },
      ]
    ) assert.throws(() => new PlainClient(o), TypeError, JSON.stringify(o));
  });
});

Deno.test("PlainServer", async (t) => {
  const store = new MemoryCredentialStore({ iterations: 4096 });
  await store.setPassword("alice", "secret");
  const step = (msg: string | Uint8Array, options = {}) =>
    new PlainServer({ store, ...options }).step(
      typeof msg === "string" ? b(msg) : msg,
    );
  await t.step(
    "right password, checked against the SCRAM credential",
    async () => {
      assert.deepEqual(await step("\0alice\0secret"), {
        success: { username: "alice" },
        additionalData: null,
      });
      assert.deepEqual(await step("\0ALICE\0secret"), {
        success: { username: "alice" },
        additionalData: null,
      });
    },
  );
  await t.step("against a client", async () => {
    const { outcome } = await exchange(
      new PlainClient({ username: "alice", password: "secret" }),
      new PlainServer({ store }),
    );
    assert.deepEqual(outcome, { username: "alice" });
  });
  await t.step("SHA-1-only credentials", async () => {
    const only1 = new MemoryCredentialStore();
    only1.set("bob", await scramCredential("pw", { hash: "SHA-1" }));
    assert.ok(
      "success" in await new PlainServer({ store: only1 }).step(b("\0bob\0pw")),
    );
  });
  await t.step("wrong password, unknown user: the same failure", async () => {
    failure(
      await step("\0alice\0Secret"),
      "not-authorized",
      /wrong user name or password/,
    );
    failure(
      await step("\0mallory\0secret"),
      "not-authorized",
      /wrong user name or password/,
    );
  });
  await t.step("no initial response: an empty challenge", async () => {
    const server = new PlainServer({ store });
    assert.equal(
      s((await server.step(null) as { challenge: Uint8Array }).challenge),
      "",
    );
    assert.ok("success" in await server.step(b("\0alice\0secret")));
    failure(
      await server.step(b("\0alice\0secret")),
      "malformed-request",
      /over/,
    );
  });
  await t.step("authzid", async () => {
    assert.deepEqual(await step("alice\0alice\0secret"), {
      success: { username: "alice", authzid: "alice" },
      additionalData: null,
    });
    failure(await step("bob\0alice\0secret"), "invalid-authzid");
    assert.ok(
      "success" in await step("bob\0alice\0secret", { authorize: () => true }),
    );
    failure(
      await step("bob\0alice\0secret", {
        authorize: () => Promise.reject(new Error("x")),
      }),
      "temporary-auth-failure",
    );
  });
  await t.step("malformed messages", async () => {
    for (
      const [msg, re] of [
        ["alice secret", /authzid NUL authcid NUL passwd/],
        ["\0alice\0secret\0", /authzid NUL authcid NUL passwd/],
        ["\0\0secret", /empty/],
        ["\0alice\0", /empty/],
        ["\0al\u0007ice\0secret", /control/],
        [new Uint8Array([0, 0x61, 0, 0xff]), /UTF-8/],
        ["\0" + "a".repeat(3100) + "\0p", /too long/],
        ["\0" + "a".repeat(1100) + "\0p", /longer than 1024/],
      ] as const
    ) {
      failure(await step(msg), "malformed-request", re);
    }
  });
  await t.step("store failures", async () => {
    const disabled: CredentialStore = {
      scram: () => {
        throw new SaslError("account-disabled", "gone fishing");
      },
    };
    failure(
      await new PlainServer({ store: disabled }).step(b("\0a\0b")),
      "account-disabled",
    );
    const broken: CredentialStore = {
      scram: () => Promise.reject(new Error("db")),
    };
    failure(
      await new PlainServer({ store: broken }).step(b("\0a\0b")),
      "temporary-auth-failure",
    );
    assert.throws(
      () => new PlainServer({} as { store: CredentialStore }),
      TypeError,
    );
  });
});
