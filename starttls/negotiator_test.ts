import { CLIENT_HEAD, rawPeer, SERVER_HEAD } from "../stream/_test_raw_peer.ts";
import assert from "node:assert/strict";
import type { Duplex } from "../stream/duplex.ts";
import { memoryPair } from "../stream/memory_duplex.ts";
import { negotiateClient, negotiateServer } from "../stream/negotiate.ts";
import { StreamError } from "../stream/stream_error.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { TLS_NS } from "./feature.ts";
import { startTlsClient, startTlsServer } from "./negotiator.ts";

/**
 * A stand-in for a TLS handshake: the same bytes, marked secure. The real
 * handshakes are tested in tls/ and against real servers in the interop
 * tier; here the negotiation logic is under test.
 */
function fakeTls(calls: string[], who: string) {
  return (raw: Duplex): Promise<Duplex> => {
    calls.push(who);
    return Promise.resolve({
      readable: raw.readable,
      writable: raw.writable,
      info: { ...raw.info, secure: true, transport: "tls" },
      close: () => raw.close(),
    });
  };
}

Deno.test("STARTTLS: client and server negotiate, then restart over TLS", async () => {
  const calls: string[] = [];
  const [a, b] = memoryPair();
  const [c, s] = await Promise.all([
    XmlStream.open(a, { to: "example.org" }),
    XmlStream.accept(b, { domains: ["example.org"] }),
  ]);
  const [client, server] = await Promise.all([
    negotiateClient(c, {
      features: [startTlsClient({ upgrade: fakeTls(calls, "client") })],
    }),
    negotiateServer(s, {
      features: [startTlsServer({ upgrade: fakeTls(calls, "server") })],
    }),
  ]);
  assert.deepEqual(calls.sort(), ["client", "server"]);
  assert.equal(client.state.secure, true);
  assert.equal(client.stream.info.secure, true);
  assert.notEqual(client.stream.id, c.id, "a new stream after TLS");
  // The features after TLS no longer offer STARTTLS.
  assert.equal(client.features?.getChild("starttls", TLS_NS), undefined);
  assert.equal(server.state.secure, true);
  await Promise.all([client.stream.close(), server.stream.close()]);
});

Deno.test("STARTTLS client refusals", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "<failure/>",
      `<failure xmlns='${TLS_NS}'/></stream:stream>`,
      /refused STARTTLS/,
    ],
    [
      "<proceed/><message/> in one write (response injection)",
      `<proceed xmlns='${TLS_NS}'/><message from='admin@example.org'><body>injected</body></message>`,
      /response injection/,
    ],
    [
      "<proceed/>, a newline and a stanza in one write",
      `<proceed xmlns='${TLS_NS}'/>\n<message><body>x</body></message>`,
      /response injection/,
    ],
    [
      "<proceed/> and half a tag in one write",
      `<proceed xmlns='${TLS_NS}'/><mess`,
      /response injection/,
    ],
    [
      "another element",
      `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`,
      /instead of answering STARTTLS/,
    ],
  ];
  for (const [name, answer, message] of cases) {
    await t.step(name, async () => {
      const calls: string[] = [];
      const [a, b] = memoryPair();
      const peer = rawPeer(b);
      const opening = XmlStream.open(a, { to: "example.org" });
      await peer.until(/<stream:stream [^>]*>/);
      await peer.send(
        SERVER_HEAD +
          `<stream:features><starttls xmlns='${TLS_NS}'><required/></starttls></stream:features>`,
      );
      const negotiating = negotiateClient(await opening, {
        features: [startTlsClient({ upgrade: fakeTls(calls, "client") })],
      });
      negotiating.catch(() => {});
      await peer.until(/<starttls/);
      await peer.send(answer);
      await assert.rejects(negotiating, (e) => {
        assert.ok(e instanceof StreamError, String(e));
        assert.match(e.message, message);
        return true;
      });
      assert.deepEqual(calls, [], "no TLS handshake was started");
      await peer.rest(); // the connection was closed
      peer.close();
    });
  }
  await t.step(
    "a server that offers no STARTTLS: no plaintext session",
    async () => {
      const [a, b] = memoryPair();
      const peer = rawPeer(b);
      const opening = XmlStream.open(a, { to: "example.org" });
      await peer.until(/<stream:stream [^>]*>/);
      await peer.send(
        SERVER_HEAD +
          "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
      );
      await assert.rejects(
        negotiateClient(await opening, {
          features: [startTlsClient({ upgrade: fakeTls([], "client") })],
        }),
        (e) => e instanceof StreamError && e.condition === "policy-violation",
      );
      const sent = await peer.rest();
      assert.doesNotMatch(sent, /<auth/);
      assert.match(sent, /<policy-violation/);
      peer.close();
    },
  );
});

