import assert from "node:assert/strict";
import { Element } from "./element.ts";
import type { SessionState, StreamFeature } from "./feature.ts";
import { memoryPair, type MemoryPairOptions } from "./memory_duplex.ts";
import { negotiateClient, negotiateServer } from "./negotiate.ts";
import { StreamError } from "./stream_error.ts";
import { XmlStream } from "./xml_stream.ts";

const NS = "urn:example:test";

/** A feature done in one round trip, setting `set` in the state. */
function simple(
  name: string,
  set: Partial<SessionState>,
  extra: Partial<StreamFeature> = {},
): StreamFeature {
  return {
    name,
    ns: NS,
    list: () => new Element(name, NS),
    async negotiate({ stream }) {
      await stream.send(new Element(name, NS));
      const answer = await stream.read();
      assert.equal(answer?.name, `${name}-ok`);
      return { stream, state: set };
    },
    async accept({ stream }) {
      await stream.send(new Element(`${name}-ok`, NS));
      return { stream, state: set };
    },
    ...extra,
  };
}

/** A feature that restarts the stream on both sides (like SASL success). */
const restart: StreamFeature = {
  name: "restart",
  ns: NS,
  prohibited: ["authenticated"],
  list: () => new Element("restart", NS, {}, [new Element("required", NS)]),
  required: () => true,
  unnegotiated: "not-authorized",
  async negotiate({ stream }) {
    await stream.send(new Element("restart", NS));
    assert.equal((await stream.read())?.name, "go");
    return {
      stream: await stream.restart(),
      state: { authenticated: true, identity: "alice@example.org" },
    };
  },
  async accept({ stream }) {
    await stream.send(new Element("go", NS));
    return {
      stream: await stream.restart(),
      state: { authenticated: true, identity: "alice@example.org" },
    };
  },
};

const bind = simple("bind", { bound: true, jid: "alice@example.org/x" }, {
  necessary: ["authenticated"],
  required: () => true,
});

async function pair(options: MemoryPairOptions = { info: { secure: true } }) {
  const [a, b] = memoryPair(options);
  return await Promise.all([
    XmlStream.open(a, { to: "example.org" }),
    XmlStream.accept(b, { domains: ["example.org"] }),
  ]);
}

Deno.test("negotiate: features as data, both sides", async (t) => {
  await t.step("a restart, then a feature that needs its state", async () => {
    const [c, s] = await pair();
    const [client, server] = await Promise.all([
      negotiateClient(c, { features: [bind, restart] }),
      negotiateServer(s, { features: [restart, bind] }),
    ]);
    for (const side of [client, server]) {
      assert.deepEqual(side.state, {
        secure: true,
        authenticated: true,
        bound: true,
        identity: "alice@example.org",
        jid: "alice@example.org/x",
      });
    }
    assert.notEqual(client.stream, c, "the stream was restarted");
    assert.notEqual(client.stream.id, c.id);
    // The last features: only what was still usable after the restart.
    assert.deepEqual(client.features?.elements.map((e) => e.name), ["bind"]);
    await Promise.all([client.stream.close(), server.stream.close()]);
  });

  await t.step("the client takes its own order of preference", async () => {
    const order: string[] = [];
    const track = (f: StreamFeature): StreamFeature => ({
      ...f,
      negotiate: (ctx, el) => (order.push(f.name), f.negotiate!(ctx, el)),
    });
    const one = simple("one", {}), two = simple("two", {});
    const [c, s] = await pair();
    const [client, server] = await Promise.all([
      negotiateClient(c, { features: [track(two), track(one)] }),
      negotiateServer(s, { features: [one, two] }),
    ]);
    assert.deepEqual(order, ["two", "one"]);
    await Promise.all([client.stream.close(), server.stream.close()]);
  });

  await t.step(
    "a stanza after the required features is handed back",
    async () => {
      const optional = simple("optional", {});
      const [c, s] = await pair();
      const [client, server] = await Promise.all([
        negotiateClient(c, { features: [] }),
        negotiateServer(s, { features: [optional] }),
        c.send(
          new Element("message", "jabber:client", { to: "b@example.org" }),
        ),
      ]).then(([cl, sv]) => [cl, sv] as const);
      assert.equal(server.pending?.name, "message");
      await Promise.all([client.stream.close(), server.stream.close()]);
    },
  );
});

