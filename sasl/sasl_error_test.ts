import assert from "node:assert/strict";
import {
  isSaslFailureCondition,
  SASL_FAILURE_CONDITIONS,
  SASL_NS,
  SaslError,
} from "./sasl_error.ts";

Deno.test("SaslError", async (t) => {
  await t.step("local", () => {
    const e = new SaslError("mechanism-too-weak", "1000 iterations");
    assert.equal(e.name, "SaslError");
    assert.equal(e.condition, "mechanism-too-weak");
    assert.equal(e.origin, "local");
    assert.equal(e.text, "1000 iterations");
    assert.equal(
      e.message,
      "authentication failed <mechanism-too-weak/>: 1000 iterations",
    );
  });
  await t.step("remote", () => {
    const e = new SaslError("not-authorized", undefined, {
      origin: "remote",
      text: "bad",
    });
    assert.equal(
      e.message,
      "peer refused authentication <not-authorized/>: bad",
    );
    assert.equal(e.text, "bad");
    const bare = new SaslError("aborted", undefined, { origin: "remote" });
    assert.equal(bare.message, "peer refused authentication <aborted/>");
    assert.equal(bare.text, undefined);
  });
  await t.step("cause", () => {
    const cause = new Error("x");
    assert.equal(
      new SaslError("temporary-auth-failure", "db", { cause }).cause,
      cause,
    );
  });
  await t.step("conditions", () => {
    assert.equal(SASL_NS, "urn:ietf:params:xml:ns:xmpp-sasl");
    assert.equal(SASL_FAILURE_CONDITIONS.length, 11);
    assert.ok(isSaslFailureCondition("credentials-expired"));
    assert.ok(!isSaslFailureCondition("bad-auth"));
  });
});
