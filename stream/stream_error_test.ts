import assert from "node:assert/strict";
import {
  isStreamErrorCondition,
  STREAM_ERROR_CONDITIONS,
  StreamError,
} from "./stream_error.ts";

Deno.test("StreamError: all 25 RFC 6120 conditions", () => {
  assert.equal(STREAM_ERROR_CONDITIONS.length, 25);
  assert.equal(new Set(STREAM_ERROR_CONDITIONS).size, 25);
  for (const c of STREAM_ERROR_CONDITIONS) assert.ok(isStreamErrorCondition(c));
  assert.ok(!isStreamErrorCondition("toString"));
});

Deno.test("StreamError: local and remote errors read differently", () => {
  const local = new StreamError("policy-violation", "too big");
  assert.equal(local.origin, "local");
  assert.equal(local.text, "too big");
  assert.match(local.message, /policy-violation.*too big/);
  const remote = new StreamError("see-other-host", undefined, {
    origin: "remote",
    text: "moved",
    seeOtherHost: "b.example",
  });
  assert.match(
    remote.message,
    /^peer sent stream error <see-other-host\/>: moved$/,
  );
  assert.equal(remote.seeOtherHost, "b.example");
  assert.equal(remote.name, "StreamError");
  const cause = new Error("x");
  assert.equal(new StreamError("reset", "r", { cause }).cause, cause);
});
