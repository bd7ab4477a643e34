import assert from "node:assert/strict";
import { isMechanismName, MECHANISM_NAMES } from "./mechanism.ts";

Deno.test("mechanism names", () => {
  assert.deepEqual([...MECHANISM_NAMES], [
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "PLAIN",
    "EXTERNAL",
  ]);
  for (const n of MECHANISM_NAMES) assert.equal(isMechanismName(n), true);
  for (const n of ["DIGEST-MD5", "scram-sha-1", "", "SCRAM-SHA-512"]) {
    assert.equal(isMechanismName(n), false);
  }
});