Deno.test("STARTTLS server: command injection after <starttls/> is never processed", async (t) => {
  const auth =
    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>";
  const head = CLIENT_HEAD.replace("<?xml version='1.0'?>", "");
  const cases: [string, string, RegExp][] = [
    // The header parses as an element still open: it is buffered, unread.
    ["a stream header and <auth/>", head + auth, /command injection/],
    // With an XML declaration, the parser itself refuses the whole read.
    [
      "an XML declaration, a header and <auth/>",
      CLIENT_HEAD + auth,
      /processing instructions/,
    ],
  ];
  for (const [name, injected, message] of cases) {
    await t.step(name, async () => {
      const calls: string[] = [];
      const [a, b] = memoryPair();
      const peer = rawPeer(a);
      const accepting = XmlStream.accept(b, { domains: ["example.org"] });
      await peer.send(CLIENT_HEAD);
      const serving = negotiateServer(await accepting, {
        features: [startTlsServer({ upgrade: fakeTls(calls, "server") })],
      });
      serving.catch(() => {});
      await peer.until(/<\/stream:features>|<stream:features\/>/);
      await peer.send(`<starttls xmlns='${TLS_NS}'/>` + injected);
      await assert.rejects(serving, (e) => {
        assert.ok(e instanceof StreamError);
        assert.match(e.message, message);
        return true;
      });
      const sent = await peer.rest();
      assert.doesNotMatch(sent, /<proceed/);
      assert.doesNotMatch(sent, /<success|<challenge|mechanisms/);
      assert.deepEqual(
        calls,
        [],
        "no TLS handshake; nothing after <starttls/> used",
      );
      peer.close();
    });
  }
});

Deno.test("STARTTLS server: required by default, optional when asked", async () => {
  for (const required of [true, false]) {
    const [a, b] = memoryPair();
    const peer = rawPeer(a);
    const accepting = XmlStream.accept(b);
    await peer.send(CLIENT_HEAD);
    const serving = negotiateServer(await accepting, {
      features: [startTlsServer({ upgrade: fakeTls([], "s"), required })],
    });
    serving.catch(() => {});
    const seen = await peer.until(/<\/stream:features>/);
    assert.equal(/<required\/>/.test(seen), required);
    await peer.send("<message to='x@example.org'/>");
    if (required) {
      await assert.rejects(
        serving,
        (e) => e instanceof StreamError && e.condition === "policy-violation",
      );
    } else {
      const { pending, stream } = await serving;
      assert.equal(pending?.name, "message");
      await stream.close({ timeout: 0 });
    }
    peer.close();
  }
});

Deno.test("STARTTLS: a newline after <starttls/> or <proceed/> is only whitespace", async () => {
  // go-xmpp (go-sendxmpp) writes "\n" after each element it sends.
  const calls: string[] = [];
  const [a, b] = memoryPair();
  const peer = rawPeer(a);
  const accepting = XmlStream.accept(b, { domains: ["example.org"] });
  await peer.send(CLIENT_HEAD);
  const serving = negotiateServer(await accepting, {
    features: [startTlsServer({ upgrade: fakeTls(calls, "server") })],
  });
  serving.catch(() => {});
  await peer.until(/<\/stream:features>/);
  await peer.send(`<starttls xmlns='${TLS_NS}'/>\n`);
  await peer.until(/<proceed/);
  // The fake TLS layer passes bytes through: restart the stream over it.
  await peer.send(CLIENT_HEAD);
  const { stream } = await serving;
  assert.deepEqual(calls, ["server"]);
  assert.equal(stream.info.secure, true);
  await stream.close({ timeout: 0 });
  peer.close();

  const clientCalls: string[] = [];
  const [c, d] = memoryPair();
  const server = rawPeer(d);
  const opening = XmlStream.open(c, { to: "example.org" });
  await server.until(/<stream:stream [^>]*>/);
  await server.send(
    SERVER_HEAD +
      `<stream:features><starttls xmlns='${TLS_NS}'><required/></starttls></stream:features>`,
  );
  const negotiating = negotiateClient(await opening, {
    features: [startTlsClient({ upgrade: fakeTls(clientCalls, "client") })],
  });
  negotiating.catch(() => {});
  await server.until(/<starttls/);
  await server.send(`<proceed xmlns='${TLS_NS}'/>\r\n`);
  await server.until(/<stream:stream [^>]*>[^]*<stream:stream [^>]*>/);
  assert.deepEqual(clientCalls, ["client"]);
  server.close();
  await negotiating.catch(() => {});
});
