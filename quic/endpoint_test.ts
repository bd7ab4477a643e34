import assert from "node:assert/strict";
import { createQuicEndpoint } from "./endpoint.ts";

Deno.test("createQuicEndpoint: binds, and checks the port", () => {
  const ep = createQuicEndpoint({ hostname: "127.0.0.1" });
  assert.equal(ep.addr.hostname, "127.0.0.1");
  assert.ok(ep.addr.port > 0);
  ep.close();
  const any = createQuicEndpoint();
  assert.equal(any.addr.hostname, "::");
  any.close();
  assert.throws(() => createQuicEndpoint({ port: 70000 }), RangeError);
  assert.throws(() => createQuicEndpoint({ port: 1.5 }), RangeError);
});
