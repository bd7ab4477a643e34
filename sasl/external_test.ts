import assert from "node:assert/strict";
import { ExternalClient, ExternalServer } from "./external.ts";
import { SaslError } from "./sasl_error.ts";
import { b, exchange, s } from "./_test_util.ts";

Deno.test("ExternalClient", async (t) => {
  await t.step("authzid or nothing", async () => {
    assert.equal(s(await new ExternalClient().start()), "");
    assert.equal(
      s(await new ExternalClient({ authzid: "a@b" }).start()),
      "a@b",
    );
    assert.equal(
      s(
        await new ExternalClient({ authzid: "a@b" }).challenge(
          new Uint8Array(),
        ),
      ),
      "a@b",
    );
  });
  await t.step(
    "refuses challenges and early or data-carrying success",
    async () => {
      const c = new ExternalClient();
      await assert.rejects(c.success(null), SaslError);
      await assert.rejects(c.challenge(b("x")), SaslError);
      await c.start();
      await assert.rejects(c.success(b("x")), SaslError);
      await c.success(null);
    },
  );
  await t.step("bad arguments", () => {
    assert.throws(() => new ExternalClient({ authzid: "" }), TypeError);
    assert.throws(() => new ExternalClient({ authzid: "a\0" }), TypeError);
    assert.throws(
      () => new ExternalClient({ authzid: "a".repeat(3072) }),
      TypeError,
    );
  });
});

Deno.test("ExternalServer", async (t) => {
  await t.step("an authenticated certificate", async () => {
    const { outcome } = await exchange(
      new ExternalClient(),
      new ExternalServer({ identity: "alice" }),
    );
    assert.deepEqual(outcome, { username: "alice" });
  });
  await t.step("the identity itself as authzid", async () => {
    const { outcome } = await exchange(
      new ExternalClient({ authzid: "alice" }),
      new ExternalServer({ identity: "alice" }),
    );
    assert.deepEqual(outcome, { username: "alice", authzid: "alice" });
  });
  await t.step("another authzid", async () => {
    const step = await new ExternalServer({ identity: "alice" }).step(b("bob"));
    assert.deepEqual(step, {
      failure: "invalid-authzid",
      text: "alice may not act as bob",
    });
    const ok = await new ExternalServer({
      identity: "alice",
      authorize: () => true,
    }).step(b("bob"));
    assert.deepEqual(ok, {
      success: { username: "alice", authzid: "bob" },
      additionalData: null,
    });
    const broken = await new ExternalServer({
      identity: "alice",
      authorize: () => {
        throw new Error("x");
      },
    }).step(b("bob"));
    assert.equal(
      (broken as { failure: string }).failure,
      "temporary-auth-failure",
    );
  });
  await t.step("no certificate", async () => {
    const step = await new ExternalServer({ identity: null }).step(
      new Uint8Array(),
    );
    assert.equal((step as { failure: string }).failure, "not-authorized");
  });
  await t.step("no initial response, then bad ones", async () => {
    const server = new ExternalServer({ identity: "alice" });
    assert.ok("challenge" in await server.step(null));
    assert.ok("success" in await server.step(new Uint8Array()));
    assert.equal(
      (await server.step(new Uint8Array()) as { failure: string }).failure,
      "malformed-request",
    );
    for (
      const bad of [
        new Uint8Array([0xff]),
        b("a\0b"),
        new Uint8Array(4000).fill(0x61),
      ]
    ) {
      const step = await new ExternalServer({ identity: "alice" }).step(bad);
      assert.equal((step as { failure: string }).failure, "malformed-request");
    }
  });
  await t.step("bad arguments", () => {
    assert.throws(() => new ExternalServer({ identity: "" }), TypeError);
    assert.throws(
      () => new ExternalServer({} as { identity: null }),
      TypeError,
    );
  });
});
