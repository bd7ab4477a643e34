import assert from "node:assert/strict";
import { ALPN_CLIENT, ALPN_SERVER, alpnFor } from "./alpn.ts";

Deno.test("tls: ALPN per stream namespace", () => {
  assert.equal(alpnFor("jabber:client"), ALPN_CLIENT);
  assert.equal(alpnFor("jabber:server"), ALPN_SERVER);
  assert.throws(() => alpnFor("jabber:component:accept"), TypeError);
});
