import assert from "node:assert/strict";
import { Element } from "./element.ts";

Deno.test("element: finding children", () => {
  const tls = "urn:ietf:params:xml:ns:xmpp-tls";
  const f = new Element("features", "http://etherx.jabber.org/streams", {}, [
    "\n",
    new Element("starttls", tls, {}, [new Element("required", tls)]),
    new Element("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl", {}, [
      new Element("mechanism", "urn:ietf:params:xml:ns:xmpp-sasl", {}, [
        "PLAIN",
      ]),
      new Element("mechanism", "urn:ietf:params:xml:ns:xmpp-sasl", {}, [
        "SCRAM-SHA-1",
      ]),
    ]),
  ]);
  assert.equal(f.elements.length, 2);
  assert.equal(f.getChild("starttls"), undefined, "default ns is the parent's");
  assert.ok(f.getChild("starttls", tls)?.getChild("required"));
  const mechs = f.getChild("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl")!;
  assert.deepEqual(mechs.getChildren("mechanism").map((m) => m.text), [
    "PLAIN",
    "SCRAM-SHA-1",
  ]);
  assert.deepEqual(mechs.getChildren("other"), []);
  assert.ok(f.is("features"));
  assert.ok(!f.is("features", tls));
  assert.equal(f.text, "\n");
});
