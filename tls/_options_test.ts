import assert from "node:assert/strict";
import { checkHighWaterMark, checkTimeout } from "./_options.ts";

Deno.test("options: timeout and highWaterMark", () => {
  assert.equal(checkTimeout(5, "timeout"), 5);
  for (const bad of [0, -1, NaN, Infinity, "5"]) {
    assert.throws(() => checkTimeout(bad, "timeout"), RangeError);
  }
  assert.equal(checkHighWaterMark(0), 0);
  for (const bad of [-1, NaN, Infinity, "1"]) {
    assert.throws(() => checkHighWaterMark(bad), RangeError);
  }
});
