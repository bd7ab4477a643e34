import assert from "node:assert/strict";
import {
  canonicalIp,
  decodeBase64Strict,
  encodeBase64,
  isIpLiteral,
  toALabel,
} from "./_host_meta_syntax.ts";

Deno.test("host-meta syntax: domain names", async (t) => {
  const good: [string, string][] = [
    ["example.org", "example.org"],
    ["EXAMPLE.Org.", "example.org"],
    ["localhost", "localhost"],
    ["Bücher.example", "xn--bcher-kva.example"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["a-b.c1.example", "a-b.c1.example"],
    [`${"a".repeat(63)}.example`, `${"a".repeat(63)}.example`],
  ];
  for (const [input, want] of good) {
    await t.step(`accepts ${input}`, () => {
      assert.equal(toALabel(input, "domain"), want);
    });
  }
  const bad = [
    "",
    ".",
    "exa mple.org",
    "example.org:443",
    "example.org/path",
    "user@example.org",
    "a..b",
    ".example",
    "-a.example",
    "a-.example",
    "under_score.example",
    `${"a".repeat(64)}.example`,
    `${"a.".repeat(127)}example`,
    "192.0.2.1",
    "1.2.3",
    "0x7f.1",
    "[::1]",
    "::1",
    "example.123",
    "%65xample.org",
  ];
  for (const input of bad) {
    await t.step(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => toALabel(input, "domain"), TypeError);
    });
  }
  await t.step("rejects a non-string", () => {
    assert.throws(() => toALabel(42 as unknown as string, "domain"), {
      name: "TypeError",
      message: "domain must be a string, got number",
    });
  });
});

Deno.test("host-meta syntax: IP literals", async (t) => {
  const good: [string, string][] = [
    ["192.0.2.1", "192.0.2.1"],
    ["255.255.255.255", "255.255.255.255"],
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "::1"],
    ["2001:db8::1", "2001:db8::1"],
    ["FD00:FEED:DAD:BEEF::1", "fd00:feed:dad:beef::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
    ["1::", "1::"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ];
  for (const [input, want] of good) {
    await t.step(`accepts ${input}`, () => {
      assert.equal(canonicalIp(input), want);
      assert.ok(isIpLiteral(input));
    });
  }
  const bad = [
    "",
    "localhost",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.256",
    "01.2.3.4",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1.2.3.4:443",
    "0.0.0.0",
    "0.1.2.3",
    "::",
    "[::1]",
    "fe80::1%eth0",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    ":1:2:3:4:5:6:7",
    "12345::1",
    "g::1",
    "::1.2.3",
    "1.2.3.4::",
    "1:2:3:4:5:6:7:1.2.3.4",
  ];
  for (const input of bad) {
    await t.step(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => canonicalIp(input), TypeError);
    });
  }
  await t.step("rejects a non-string", () => {
    assert.throws(() => canonicalIp(1 as unknown as string), TypeError);
  });
});

Deno.test("host-meta syntax: strict base64", async (t) => {
  const good: [string, number[]][] = [
    ["", []],
    ["AA==", [0]],
    ["AAE=", [0, 1]],
    ["AQID", [1, 2, 3]],
    ["+/8=", [0xfb, 0xff]],
  ];
  for (const [input, want] of good) {
    await t.step(`decodes ${JSON.stringify(input)}`, () => {
      assert.deepEqual([...decodeBase64Strict(input)], want);
      assert.equal(encodeBase64(new Uint8Array(want)), input);
    });
  }
  const bad = [
    "A",
    "AA",
    "AA=",
    "AAA",
    "A===",
    "AB=C",
    "AQ-_",
    "AQ I",
    "AQID\n",
    "AB==", // non-zero padding bits
    "AAF=", // non-zero padding bits
    "====",
  ];
  for (const input of bad) {
    await t.step(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => decodeBase64Strict(input), TypeError);
    });
  }
  await t.step("round-trips every length up to 40 bytes", () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = Uint8Array.from(
        { length: n },
        (_, i) => (i * 37 + n) & 0xff,
      );
      const s = encodeBase64(bytes);
      assert.equal(s, btoa(String.fromCharCode(...bytes)));
      assert.deepEqual(decodeBase64Strict(s), bytes);
    }
  });
});
