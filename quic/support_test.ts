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

Deno.test("quic: without the flag every entry point names the flag", async () => {
  const root = new URL("../", import.meta.url);
  const code = `
    const m = await import(${
    JSON.stringify(new URL("quic/mod.ts", root).href)
  });
    const candidate = { transport: "quic", host: "127.0.0.1", port: 443,
      serverName: "localhost", alpn: "xmpp-client", priority: 0, weight: 0,
      source: "srv" };
    const calls = {
      dialQuic: () => m.dialQuic(candidate),
      openQuicConnection: () => m.openQuicConnection(candidate),
      listenQuic: () => m.listenQuic({ port: 0, certificate: { cert: "", key: "" } }),
      createQuicEndpoint: () => m.createQuicEndpoint(),
    };
    for (const [name, call] of Object.entries(calls)) {
      try { await call(); console.log(name + ": no error"); }
      catch (e) { console.log(name + ": " + e.name + ": " + e.message.slice(0, 90)); }
    }
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-lock", "--node-modules-dir=none", code],
    cwd: Deno.makeTempDirSync(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.equal(lines.length, 4);
  for (const line of lines) {
    assert.match(
      line,
      /^\w+: NotSupported: XMPP over QUIC needs Deno's unstable QUIC API: run with --unstable-net/,
    );
  }
});
