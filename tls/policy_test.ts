import assert from "node:assert/strict";
import {
  checkNegotiated,
  TLS12_CIPHER_SUITES,
  TLS13_CIPHER_SUITES,
  TLS_POLICY,
  trustAnchors,
} from "./policy.ts";
import { TlsError } from "./tls_error.ts";

const ca = Deno.readTextFileSync(
  new URL("../tests/testdata/ca.pem", import.meta.url),
);

Deno.test("policy: negotiated version and cipher suite", async (t) => {
  const table: [
    string,
    string | undefined,
    string | undefined,
    string | null,
  ][] = [
    ["TLS 1.3 AES-256", "TLSv1.3", "TLS_AES_256_GCM_SHA384", null],
    ["TLS 1.3 ChaCha20", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", null],
    ["TLS 1.2 ECDHE-RSA GCM", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", null],
    [
      "TLS 1.2 ECDHE-ECDSA ChaCha20",
      "TLSv1.2",
      "ECDHE-ECDSA-CHACHA20-POLY1305",
      null,
    ],
    [
      "TLS 1.2 RSA key exchange",
      "TLSv1.2",
      "AES256-GCM-SHA384",
      "cipher-not-allowed",
    ],
    ["TLS 1.2 CBC", "TLSv1.2", "ECDHE-RSA-AES128-SHA", "cipher-not-allowed"],
    [
      "TLS 1.2 DHE",
      "TLSv1.2",
      "DHE-RSA-AES128-GCM-SHA256",
      "cipher-not-allowed",
    ],
    [
      "TLS 1.3 suite on TLS 1.2",
      "TLSv1.2",
      "TLS_AES_128_GCM_SHA256",
      "cipher-not-allowed",
    ],
    ["unknown cipher", "TLSv1.3", undefined, "cipher-not-allowed"],
    ["TLS 1.1", "TLSv1.1", "ECDHE-RSA-AES128-SHA", "protocol-version"],
    ["TLS 1.0", "TLSv1", "ECDHE-RSA-AES128-SHA", "protocol-version"],
    ["SSLv3", "SSLv3", "RC4-SHA", "protocol-version"],
    [
      "unknown version",
      undefined,
      "TLS_AES_128_GCM_SHA256",
      "protocol-version",
    ],
  ];
  for (const [name, tlsVersion, cipher, code] of table) {
    await t.step(name, () => {
      if (code === null) {
        checkNegotiated({ tlsVersion, cipher });
      } else {
        assert.throws(
          () =>
            checkNegotiated({ tlsVersion, cipher, serverName: "example.org" }),
          (e: unknown) =>
            e instanceof TlsError && e.code === code &&
            e.serverName === "example.org",
        );
      }
    });
  }
  await t.step("every TLS 1.2 suite is ECDHE + AEAD", () => {
    for (const s of TLS12_CIPHER_SUITES) {
      assert.match(
        s,
        /^ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/,
      );
    }
    assert.equal(TLS13_CIPHER_SUITES.length, 3);
    assert.equal(TLS_POLICY.minVersion, "TLSv1.2");
    assert.equal(TLS_POLICY.compression, false);
    assert.ok(Object.isFrozen(TLS_POLICY));
  });
});

Deno.test("policy: trust anchors", async (t) => {
  await t.step("extra CAs only", () => {
    assert.deepEqual(trustAnchors({ ca, systemCa: false }), { ca: [ca] });
    assert.deepEqual(
      trustAnchors({ ca: [ca, ca], systemCa: false }).ca.length,
      2,
    );
    assert.deepEqual(trustAnchors({ systemCa: false }), { ca: [] });
  });
  await t.step("the OS store is added by default", () => {
    const { ca: list, missing } = trustAnchors({ ca });
    // Either the OS store is there (granted) or it says why not.
    assert.ok(list.length > 1 || missing !== undefined || list.at(-1) === ca);
    assert.equal(list.at(-1), ca);
  });
  await t.step("invalid PEM", () => {
    assert.throws(
      () => trustAnchors({ ca: "ca.pem", systemCa: false }),
      TypeError,
    );
    assert.throws(
      () => trustAnchors({ ca: [42 as unknown as string], systemCa: false }),
      TypeError,
    );
  });
});
