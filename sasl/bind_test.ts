import assert from "node:assert/strict";
import { memoryPair } from "../stream/memory_duplex.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { Element } from "../stream/element.ts";
import { StreamError } from "../stream/stream_error.ts";
import {
  acceptBind,
  type AcceptBindOptions,
  bind,
  BIND_NS,
  BindError,
  bindFeature,
  prepareResource,
  STANZAS_NS,
} from "./bind.ts";

async function open() {
  const [a, b] = memoryPair({ info: { secure: true } });
  const [client, server] = await Promise.all([
    XmlStream.open(a, { to: "example.org" }),
    XmlStream.accept(b, { domains: ["example.org"] }),
  ]);
  return { client, server };
}

async function settle<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return (await Promise.allSettled([p]))[0];
}

async function run(
  resource: string | undefined,
  options: Partial<AcceptBindOptions> = {},
) {
  const { client, server } = await open();
  const s = settle(
    acceptBind(server, {
      domain: "example.org",
      username: "alice",
      ...options,
    }),
  );
  const c = settle((async () => {
    const features = await client.readFeatures();
    assert.ok(features.getChild("bind", BIND_NS));
    return await bind(client, { resource });
  })());
  const [cr, sr] = await Promise.all([c, s]);
  await Promise.all([client.close(), server.close()]);
  return { c: cr, s: sr };
}

function ok<T>(r: PromiseSettledResult<T>): T {
  if (r.status === "rejected") throw r.reason;
  return r.value;
}

Deno.test("bind + acceptBind", async (t) => {
  await t.step("the requested resource", async () => {
    const { c, s } = await run("laptop");
    assert.equal(ok(c), "alice@example.org/laptop");
    assert.equal(ok(s), "alice@example.org/laptop");
  });
  await t.step("no resource requested: a random one", async () => {
    const { c, s } = await run(undefined);
    assert.match(ok(c), /^alice@example\.org\/[A-Za-z0-9_-]{16}$/);
    assert.equal(ok(c), ok(s));
    const again = await run(undefined);
    assert.notEqual(ok(again.c), ok(c));
  });
  await t.step("the resource is prepared", async () => {
    const { c } = await run("caf\u0065\u0301\u00A01");
    assert.equal(ok(c), "alice@example.org/caf\u00E9 1");
  });
  await t.step("server policy overrides the request", async () => {
    const { c } = await run("laptop", { resourcePolicy: "server" });
    assert.match(ok(c), /^alice@example\.org\/[A-Za-z0-9_-]{16}$/);
  });
  await t.step("conflict: rename", async () => {
    const seen: string[] = [];
    const { c } = await run("laptop", {
      conflict: (jid) => {
        seen.push(jid);
        return jid.endsWith("/laptop") ? "rename" : "accept";
      },
    });
    assert.match(ok(c), /^alice@example\.org\/[A-Za-z0-9_-]{16}$/);
    assert.equal(seen[0], "alice@example.org/laptop");
    assert.equal(seen.length, 2);
  });
  await t.step("conflict: refuse, then the client retries", async () => {
    const { client, server } = await open();
    const s = settle(acceptBind(server, {
      domain: "example.org",
      username: "alice",
      conflict: (jid) =>
        Promise.resolve(jid.endsWith("/phone") ? "refuse" : "accept"),
    }));
    await client.readFeatures();
    await assert.rejects(bind(client, { resource: "phone" }), (e) => {
      assert.ok(e instanceof BindError);
      assert.equal(e.condition, "conflict");
      assert.equal(e.origin, "remote");
      assert.equal(e.text, "that resource is in use");
      return true;
    });
    assert.equal(
      await bind(client, { resource: "tablet" }),
      "alice@example.org/tablet",
    );
    assert.equal(ok(await s), "alice@example.org/tablet");
    await Promise.all([client.close(), server.close()]);
  });
  await t.step("conflict: refuse forever hits the attempts limit", async () => {
    const { client, server } = await open();
    const s = settle(acceptBind(server, {
      domain: "example.org",
      username: "alice",
      conflict: () => "refuse",
      maxAttempts: 2,
    }));
    await client.readFeatures();
    await assert.rejects(bind(client), BindError);
    await assert.rejects(bind(client), BindError);
    const r = await s;
    assert.equal(r.status, "rejected");
    assert.equal(
      ((r as PromiseRejectedResult).reason as StreamError).condition,
      "policy-violation",
    );
    await assert.rejects(
      client.read(),
      (e) => (e as StreamError).condition === "policy-violation",
    );
  });
  await t.step("an invalid or oversized resource: bad-request", async () => {
    for (
      const [resource, max] of [["a\u0378", 1023], ["a\u0085", 1023], [
        "x".repeat(11),
        10,
      ]] as const
    ) {
      const { client, server } = await open();
      const s = settle(acceptBind(server, {
        domain: "example.org",
        username: "alice",
        maxResourceLength: max,
        maxAttempts: 1,
      }));
      await client.readFeatures();
      await client.send(
        new Element("iq", "jabber:client", { type: "set", id: "b1" }, [
          new Element("bind", BIND_NS, {}, [
            new Element("resource", BIND_NS, {}, [resource]),
          ]),
        ]),
      );
      const answer = await client.read();
      assert.equal(answer?.attrs.type, "error");
      assert.equal(answer?.attrs.id, "b1");
      const error = answer?.getChild("error");
      assert.equal(error?.attrs.type, "modify");
      assert.ok(error?.getChild("bad-request", STANZAS_NS));
      assert.equal((await s).status, "rejected");
      await client.close();
    }
  });
  await t.step("anything but a bind request: not-authorized", async () => {
    const { client, server } = await open();
    const s = settle(
      acceptBind(server, { domain: "example.org", username: "alice" }),
    );
    await client.readFeatures();
    await client.send(
      new Element("message", "jabber:client", { to: "bob@example.org" }),
    );
    const r = await s;
    assert.equal(
      ((r as PromiseRejectedResult).reason as StreamError).condition,
      "not-authorized",
    );
    await assert.rejects(
      client.read(),
      (e) => (e as StreamError).condition === "not-authorized",
    );
  });
  await t.step("a bind get: bad-request", async () => {
    const { client, server } = await open();
    const s = settle(
      acceptBind(server, { domain: "example.org", username: "alice" }),
    );
    await client.readFeatures();
    await client.send(
      new Element("iq", "jabber:client", { type: "get", id: "g" }, [
        bindFeature(),
      ]),
    );
    assert.equal((await client.read())?.attrs.type, "error");
    assert.equal(await bind(client), ok(await s));
    await Promise.all([client.close(), server.close()]);
  });
  await t.step("the client goes away", async () => {
    const { client, server } = await open();
    const s = settle(
      acceptBind(server, { domain: "example.org", username: "alice" }),
    );
    await client.readFeatures();
    await client.close();
    assert.ok(
      ((await s) as PromiseRejectedResult).reason instanceof StreamError,
    );
  });
  await t.step("bad options", async () => {
    const { client, server } = await open();
    for (
      const o of [
        { domain: "", username: "a" },
        { domain: "example.org", username: "a@b" },
        { domain: "example.org", username: "" },
        { domain: "exa mple.org", username: "a" },
      ]
    ) await assert.rejects(acceptBind(server, o), TypeError);
    await assert.rejects(
      acceptBind(server, {
        domain: "x",
        username: "a",
        maxResourceLength: 2000,
      }),
      RangeError,
    );
    await assert.rejects(
      acceptBind(server, { domain: "x", username: "a", maxAttempts: 0 }),
      RangeError,
    );
    await assert.rejects(bind(client, { resource: "" }), TypeError);
    await assert.rejects(
      bind(client, { resource: "x".repeat(1024) }),
      TypeError,
    );
    await Promise.all([client.close(), server.close()]);
  });
});

