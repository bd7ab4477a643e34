import assert from "node:assert/strict";
import { serviceNames } from "./services.ts";

Deno.test("srv: service names for both kinds", () => {
  assert.deepEqual(serviceNames("client"), {
    starttls: "_xmpp-client._tcp",
    directTls: "_xmpps-client._tcp",
  });
  assert.deepEqual(serviceNames("server"), {
    starttls: "_xmpp-server._tcp",
    directTls: "_xmpps-server._tcp",
  });
  assert.throws(() => serviceNames("bogus" as "client"), TypeError);
});
