import assert from "node:assert/strict";
import { Element } from "../stream/element.ts";
import type { StreamFeature } from "../stream/feature.ts";
import { memoryPair } from "../stream/memory_duplex.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { MemoryCredentialStore } from "../sasl/credentials.ts";
import { connectionFeatures, streamDomain } from "./_serve_features.ts";

const base = {
  sasl: { store: new MemoryCredentialStore() },
  bind: { conflict: () => "accept" as const },
  extra: [],
};

Deno.test("connectionFeatures: STARTTLS only where given, then SASL, bind, extras", () => {
  const extra: StreamFeature = { name: "x", ns: "urn:x" };
  const direct = connectionFeatures({ ...base, extra: [extra] }, {});
  assert.deepEqual(direct.map((f) => f.name), ["mechanisms", "bind", "x"]);
  const plain = connectionFeatures({
    ...base,
    starttls: { upgrade: (raw) => Promise.resolve(raw), required: true },
  }, {});
  assert.deepEqual(plain.map((f) => f.name), [
    "starttls",
    "mechanisms",
    "bind",
  ]);
  assert.equal(
    plain[0].required?.({
      secure: false,
      authenticated: false,
      bound: false,
    }),
    true,
  );
});

Deno.test("connectionFeatures: the tracker follows the stream a feature returns", async () => {
  const [a, b] = memoryPair({ info: { secure: true } });
  const [client, server] = await Promise.all([
    XmlStream.open(a, { to: "example.test" }),
    XmlStream.accept(b),
  ]);
  const NS = "urn:example:t";
  const tracker: { current?: XmlStream } = {};
  const swap = { stream: server };
  const feature: StreamFeature = {
    name: "t",
    ns: NS,
    accept: (ctx) => {
      assert.equal(tracker.current, ctx.stream);
      return Promise.resolve(swap);
    },
  };
  const [wrapped] = connectionFeatures({ ...base, extra: [feature] }, tracker)
    .slice(-1);
  await wrapped.accept!({
    stream: client,
    state: { secure: true, authenticated: false, bound: false },
  }, new Element("t", NS));
  assert.equal(tracker.current, server);
  await Promise.all([
    client.close({ timeout: 0 }),
    server.close({ timeout: 0 }),
  ]);
});

Deno.test("streamDomain: the header's to, lower-cased", () => {
  const xs = (to?: string) => ({ peerHeader: { to } }) as unknown as XmlStream;
  assert.equal(streamDomain(xs("Example.TEST")), "example.test");
  assert.throws(() => streamDomain(xs()), TypeError);
});
