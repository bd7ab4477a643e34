import assert from "node:assert/strict";
import { extractSpki, readDerElement } from "./_host_meta_der.ts";

/** A v1 (no version field) Ed25519 certificate made with openssl for this test. */
const V1_ED25519 = `
MIHKMH4CAQEwBQYDK2VwMBIxEDAOBgNVBAMMB3YxLnRlc3QwHhcNMjYxMTIyMDMz
ODMwWhcNMzYxMTE5MDMzODMwWjASMRAwDgYDVQQDDAd2MS50ZXN0MCowBQYDK2Vw
AyEAqABhRiODba5wzDg1jZb9XMSLSDsHI126xR+kjxAPHYkwBQYDK2VwA0EAhYBh
qbxmOG3KgOKFdpUHNd66k5FuXNxJ5g5ZAqe5rdgGiJj/4+U54dxgW6aDoAzdR4OC
FFsLPTGf8xLSm5HZCg==`;

function der(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/** DER TLV with a short or long length. */
function tlv(tag: number, content: number[]): number[] {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return [tag, ...len, ...content];
}

/** A structurally valid certificate with the given TBS fields. */
function cert(tbsFields: number[][]): Uint8Array {
  const tbs = tlv(0x30, tbsFields.flat());
  const alg = tlv(0x30, [0x06, 0x03, 0x2b, 0x65, 0x70]);
  const sig = tlv(0x03, [0x00, 0x01]);
  return new Uint8Array(tlv(0x30, [...tbs, ...alg, ...sig]));
}

const VERSION = tlv(0xa0, tlv(0x02, [0x02]));
const SERIAL = tlv(0x02, [0x01]);
const ALG = tlv(0x30, [0x06, 0x03, 0x2b, 0x65, 0x70]);
const NAME = tlv(0x30, []);
const VALIDITY = tlv(0x30, []);
const SPKI = tlv(0x30, [...ALG, ...tlv(0x03, [0x00, 0xaa, 0xbb])]);

Deno.test("host-meta DER: extractSpki", async (t) => {
  await t.step("v1 certificate without a version field", () => {
    const bytes = der(V1_ED25519);
    const spki = extractSpki(bytes);
    // SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (33 bytes) }
    assert.equal(spki.length, 44);
    assert.deepEqual([...spki.subarray(0, 9)], [
      0x30,
      0x2a,
      0x30,
      0x05,
      0x06,
      0x03,
      0x2b,
      0x65,
      0x70,
    ]);
  });

  await t.step("synthetic v3 and v1 certificates", () => {
    for (const fields of [[VERSION], []]) {
      const bytes = cert([...fields, SERIAL, ALG, NAME, VALIDITY, NAME, SPKI]);
      assert.deepEqual([...extractSpki(bytes)], SPKI);
    }
  });

  await t.step("a long-form length is read", () => {
    const bigName = tlv(0x30, new Array(300).fill(0x05));
    const bytes = cert([VERSION, SERIAL, ALG, bigName, VALIDITY, NAME, SPKI]);
    assert.deepEqual([...extractSpki(bytes)], SPKI);
  });

  const good = [...cert([VERSION, SERIAL, ALG, NAME, VALIDITY, NAME, SPKI])];
  const cases: [string, Uint8Array | unknown, RegExp][] = [
    ["not bytes", "MIIB", /must be a Uint8Array/],
    ["empty", new Uint8Array(), /truncated header/],
    ["one byte", new Uint8Array([0x30]), /truncated header/],
    [
      "not a SEQUENCE",
      new Uint8Array([0x02, 0x01, 0x00]),
      /expected Certificate/,
    ],
    ["trailing bytes", new Uint8Array([...good, 0x00]), /1 bytes after/],
    ["truncated", new Uint8Array(good.slice(0, -1)), /runs past the end/],
    [
      "indefinite length",
      new Uint8Array([0x30, 0x80, 0x00, 0x00]),
      /indefinite/,
    ],
    [
      "non-minimal length",
      new Uint8Array([0x30, 0x81, 0x03, 0x02, 0x01, 0x00]),
      /non-minimal/,
    ],
    [
      "leading zero length octet",
      new Uint8Array([0x30, 0x82, 0x00, 0x83, ...new Array(0x83).fill(0)]),
      /non-minimal/,
    ],
    [
      "five-octet length",
      new Uint8Array([0x30, 0x85, 1, 0, 0, 0, 0]),
      /too long/,
    ],
    ["multi-byte tag", new Uint8Array([0x1f, 0x81, 0x01, 0x00]), /multi-byte/],
    [
      "missing subject and key",
      cert([VERSION, SERIAL, ALG, NAME, VALIDITY]),
      /truncated header/,
    ],
    [
      "serial not an INTEGER",
      cert([VERSION, tlv(0x04, [1]), ALG, NAME, VALIDITY, NAME, SPKI]),
      /expected serialNumber INTEGER/,
    ],
    [
      "key not a SEQUENCE",
      cert([VERSION, SERIAL, ALG, NAME, VALIDITY, NAME, tlv(0x04, [1])]),
      /expected subjectPublicKeyInfo SEQUENCE/,
    ],
    [
      "SPKI without a BIT STRING",
      cert([
        VERSION,
        SERIAL,
        ALG,
        NAME,
        VALIDITY,
        NAME,
        tlv(0x30, [...ALG, ...tlv(0x04, [0])]),
      ]),
      /expected SPKI subjectPublicKey BIT STRING/,
    ],
    [
      "SPKI with extra data",
      cert([
        VERSION,
        SERIAL,
        ALG,
        NAME,
        VALIDITY,
        NAME,
        tlv(0x30, [...ALG, ...tlv(0x03, [0]), 5, 0]),
      ]),
      /extra data inside subjectPublicKeyInfo/,
    ],
    [
      "inner length overruns its container",
      new Uint8Array(tlv(0x30, [0x30, 0x05, 0x02, 0x01])),
      /runs past the end/,
    ],
  ];
  for (const [name, input, message] of cases) {
    await t.step(`rejects: ${name}`, () => {
      assert.throws(() => extractSpki(input as Uint8Array), (e: unknown) => {
        assert.ok(e instanceof TypeError, `TypeError, got ${e}`);
        assert.match(e.message, message);
        return true;
      });
    });
  }
});

Deno.test("host-meta DER: readDerElement", () => {
  const bytes = new Uint8Array([
    0x00,
    0x04,
    0x81,
    0x80,
    ...new Array(128).fill(0),
  ]);
  assert.deepEqual(readDerElement(bytes, 1, bytes.length, "x"), {
    tag: 0x04,
    start: 1,
    contentStart: 4,
    end: 132,
  });
  assert.throws(
    () => readDerElement(bytes, 1, 100, "x"),
    /x at byte 1: length 128 runs past the end of its container/,
  );
});
