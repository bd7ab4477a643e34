import assert from "node:assert/strict";
import { Element } from "../stream/element.ts";
import { XmlParser } from "../stream/parser.ts";
import { starttlsElement, starttlsOffer } from "./feature.ts";

Deno.test("starttls: feature element and offer detection", () => {
  const streams = "http://etherx.jabber.org/streams";
  const features = (xml: string) => {
    const p = new XmlParser();
    const ev = p.write(new TextEncoder().encode(
      `<stream:stream xmlns='jabber:client' xmlns:stream='${streams}' version='1.0'>${xml}`,
    ));
    const f = ev.find((e) => e.type === "element");
    assert.ok(f?.type === "element");
    return f.element;
  };
  const tls = "urn:ietf:params:xml:ns:xmpp-tls";
  assert.equal(
    starttlsOffer(
      features(
        `<stream:features><starttls xmlns='${tls}'><required/></starttls></stream:features>`,
      ),
    ),
    "required",
  );
  assert.equal(
    starttlsOffer(
      features(`<stream:features><starttls xmlns='${tls}'/></stream:features>`),
    ),
    "optional",
  );
  assert.equal(starttlsOffer(features(`<stream:features/>`)), "none");
  assert.equal(
    starttlsOffer(
      features(
        `<stream:features><starttls xmlns='urn:other'/></stream:features>`,
      ),
    ),
    "none",
  );
  assert.equal(
    starttlsOffer(new Element("features", streams, {}, [starttlsElement()])),
    "required",
  );
  assert.equal(
    starttlsOffer(
      new Element("features", streams, {}, [
        starttlsElement({ required: false }),
      ]),
    ),
    "optional",
  );
});
