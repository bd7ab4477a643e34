import assert from "node:assert/strict";
import { saslprep } from "./saslprep.ts";

Deno.test("saslprep", async (t) => {
  await t.step("RFC 4013 §3 examples", () => {
    assert.equal(saslprep("I\u00ADX"), "IX"); // SOFT HYPHEN mapped to nothing
    assert.equal(saslprep("user"), "user"); // no transformation
    assert.equal(saslprep("USER"), "USER"); // case preserved
    assert.equal(saslprep("\u00AA"), "a"); // NFKC
    assert.equal(saslprep("\u2168"), "IX"); // NFKC
    assert.throws(() => saslprep("\u0007"), TypeError); // prohibited
    assert.throws(() => saslprep("\u0627\u0031"), TypeError); // bidi rule
  });
  await t.step("mapping", () => {
    assert.equal(saslprep("a\u00A0b\u3000c"), "a b c");
    assert.equal(saslprep("a\u200Bb"), "a b"); // C.1.2 wins over B.1
    assert.equal(saslprep("a\uFE0Fb\u200Dc"), "abc");
    assert.equal(saslprep("e\u0301"), "\u00E9");
    assert.equal(saslprep(""), "");
  });
  await t.step("prohibited output", () => {
    for (
      const [s, re] of [
        ["a\u0000", /ASCII control/],
        ["a\u007F", /ASCII control/],
        ["a\u0085", /non-ASCII control/],
        ["a\u2028", /non-ASCII control/],
        ["a\uE000", /private use/],
        ["a\u{F0000}", /private use/],
        ["a\uFDD0", /non-character/],
        ["a\u{1FFFF}", /non-character/],
        ["a\uD800", /lone surrogate/],
        ["a\uFFFD", /plain text/],
        ["a\u2FF0", /canonical/],
        ["a\u202E", /display-changing/],
        ["a\u{E0041}", /tagging/],
      ] as const
    ) {
      assert.throws(() => saslprep(s, { what: "password" }), (e) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /^password contains /);
        assert.match(e.message, re);
        return true;
      });
    }
  });
  await t.step("bidirectional strings", () => {
    assert.equal(saslprep("\u05D0\u05D1"), "\u05D0\u05D1");
    assert.equal(saslprep("\u0627\u0031\u0628"), "\u0627\u0031\u0628");
    assert.throws(() => saslprep("\u05D0a\u05D1"), /mixes/);
    assert.throws(() => saslprep("1\u05D0"), /begin and end/);
  });
  await t.step("not a string", () => {
    assert.throws(() => saslprep(3 as unknown as string), TypeError);
  });
});
