import assert from "node:assert/strict";
import { verifyClientChain } from "./_client_chain.ts";
import { pemToDer } from "./_x509.ts";
import { TlsError } from "./tls_error.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const der = (f: string) => pemToDer(Deno.readTextFileSync(new URL(f, dir)));
const [ca] = der("ca.pem");
const [leaf] = der("other.test.pem");
const [localhost] = der("localhost.pem");

Deno.test("client chain: verified against the client CAs", async (t) => {
  await t.step("leaf issued by the anchor", () => {
    verifyClientChain([leaf], [ca]);
    verifyClientChain([leaf, ca], [ca]);
  });
  await t.step("the anchor itself", () => {
    verifyClientChain([ca], [ca]);
  });
  const untrusted = (e: unknown) =>
    e instanceof TlsError && e.code === "untrusted-certificate";
  await t.step("not issued by the anchor", () => {
    assert.throws(() => verifyClientChain([leaf], [localhost]), untrusted);
  });
  await t.step("an issuer offered by the client is not an anchor", () => {
    assert.throws(() => verifyClientChain([leaf, ca], [localhost]), untrusted);
  });
  await t.step("a leaf cannot act as an intermediate", () => {
    // localhost is not a CA, so it cannot vouch for anything.
    assert.throws(
      () => verifyClientChain([leaf, localhost], [localhost]),
      untrusted,
    );
  });
  await t.step("no certificate, or garbage", () => {
    assert.throws(() => verifyClientChain([], [ca]), untrusted);
    assert.throws(
      () => verifyClientChain([new Uint8Array([1, 2])], [ca]),
      untrusted,
    );
  });
});
