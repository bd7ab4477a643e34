import assert from "node:assert/strict";
import { Element } from "./element.ts";
import { openingTag, readHeader, STREAMS_NS } from "./header.ts";
import { XmlParser } from "./parser.ts";
import { StreamError } from "./stream_error.ts";

Deno.test("header: what openingTag writes, readHeader reads", () => {
  const tag = openingTag({
    ns: "jabber:server",
    to: "b.example",
    from: "a.example",
    id: "x'\"<",
    version: "1.0",
    lang: "en",
  });
  const [open] = new XmlParser().write(new TextEncoder().encode(tag));
  assert.ok(open.type === "open");
  assert.deepEqual(readHeader(open.element, open.namespaces, "jabber:server"), {
    ns: "jabber:server",
    to: "b.example",
    from: "a.example",
    id: "x'\"<",
    version: "1.0",
    lang: "en",
  });
});

Deno.test("header: bad headers get the RFC 6120 condition", async (t) => {
  const table: [string, Element, Record<string, string>, string][] = [
    ["not <stream>", new Element("strean", STREAMS_NS, { version: "1.0" }), {
      "": "jabber:client",
    }, "invalid-namespace"],
    [
      "stream in another namespace",
      new Element("stream", "urn:x", { version: "1.0" }),
      { "": "jabber:client" },
      "invalid-namespace",
    ],
    [
      "no content namespace",
      new Element("stream", STREAMS_NS, { version: "1.0" }),
      {},
      "invalid-namespace",
    ],
    [
      "server namespace on a client stream",
      new Element("stream", STREAMS_NS, { version: "1.0" }),
      { "": "jabber:server" },
      "invalid-namespace",
    ],
    [
      "no version",
      new Element("stream", STREAMS_NS),
      { "": "jabber:client" },
      "unsupported-version",
    ],
    ["version 0.9", new Element("stream", STREAMS_NS, { version: "0.9" }), {
      "": "jabber:client",
    }, "unsupported-version"],
    [
      "version garbage",
      new Element("stream", STREAMS_NS, { version: "1.0a" }),
      { "": "jabber:client" },
      "unsupported-version",
    ],
  ];
  for (const [name, root, namespaces, condition] of table) {
    await t.step(name, () => {
      assert.throws(
        () => readHeader(root, namespaces, "jabber:client"),
        (e) => e instanceof StreamError && e.condition === condition,
      );
    });
  }
  await t.step("a minor version above 0 is fine", () => {
    const root = new Element("stream", STREAMS_NS, { version: "1.1" });
    assert.equal(
      readHeader(root, { "": "jabber:client" }, "jabber:client").version,
      "1.1",
    );
  });
});
