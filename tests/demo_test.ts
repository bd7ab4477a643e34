import assert from "node:assert/strict";

Deno.test("deno task demo runs and shows every part", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../examples/demo.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /alice over starttls: alice@example\.test\/demo/);
  assert.match(text, /bob over directtls: bob@example\.test\/demo/);
  assert.match(text, /carol over quic: carol@example\.test\/demo/);
  assert.match(
    text,
    /alice got "hello from QUIC" from carol@example\.test\/demo/,
  );
  assert.match(text, /tls +TLSv1\.[23]/);
  assert.match(text, /SNI example\.test/);
  assert.match(
    text,
    /bob got it from alice@example\.test\/demo: "Wherefore art thou\? <3 & 🌹"/,
  );
  assert.match(
    text,
    /<stream:error><restricted-xml xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/,
  );
  assert.match(text, /the server shut down/);
});
