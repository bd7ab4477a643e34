import assert from "node:assert/strict";
import { parseCertificate, pemToDer } from "./_x509.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const pem = (f: string) => Deno.readTextFileSync(new URL(f, dir));

Deno.test("x509: fields of the test certificates", async (t) => {
  await t.step("leaf", () => {
    const f = parseCertificate(pemToDer(pem("localhost.pem"))[0]);
    assert.deepEqual(f.commonNames, ["localhost"]);
    assert.equal(f.hasSubjectAltName, true);
    assert.deepEqual(f.dnsNames, ["localhost", "example.test"]);
    assert.deepEqual(f.ipAddresses, ["127.0.0.1", "0:0:0:0:0:0:0:1"]);
    assert.deepEqual(f.extendedKeyUsage, [
      "1.3.6.1.5.5.7.3.1",
      "1.3.6.1.5.5.7.3.2",
    ]);
    assert.equal(f.isCa, false);
    assert.equal(f.spki[0], 0x30);
  });
  await t.step("CA", () => {
    const f = parseCertificate(pemToDer(pem("ca.pem"))[0]);
    assert.equal(f.hasSubjectAltName, false);
    assert.deepEqual(f.commonNames, ["xmpp-transport Test CA"]);
    assert.equal(f.isCa, true);
    assert.equal(f.extendedKeyUsage, undefined);
  });
  await t.step("full chain PEM", () => {
    assert.equal(pemToDer(pem("localhost.fullchain.pem")).length, 2);
  });
});

Deno.test("x509: malformed input is a TypeError", async (t) => {
  const leaf = pemToDer(pem("localhost.pem"))[0];
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["not a SEQUENCE", new Uint8Array([0x04, 0x00])],
    ["empty SEQUENCE", new Uint8Array([0x30, 0x00])],
    ["truncated", leaf.subarray(0, 200)],
    [
      "length beyond the end",
      Uint8Array.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
    ],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseCertificate(bytes), TypeError);
    });
  }
  await t.step("not bytes", () => {
    assert.throws(
      () => parseCertificate("x" as unknown as Uint8Array),
      TypeError,
    );
  });
  await t.step("PEM without a certificate", () => {
    assert.throws(() => pemToDer("ca.pem"), TypeError);
    assert.throws(
      () =>
        pemToDer("-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----"),
      TypeError,
    );
  });
});
