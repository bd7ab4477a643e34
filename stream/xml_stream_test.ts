import { CLIENT_HEAD, rawPeer, SERVER_HEAD } from "./_test_raw_peer.ts";
import assert from "node:assert/strict";
import { Element } from "./element.ts";
import { STREAMS_NS } from "./header.ts";
import { memoryPair } from "./memory_duplex.ts";
import {
  STREAM_ERROR_CONDITIONS,
  STREAM_ERROR_NS,
  StreamError,
} from "./stream_error.ts";
import { XmlStream } from "./xml_stream.ts";

const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";

async function pair(): Promise<[XmlStream, XmlStream]> {
  const [a, b] = memoryPair();
  return await Promise.all([
    XmlStream.open(a, { to: "example.org" }),
    XmlStream.accept(b, { domains: ["example.org"] }),
  ]);
}

Deno.test("XmlStream: open, features, stanzas both ways, close", async () => {
  const [client, server] = await pair();
  assert.equal(client.peerHeader.from, "example.org");
  assert.equal(client.id, server.id);
  assert.ok(client.id);
  assert.equal(server.peerHeader.to, "example.org");
  await server.sendFeatures([
    new Element("starttls", TLS_NS, {}, [new Element("required", TLS_NS)]),
  ]);
  const features = await client.readFeatures();
  assert.ok(
    features.getChild("starttls", TLS_NS)?.getChild("required", TLS_NS),
  );
  await client.send([
    new Element("message", "jabber:client", { to: "b@example.org" }, [
      new Element("body", "jabber:client", {}, ['1 < 2 & "3"']),
    ]),
    new Element("presence", "jabber:client"),
  ]);
  const got: string[] = [];
  for await (const el of server) {
    got.push(el.name);
    if (el.name === "message") {
      assert.equal(el.getChild("body")?.text, '1 < 2 & "3"');
    }
    if (got.length === 2) break;
  }
  assert.deepEqual(got, ["message", "presence"]);
  await server.send(new Element("iq", "jabber:client", { type: "result" }));
  assert.equal((await client.read())?.attrs.type, "result");
  await Promise.all([client.close(), server.close()]);
  await client.close(); // idempotent
});

Deno.test("XmlStream: the peer's header is checked", async (t) => {
  const table: [string, string, string][] = [
    [
      "wrong stream namespace",
      "<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' version='1.0' to='example.org'>",
      "invalid-namespace",
    ],
    [
      "wrong content namespace",
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='example.org'>",
      "invalid-namespace",
    ],
    [
      "no version",
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org'>",
      "unsupported-version",
    ],
    [
      "version 2.0",
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='2.0' to='example.org'>",
      "unsupported-version",
    ],
    [
      "unknown host",
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='other.org'>",
      "host-unknown",
    ],
    ["not XML", "GET / HTTP/1.1\r\n", "not-well-formed"],
    ["a comment", "<!-- hi -->", "restricted-xml"],
  ];
  for (const [name, header, condition] of table) {
    await t.step(name, async () => {
      const [a, b] = memoryPair();
      const peer = rawPeer(a);
      const accepted = XmlStream.accept(b, { domains: ["example.org"] });
      accepted.catch(() => {}); // asserted below; never unhandled meanwhile
      await peer.send(header);
      await assert.rejects(accepted, (e) => {
        assert.ok(e instanceof StreamError);
        assert.equal(e.condition, condition);
        assert.equal(e.origin, "local");
        return true;
      });
      // The error went to the peer, after a header of ours.
      const sent = await peer.rest();
      assert.match(sent, /^<\?xml version='1.0'\?><stream:stream /);
      assert.ok(
        sent.endsWith(
          `<stream:error><${condition} xmlns="${STREAM_ERROR_NS}"/></stream:error></stream:stream>`,
        ) ||
          sent.includes(`<${condition} xmlns="${STREAM_ERROR_NS}"/><text`),
        sent,
      );
      peer.close();
    });
  }
});

