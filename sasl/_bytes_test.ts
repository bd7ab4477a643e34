import assert from "node:assert/strict";
import {
  concat,
  decodeBase64,
  decodeUtf8,
  encodeBase64,
  timingSafeEqual,
  timingSafeEqualString,
  xor,
} from "./_bytes.ts";

Deno.test("_bytes", async (t) => {
  await t.step("timingSafeEqual", () => {
    assert.equal(
      timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])),
      true,
    );
    assert.equal(
      timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])),
      false,
    );
    assert.equal(
      timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])),
      false,
    );
    assert.equal(timingSafeEqual(new Uint8Array([]), new Uint8Array([])), true);
    assert.equal(timingSafeEqualString("é", "é"), true);
    assert.equal(timingSafeEqualString("a", "b"), false);
  });
  await t.step("strict base64", () => {
    assert.deepEqual(decodeBase64("QQ=="), new Uint8Array([0x41]));
    assert.deepEqual(decodeBase64(""), new Uint8Array([]));
    for (
      const bad of [
        "QQ",
        "Q Q==",
        "QR==",
        "QQ==\n",
        "Q===",
        "QQ=A",
        "-_==",
        "QUJD\r\n",
      ]
    ) {
      assert.equal(decodeBase64(bad), null, JSON.stringify(bad));
    }
    assert.equal(encodeBase64(new Uint8Array([0xff, 0xfe])), "//4=");
  });
  await t.step("utf8, concat, xor", () => {
    assert.equal(decodeUtf8(new Uint8Array([0xc3, 0xa9])), "é");
    assert.equal(decodeUtf8(new Uint8Array([0xc3])), null);
    assert.equal(decodeUtf8(new Uint8Array([0xed, 0xa0, 0x80])), null);
    assert.deepEqual(
      concat(new Uint8Array([1]), new Uint8Array([2, 3])),
      new Uint8Array([1, 2, 3]),
    );
    assert.deepEqual(
      xor(new Uint8Array([1, 2]), new Uint8Array([3, 3])),
      new Uint8Array([2, 1]),
    );
    assert.throws(
      () => xor(new Uint8Array([1]), new Uint8Array([])),
      RangeError,
    );
  });
});