/** The client against a scripted server answer. */
async function answer(reply: (id: string) => Element) {
  const { client, server } = await open();
  const c = settle(bind(client, { resource: "r" }));
  const request = await server.read();
  await server.send(reply(request!.attrs.id));
  const r = await c;
  await Promise.all([client.close(), server.close()]);
  return r;
}

Deno.test("bind: the server's answer", async (t) => {
  const iq = (id: string, type: string, children: Element[] = []) =>
    new Element("iq", "jabber:client", { id, type }, children);
  const result = (jid: string) => (id: string) =>
    iq(id, "result", [
      new Element("bind", BIND_NS, {}, [
        new Element("jid", BIND_NS, {}, [jid]),
      ]),
    ]);
  await t.step("a server-assigned resource is accepted", async () => {
    assert.equal(
      ok(await answer(result("alice@example.org/other"))),
      "alice@example.org/other",
    );
  });
  await t.step("an error with its condition and text", async () => {
    const r = await answer((id) =>
      iq(id, "error", [
        new Element("error", "jabber:client", { type: "wait" }, [
          new Element("resource-constraint", STANZAS_NS),
          new Element("text", STANZAS_NS, {}, ["too many sessions"]),
        ]),
      ])
    );
    const e = (r as PromiseRejectedResult).reason;
    assert.ok(e instanceof BindError);
    assert.equal(e.condition, "resource-constraint");
    assert.equal(e.text, "too many sessions");
  });
  await t.step("a result without a usable JID", async () => {
    for (
      const jid of [
        "",
        "alice@example.org",
        "@example.org/r",
        "alice@/r",
        "a@b/" + "x".repeat(1024),
      ]
    ) {
      const e = ((await answer(result(jid))) as PromiseRejectedResult).reason;
      assert.ok(e instanceof BindError, String(e));
      assert.equal(e.origin, "local");
    }
    const e = ((await answer((id) =>
      iq(id, "result")
    )) as PromiseRejectedResult).reason;
    assert.ok(e instanceof BindError);
  });
  await t.step("something else: bad-format", async () => {
    for (
      const reply of [
        (id: string) => iq(id + "x", "result"),
        (id: string) => iq(id, "set"),
      ]
    ) {
      const e = ((await answer(reply)) as PromiseRejectedResult).reason;
      assert.ok(e instanceof StreamError);
      assert.equal(e.condition, "bad-format");
    }
  });
});

Deno.test("prepareResource", () => {
  assert.equal(prepareResource("Home"), "Home");
  assert.equal(prepareResource("a\u3000b"), "a b");
  for (
    const bad of ["", "a\u0000", "a\u0085", "a\uD800", "a\u{E0000}x\u0378"]
  ) {
    assert.throws(() => prepareResource(bad), TypeError, JSON.stringify(bad));
  }
  assert.throws(
    () => prepareResource("é".repeat(6), 11),
    /longer than 11 bytes/,
  );
  assert.throws(() => prepareResource(1 as unknown as string), TypeError);
});
