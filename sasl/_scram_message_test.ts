import assert from "node:assert/strict";
import {
  escapeSaslname,
  isNonce,
  parseClientFinal,
  parseClientFirst,
  parseServerFinal,
  parseServerFirst,
  scramText,
  unescapeSaslname,
} from "./_scram_message.ts";
import { SaslError } from "./sasl_error.ts";

Deno.test("_scram_message", async (t) => {
  await t.step("saslname escaping round trips", () => {
    for (const n of ["user", "a=b,c", "=2C", ",,==", "é"]) {
      assert.equal(unescapeSaslname(escapeSaslname(n), "x"), n);
    }
    assert.equal(escapeSaslname("a=,"), "a=3D=2C");
    assert.throws(() => unescapeSaslname("a=2c", "x"), SaslError); // case matters
    assert.throws(() => unescapeSaslname("a=", "x"), SaslError);
    assert.throws(() => unescapeSaslname("", "x"), SaslError);
    assert.throws(() => unescapeSaslname("a\0", "x"), SaslError);
  });
  await t.step("nonces", () => {
    assert.ok(isNonce("fyko+d2lbbFgONRv9qkxdawL"));
    assert.ok(isNonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
    assert.ok(!isNonce("a,b"));
    assert.ok(!isNonce("a b"));
    assert.ok(!isNonce(""));
    assert.ok(!isNonce("é"));
  });
  await t.step("client-first", () => {
    assert.deepEqual(
      parseClientFirst("p=tls-exporter,a=x=2Cy,n=u=3D,r=abc,x=1"),
      {
        flag: "p",
        cbName: "tls-exporter",
        authzid: "x,y",
        gs2Header: "p=tls-exporter,a=x=2Cy,",
        bare: "n=u=3D,r=abc,x=1",
        username: "u=",
        nonce: "abc",
      },
    );
  });
  await t.step("server-first, client-final, server-final", () => {
    assert.deepEqual(parseServerFirst("r=ab,s=QQ==,i=4096,x=y"), {
      nonce: "ab",
      salt: "QQ==",
      iterations: 4096,
    });
    assert.deepEqual(parseClientFinal("c=biws,r=ab,x=1,p=AA=="), {
      channelBinding: "biws",
      nonce: "ab",
      proof: "AA==",
      withoutProof: "c=biws,r=ab,x=1",
    });
    assert.deepEqual(parseServerFinal("v=AA==,x=1"), { verifier: "AA==" });
    assert.deepEqual(parseServerFinal("e=unknown-user"), {
      error: "unknown-user",
    });
    assert.throws(() => parseServerFinal("e=a=b"), SaslError);
    assert.throws(() => parseServerFinal("v=AA==,junk"), SaslError);
    assert.throws(() => parseClientFinal("c=biws,r=ab,p=AA==,x=1"), SaslError);
  });
  await t.step("text limits", () => {
    assert.equal(scramText(new TextEncoder().encode("x"), "m"), "x");
    assert.throws(
      () => scramText(new Uint8Array(4097), "m"),
      /longer than 4096/,
    );
    assert.throws(() => scramText(new Uint8Array([0xff]), "m"), /not UTF-8/);
  });
});