Deno.test("XmlStream: every stream error condition, received and sent", async (t) => {
  for (const condition of STREAM_ERROR_CONDITIONS) {
    await t.step(`received <${condition}/>`, async () => {
      const [a, b] = memoryPair();
      const peer = rawPeer(b);
      const opening = XmlStream.open(a, { to: "example.org" });
      await peer.send(SERVER_HEAD);
      const xs = await opening;
      await peer.send(
        `<stream:error><${condition} xmlns='${STREAM_ERROR_NS}'>${
          condition === "see-other-host" ? "alt.example.org:5222" : ""
        }</${condition}><text xmlns='${STREAM_ERROR_NS}'>why</text></stream:error></stream:stream>`,
      );
      await assert.rejects(xs.read(), (e) => {
        assert.ok(e instanceof StreamError);
        assert.equal(e.condition, condition);
        assert.equal(e.origin, "remote");
        assert.equal(e.text, "why");
        if (condition === "see-other-host") {
          assert.equal(e.seeOtherHost, "alt.example.org:5222");
        }
        return true;
      });
      await assert.rejects(xs.read(), StreamError); // stays failed
      peer.close();
    });
    await t.step(`sent <${condition}/>`, async () => {
      const [client, server] = await pair();
      await server.sendError(condition, { text: "because" });
      await assert.rejects(client.read(), (e) => {
        assert.ok(e instanceof StreamError);
        assert.equal(e.condition, condition);
        assert.equal(e.text, "because");
        return true;
      });
    });
  }
  await t.step("an unknown condition is undefined-condition", async () => {
    const [a, b] = memoryPair();
    const peer = rawPeer(b);
    const opening = XmlStream.open(a);
    await peer.send(SERVER_HEAD);
    const xs = await opening;
    await peer.send(
      `<stream:error><made-up xmlns='${STREAM_ERROR_NS}'/></stream:error>`,
    );
    await assert.rejects(
      xs.read(),
      (e) => e instanceof StreamError && e.condition === "undefined-condition",
    );
    peer.close();
  });
});

Deno.test("XmlStream: bad input mid-stream is answered with the stream error", async (t) => {
  const table: [string, string, string][] = [
    ["restricted XML", "<message><!-- x --></message>", "restricted-xml"],
    ["malformed", "<message></iq>", "not-well-formed"],
    ["text at stream level", "hello", "bad-format"],
    [
      "oversized stanza",
      `<message>${"x".repeat(2000)}</message>`,
      "policy-violation",
    ],
  ];
  for (const [name, input, condition] of table) {
    await t.step(name, async () => {
      const [a, b] = memoryPair();
      const peer = rawPeer(a);
      const accepting = XmlStream.accept(b, {
        limits: { maxStanzaBytes: 1024 },
      });
      await peer.send(CLIENT_HEAD);
      const xs = await accepting;
      await peer.send(input);
      await assert.rejects(
        xs.read(),
        (e) => e instanceof StreamError && e.condition === condition,
      );
      const sent = await peer.rest();
      assert.ok(
        sent.includes(`<${condition} xmlns="${STREAM_ERROR_NS}"/>`),
        sent,
      );
      assert.ok(sent.endsWith("</stream:stream>"));
      peer.close();
    });
  }
});

Deno.test("XmlStream: restart never hands buffered bytes to the new stream", async (t) => {
  await t.step(
    "data after <proceed/> in the same write is refused",
    async () => {
      const [a, b] = memoryPair();
      const peer = rawPeer(b);
      const opening = XmlStream.open(a, { to: "example.org" });
      await peer.send(SERVER_HEAD);
      const xs = await opening;
      await peer.send(
        `<proceed xmlns='${TLS_NS}'/><message from='evil'><body>injected</body></message>`,
      );
      const proceed = await xs.read();
      assert.ok(proceed?.is("proceed", TLS_NS));
      assert.equal(xs.buffered, true);
      assert.throws(() => xs.detach(), (e) => {
        assert.ok(e instanceof StreamError);
        assert.equal(e.condition, "policy-violation");
        return true;
      });
      await peer.rest(); // the connection was closed
      peer.close();
    },
  );
  await t.step("a partial tag after <proceed/> counts too", async () => {
    const [a, b] = memoryPair();
    const peer = rawPeer(b);
    const opening = XmlStream.open(a);
    await peer.send(SERVER_HEAD);
    const xs = await opening;
    await peer.send(`<proceed xmlns='${TLS_NS}'/><mess`);
    await xs.read();
    await assert.rejects(xs.restart(), StreamError);
    peer.close();
  });
  await t.step("a clean restart opens a fresh stream", async () => {
    const [client, server] = await pair();
    await server.send(
      new Element("success", "urn:ietf:params:xml:ns:xmpp-sasl"),
    );
    assert.ok((await client.read())?.is("success"));
    const [c2, s2] = await Promise.all([client.restart(), server.restart()]);
    assert.notEqual(c2.id, client.id);
    assert.equal(c2.id, s2.id);
    await s2.sendFeatures([]);
    assert.equal((await c2.readFeatures()).children.length, 0);
    await assert.rejects(client.read(), Deno.errors.BadResource);
    await Promise.all([c2.close(), s2.close()]);
  });
  await t.step("discard drops what was buffered", async () => {
    const [a, b] = memoryPair();
    const peer = rawPeer(b);
    const opening = XmlStream.open(a);
    await peer.send(SERVER_HEAD);
    const xs = await opening;
    await peer.send(
      `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/><junk/>`,
    );
    await xs.read();
    const restarted = xs.restart(undefined, { buffered: "discard" });
    await peer.until(/<stream:stream [^>]*>.*<stream:stream /s);
    await peer.send(SERVER_HEAD + "<stream:features/>");
    const next = await restarted;
    const f = await next.readFeatures();
    assert.equal(f.name, "features"); // not <junk/>
    peer.close();
  });
});

