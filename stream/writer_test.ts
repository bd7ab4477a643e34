import assert from "node:assert/strict";
import { Element } from "./element.ts";
import { XmlParser } from "./parser.ts";
import { escapeAttr, escapeText, serialize } from "./writer.ts";

/** Serialize inside a root, parse back, return the element. */
function roundTrip(el: Element): Element {
  const xml = `<r xmlns='jabber:client'>${
    serialize(el, { ns: "jabber:client" })
  }</r>`;
  const p = new XmlParser();
  const events = [...p.write(new TextEncoder().encode(xml)), ...p.end()];
  const found = events.find((e) => e.type === "element");
  assert.ok(found && found.type === "element", xml);
  return found.element;
}

Deno.test("writer: escaping", async (t) => {
  await t.step("text", () => {
    assert.equal(escapeText("a<b>&c]]>\r"), "a&lt;b&gt;&amp;c]]&gt;&#13;");
    assert.equal(escapeText("plain"), "plain");
  });
  await t.step("attributes", () => {
    assert.equal(
      escapeAttr(`"'<>&\t\n\r`),
      "&quot;'&lt;&gt;&amp;&#9;&#10;&#13;",
    );
  });
  await t.step("characters XML cannot carry are refused", () => {
    for (
      const bad of ["\u0000", "\u0008", "\uFFFE", "\uFFFF", "\uD800", "a\uDC00"]
    ) {
      assert.throws(() => escapeText(bad), TypeError, JSON.stringify(bad));
      assert.throws(() => escapeAttr(bad), TypeError, JSON.stringify(bad));
    }
    assert.equal(escapeText("\uD83D\uDE00"), "\uD83D\uDE00");
  });
});

Deno.test("writer: namespaces", async (t) => {
  await t.step("same default namespace: no declaration", () => {
    assert.equal(
      serialize(new Element("presence", "jabber:client"), {
        ns: "jabber:client",
      }),
      "<presence/>",
    );
  });
  await t.step("a child in another namespace declares it once", () => {
    const q = new Element("query", "jabber:iq:roster", {}, [
      new Element("item", "jabber:iq:roster", { jid: "a@b" }),
    ]);
    const iq = new Element("iq", "jabber:client", { type: "get" }, [q]);
    assert.equal(
      serialize(iq, { ns: "jabber:client" }),
      `<iq type="get"><query xmlns="jabber:iq:roster"><item jid="a@b"/></query></iq>`,
    );
  });
  await t.step("no namespace under a default one", () => {
    const el = new Element("a", "urn:a", {}, [new Element("b", "")]);
    assert.equal(serialize(el), `<a xmlns="urn:a"><b xmlns=""/></a>`);
  });
  await t.step("known prefixes are used", () => {
    const f = new Element("features", "http://etherx.jabber.org/streams");
    assert.equal(
      serialize(f, {
        ns: "jabber:client",
        prefixes: { "http://etherx.jabber.org/streams": "stream" },
      }),
      "<stream:features/>",
    );
  });
  await t.step("namespaced attributes get a declared prefix", () => {
    const el = new Element("x", "jabber:client", {
      "{urn:p}a": "1",
      "{urn:q}b": "2",
      "xml:lang": "en",
    });
    const back = roundTrip(el);
    assert.deepEqual(back.attrs, el.attrs);
  });
  await t.step("bad names and keys are refused", () => {
    assert.throws(() => serialize(new Element("a b", "")), TypeError);
    assert.throws(() => serialize(new Element("p:a", "")), TypeError);
    assert.throws(
      () => serialize(new Element("a", "", { "1x": "v" })),
      TypeError,
    );
    assert.throws(
      () => serialize(new Element("a", "", { xmlns: "u" })),
      TypeError,
    );
    assert.throws(
      () => serialize(new Element("a", "", { "{}x": "v" })),
      TypeError,
    );
  });
});

Deno.test("writer: what is written parses back to the same element", () => {
  const tricky = "<&>\"' \t\n\r]]> \u00E9\u20AC\uD83D\uDE00 &amp;";
  const el = new Element("message", "jabber:client", { to: tricky, id: "1" }, [
    new Element("body", "jabber:client", {}, [tricky]),
    new Element("x", "urn:x", { a: "" }, [
      new Element("y", "urn:y"),
      "t",
      new Element("z", "urn:x"),
    ]),
  ]);
  assert.deepEqual(roundTrip(el), el);
});
