import assert from "node:assert/strict";
import { b, exchange, s } from "./_test_util.ts";

Deno.test("_test_util: exchange drives both sides", async () => {
  const { outcome, transcript } = await exchange(
    {
      name: "X",
      start: () => Promise.resolve(b("hi")),
      challenge: (d) => Promise.resolve(b(s(d) + "!")),
      success: () => Promise.resolve(),
    },
    {
      name: "X",
      step: (r) =>
        Promise.resolve(
          s(r) === "hi"
            ? { challenge: b("?") }
            : { success: { username: "u" }, additionalData: null },
        ),
    },
  );
  assert.deepEqual(outcome, { username: "u" });
  assert.deepEqual(transcript, ["C: hi", "S: ?", "C: ?!", "S+: <null>"]);
});