Deno.test("XmlStream: timeouts and cancellation", async (t) => {
  await t.step("no header from the peer", async () => {
    const [a, b] = memoryPair();
    await assert.rejects(
      XmlStream.open(a, { headerTimeout: 50 }),
      (e) => e instanceof StreamError && e.condition === "connection-timeout",
    );
    b.close();
  });
  await t.step("abort while waiting for the header", async () => {
    const [a, b] = memoryPair();
    const ac = new AbortController();
    const p = XmlStream.open(a, { signal: ac.signal });
    ac.abort(new Error("user gave up"));
    await assert.rejects(p, /user gave up/);
    b.close();
  });
  await t.step("an aborted read loses no data", async () => {
    const [client, server] = await pair();
    const ac = new AbortController();
    const r = client.read({ signal: ac.signal });
    ac.abort(new Error("stop"));
    await assert.rejects(r, /stop/);
    await server.send(new Element("presence", "jabber:client"));
    assert.equal((await client.read())?.name, "presence");
    await Promise.all([client.close(), server.close()]);
  });
  await t.step(
    "close does not wait past closeTimeout for a silent peer",
    async () => {
      const [a, b] = memoryPair();
      const peer = rawPeer(b);
      const opening = XmlStream.open(a, { closeTimeout: 50 });
      await peer.send(SERVER_HEAD);
      const xs = await opening;
      await xs.close();
      const sent = await peer.rest();
      assert.ok(sent.endsWith("</stream:stream>"));
      peer.close();
    },
  );
  await t.step("EOF without </stream:stream>", async () => {
    const [a, b] = memoryPair();
    const peer = rawPeer(b);
    const opening = XmlStream.open(a);
    await peer.send(SERVER_HEAD);
    const xs = await opening;
    peer.close();
    await assert.rejects(xs.read(), StreamError);
  });
});

Deno.test("XmlStream: the peer closing the stream ends iteration", async () => {
  const [client, server] = await pair();
  await server.send(new Element("presence", "jabber:client"));
  const closing = server.close();
  const names: string[] = [];
  for await (const el of client) names.push(el.name);
  assert.deepEqual(names, ["presence"]);
  await client.close();
  await closing;
  await assert.rejects(
    client.send(new Element("presence", "jabber:client")),
    Deno.errors.BadResource,
  );
});

Deno.test("XmlStream: features must come first", async () => {
  const [client, server] = await pair();
  await server.send(new Element("message", "jabber:client"));
  await assert.rejects(
    client.readFeatures(),
    (e) => e instanceof StreamError && e.condition === "bad-format",
  );
  await assert.rejects(server.read(), StreamError);
  assert.equal(STREAMS_NS, "http://etherx.jabber.org/streams");
});

Deno.test("XmlStream: a server-to-server stream (jabber:server)", async () => {
  const [a, b] = memoryPair();
  const [initiating, receiving] = await Promise.all([
    XmlStream.open(a, {
      ns: "jabber:server",
      from: "a.example",
      to: "b.example",
    }),
    XmlStream.accept(b, { ns: "jabber:server", domains: ["b.example"] }),
  ]);
  assert.equal(receiving.peerHeader.from, "a.example");
  assert.equal(initiating.peerHeader.from, "b.example");
  assert.equal(initiating.peerHeader.to, "a.example");
  assert.equal(initiating.peerHeader.ns, "jabber:server");
  await initiating.send(
    new Element("message", "jabber:server", {
      from: "x@a.example",
      to: "y@b.example",
    }),
  );
  const m = await receiving.read();
  assert.equal(m?.ns, "jabber:server");
  await Promise.all([initiating.close(), receiving.close()]);
});

Deno.test("XmlStream: a client stream refuses a server-namespace peer", async () => {
  const [a, b] = memoryPair();
  // Settle both at once: whichever rejects first must not go unhandled.
  const [opened, accepted] = await Promise.allSettled([
    XmlStream.open(a, { ns: "jabber:client" }),
    XmlStream.accept(b, { ns: "jabber:server" }),
  ]);
  assert.equal(accepted.status, "rejected");
  assert.ok(
    accepted.reason instanceof StreamError &&
      accepted.reason.condition === "invalid-namespace",
  );
  // The answer's header already carries the wrong namespace, so the
  // initiator refuses it before reaching the peer's <stream:error/>.
  assert.equal(opened.status, "rejected");
  assert.ok(
    opened.reason instanceof StreamError &&
      opened.reason.condition === "invalid-namespace",
  );
});
