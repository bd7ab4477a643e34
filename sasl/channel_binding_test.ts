import assert from "node:assert/strict";
import { checkChannelBinding } from "./channel_binding.ts";
import type { ChannelBinding } from "./channel_binding.ts";

Deno.test("checkChannelBinding", () => {
  const ok: ChannelBinding = { type: "tls-exporter", data: new Uint8Array(32) };
  assert.equal(checkChannelBinding(ok), ok);
  for (
    const bad of [
      null,
      { type: "tls-nope", data: new Uint8Array(1) },
      { type: "tls-unique", data: new Uint8Array(0) },
      { type: "tls-unique", data: new Uint8Array(2000) },
      { type: "tls-unique", data: [1, 2] },
    ]
  ) {
    assert.throws(
      () => checkChannelBinding(bad as unknown as ChannelBinding),
      TypeError,
    );
  }
});
