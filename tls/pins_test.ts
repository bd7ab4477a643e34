import assert from "node:assert/strict";
import { spkiSha256 } from "../srv/host_meta.ts";
import { checkPins, verifyPins } from "./pins.ts";
import { pemToDer } from "./_x509.ts";
import { TlsError } from "./tls_error.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const der = (f: string) => pemToDer(Deno.readTextFileSync(new URL(f, dir)))[0];

Deno.test("pins: syntax", async (t) => {
  const good = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  assert.deepEqual(checkPins([good]), [good]);
  assert.deepEqual(checkPins([]), []);
  for (
    const bad of [
      "",
      "sha256/" + good,
      good.slice(1),
      good + "=",
      "not base64!",
    ]
  ) {
    await t.step(JSON.stringify(bad), () => {
      assert.throws(() => checkPins([bad]), TypeError);
    });
  }
  await t.step("not an array", () => {
    assert.throws(() => checkPins(good as unknown as string[]), TypeError);
  });
});

Deno.test("pins: a certificate of the chain must match", async (t) => {
  const leaf = der("localhost.pem");
  const ca = der("ca.pem");
  const leafPin = await spkiSha256(leaf);
  const caPin = await spkiSha256(ca);
  const otherPin = await spkiSha256(der("other.test.pem"));
  await t.step("no pins: nothing checked", async () => {
    assert.equal(await verifyPins([leaf], []), undefined);
  });
  await t.step("leaf pin", async () => {
    assert.equal(await verifyPins([leaf, ca], [otherPin, leafPin]), leafPin);
  });
  await t.step("anchor pin", async () => {
    assert.equal(await verifyPins([leaf, ca], [caPin]), caPin);
  });
  await t.step("mismatch", async () => {
    await assert.rejects(
      verifyPins([leaf, ca], [otherPin], { serverName: "localhost" }),
      (e: unknown) =>
        e instanceof TlsError && e.code === "pin-mismatch" &&
        e.serverName === "localhost" && e.message.includes(leafPin),
    );
  });
  await t.step("malformed certificates are skipped, not matched", async () => {
    await assert.rejects(
      verifyPins([new Uint8Array([1, 2, 3])], [otherPin]),
      (e: unknown) => e instanceof TlsError && e.code === "pin-mismatch",
    );
  });
});
