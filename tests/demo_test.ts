import assert from "node:assert/strict";

Deno.test("deno task demo runs and shows both conversations", async () => {
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
  assert.match(
    text,
    /client1 got <message>: "echo: Wherefore art thou\? <3 & 🌹"/,
  );
  assert.match(text, /client1 closed: sent and received <\/stream:stream>/);
  assert.match(text, /server2 refused the client: <restricted-xml\/>/);
  assert.match(
    text,
    /<stream:error><restricted-xml xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/,
  );
});