Deno.test("negotiate: refusals", async (t) => {
  await t.step(
    "skipping a required feature gets its stream error",
    async () => {
      const [c, s] = await pair();
      const serving = negotiateServer(s, { features: [restart] });
      serving.catch(() => {});
      await c.readFeatures();
      await c.send(new Element("message", "jabber:client"));
      await assert.rejects(
        serving,
        (e) => e instanceof StreamError && e.condition === "not-authorized",
      );
      await assert.rejects(
        c.read(),
        (e) =>
          e instanceof StreamError && e.condition === "not-authorized" &&
          e.origin === "remote",
      );
    },
  );

  await t.step(
    "a required feature the client lacks: unsupported-feature",
    async () => {
      const [c, s] = await pair();
      const [client, server] = await Promise.allSettled([
        negotiateClient(c, { features: [] }),
        negotiateServer(s, { features: [restart] }),
      ]);
      assert.equal(client.status, "rejected");
      assert.equal(
        (client.reason as StreamError).condition,
        "unsupported-feature",
      );
      assert.equal(server.status, "rejected");
      assert.equal(
        (server.reason as StreamError).condition,
        "unsupported-feature",
      );
      assert.equal((server.reason as StreamError).origin, "remote");
    },
  );

  await t.step(
    "no way to TLS: policy-violation, never a plaintext session",
    async () => {
      const [c, s] = await pair({}); // an insecure transport
      let authenticated = false;
      const auth = simple("auth", { authenticated: true }, {
        necessary: ["secure"], // as SASL is: never in plaintext
        negotiate: () => {
          authenticated = true;
          throw new Error("must not run");
        },
      });
      const [client] = await Promise.allSettled([
        negotiateClient(c, { features: [auth] }),
        negotiateServer(s, { features: [{ ...auth, necessary: [] }] }),
      ]);
      assert.equal(client.status, "rejected");
      assert.equal(
        (client.reason as StreamError).condition,
        "policy-violation",
      );
      assert.match((client.reason as StreamError).message, /without TLS/);
      assert.equal(authenticated, false);
    },
  );

  await t.step("endless restarts are cut off", async () => {
    const loop: StreamFeature = {
      ...restart,
      prohibited: [],
      negotiate: async ({ stream }) => {
        await stream.send(new Element("restart", NS));
        await stream.read();
        return { stream: await stream.restart() };
      },
      accept: async ({ stream }) => {
        await stream.send(new Element("go", NS));
        return { stream: await stream.restart() };
      },
    };
    const [c, s] = await pair();
    const [client, server] = await Promise.allSettled([
      negotiateClient(c, { features: [loop], maxRestarts: 3 }),
      negotiateServer(s, { features: [loop], maxRestarts: 10 }),
    ]);
    assert.equal(client.status, "rejected");
    assert.match((client.reason as Error).message, /3 stream restarts/);
    assert.equal(server.status, "rejected");
  });
});

Deno.test("negotiate: the client can start from features already read", async () => {
  const [c, s] = await pair();
  const serving = negotiateServer(s, { features: [restart, bind] });
  const offered = await c.readFeatures();
  assert.ok(offered.getChild("restart", NS));
  const [client, server] = await Promise.all([
    negotiateClient(c, { features: [restart, bind], offered }),
    serving,
  ]);
  assert.equal(client.state.jid, "alice@example.org/x");
  await Promise.all([client.stream.close(), server.stream.close()]);
});
