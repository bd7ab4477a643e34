import assert from "node:assert/strict";
import { Element } from "../stream/element.ts";
import { serialize } from "../stream/writer.ts";
import {
  channelBindingFeature,
  mechanismsFeature,
  offeredChannelBindings,
  offeredMechanisms,
  SASL_CB_NS,
} from "./feature.ts";
import { SASL_NS } from "./sasl_error.ts";

const STREAMS_NS = "http://etherx.jabber.org/streams";
const features = (...children: Element[]) =>
  new Element("features", STREAMS_NS, {}, children);

Deno.test("mechanismsFeature / offeredMechanisms", async (t) => {
  await t.step("round trip, in order", () => {
    const f = mechanismsFeature(["SCRAM-SHA-1-PLUS", "PLAIN"]);
    assert.equal(
      serialize(f),
      '<mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>PLAIN</mechanism></mechanisms>',
    );
    assert.deepEqual(offeredMechanisms(features(f)), [
      "SCRAM-SHA-1-PLUS",
      "PLAIN",
    ]);
  });
  await t.step("bad names refused when building", () => {
    for (const bad of ["plain", "", "A".repeat(21), "SCRAM SHA"]) {
      assert.throws(() => mechanismsFeature([bad]), TypeError);
    }
  });
  await t.step(
    "reading skips junk, duplicates, other namespaces; bounded",
    () => {
      const m = (text: string, ns = SASL_NS) =>
        new Element("mechanism", ns, {}, [text]);
      const f = features(
        new Element("mechanisms", SASL_NS, {}, [
          m(" PLAIN\n"),
          m("PLAIN"),
          m("bad name"),
          m("X-OTHER", "urn:other"),
          m("A".repeat(30)),
          ...Array.from({ length: 100 }, (_, i) => m(`M${i}`)),
        ]),
      );
      const got = offeredMechanisms(f);
      assert.equal(got[0], "PLAIN");
      assert.equal(got.length, 64);
      assert.ok(!got.includes("X-OTHER"));
      assert.deepEqual(offeredMechanisms(features()), []);
    },
  );
});

Deno.test("channelBindingFeature / offeredChannelBindings (XEP-0440)", () => {
  const f = channelBindingFeature(["tls-exporter", "tls-server-end-point"]);
  assert.equal(f.ns, SASL_CB_NS);
  assert.deepEqual(offeredChannelBindings(features(f)), [
    "tls-exporter",
    "tls-server-end-point",
  ]);
  assert.equal(offeredChannelBindings(features()), null);
  const junk = new Element("sasl-channel-binding", SASL_CB_NS, {}, [
    new Element("channel-binding", SASL_CB_NS, {}),
    ...Array.from(
      { length: 40 },
      () => new Element("channel-binding", SASL_CB_NS, { type: "x" }),
    ),
  ]);
  assert.equal(offeredChannelBindings(features(junk))?.length, 16);
});
