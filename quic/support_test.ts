import assert from "node:assert/strict";
import { assertQuicSupported, quicSupported } from "./support.ts";

Deno.test("quic: available with --unstable-net (deno.json sets it)", () => {
  assert.equal(quicSupported(), true);
  assertQuicSupported();
});

Deno.test("quic: without the flag the toolkit imports and QUIC fails clearly", async () => {
  const root = new URL("../", import.meta.url);
  const code = `
    const m = await import(${JSON.stringify(new URL("mod.ts", root).href)});
    console.log(m.quicSupported());
    try { m.assertQuicSupported(); } catch (e) { console.log(e.name + ": " + e.message); }
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-lock", "--node-modules-dir=none", code],
    cwd: Deno.makeTempDirSync(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(
    text,
    /^false\nNotSupported: XMPP over QUIC needs .*--unstable-net/,
  );
});
