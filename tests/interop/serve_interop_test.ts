/**
 * `serve()` against real clients from Debian, on loopback: the relay server
 * of `examples/relay_server.ts` (domain `localhost`, the test leaf
 * `tests/testdata/localhost.pem`, trusted through `tests/testdata/ca.pem`)
 * accepts slixmpp and go-sendxmpp over STARTTLS and over Direct TLS, and
 * relays a message from one user to another, received by a slixmpp client.
 * A raw TCP client checks that commands pipelined after `<starttls/>` are
 * never processed. `_clients.ts` explains how each client is told the
 * address, the transport and the CA.
 *
 * Run with `deno task interop`; needs python3-slixmpp and go-sendxmpp (see
 * `.ci/run`). Tests whose client is missing are skipped, with a message.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ServeError } from "../../session/serve.ts";

/** The TCP transports the Debian clients speak. */
type TcpTransport = "starttls" | "directtls";
import { startRelayServer } from "../../examples/relay_server.ts";
import {
  goSendxmppVersion,
  runGoSendxmpp,
  slixmppVersion,
  startSlixmpp,
} from "./_clients.ts";

const slixmpp = await slixmppVersion();
const goSendxmpp = await goSendxmppVersion();
console.log(
  `clients: slixmpp ${slixmpp ?? "(missing)"}, ${
    goSendxmpp ?? "go-sendxmpp (missing)"
  }`,
);

/**
 * go-sendxmpp (go-xmpp) writes a newline after each command, `<starttls/>`
 * and `<auth/>` included. RFC 6120 allows whitespace between elements, but
 * today `XmlStream.buffered` counts it as data pipelined before a stream
 * restart, so the STARTTLS server feature and the SASL restart refuse the
 * client as an injection attempt. Until stream/ or starttls/ ignores
 * whitespace-only text there, that exact refusal is reported as a known
 * issue instead of failing the test; any other failure fails it.
 */

const PAIRS: [TcpTransport, TcpTransport][] = [
  ["starttls", "directtls"],
  ["directtls", "starttls"],
];

async function relay() {
  const errors: ServeError[] = [];
  const lines: string[] = [];
  const r = await startRelayServer({
    log: (l) => lines.push(l),
    onError: (e) => errors.push(e),
  });
  const port = (t: TcpTransport) =>
    r.server.addrs.find((a) => a.transport === t)!.port;
  return { ...r, errors, lines, port };
}

Deno.test({
  name:
    "interop serve: slixmpp over STARTTLS and Direct TLS, relayed to slixmpp",
  ignore: slixmpp === null,
  async fn(t) {
    const { server, relay: router, port, errors } = await relay();
    try {
      for (const [receiverT, senderT] of PAIRS) {
        await t.step(
          `bob over ${receiverT}, alice over ${senderT}`,
          async () => {
            const bob = startSlixmpp({
              jid: "bob@localhost",
              password: "secret",
              port: port(receiverT),
              transport: receiverT,
            });
            const alice = startSlixmpp({
              jid: "alice@localhost",
              password: "secret",
              port: port(senderT),
              transport: senderT,
            });
            try {
              const t0 = performance.now();
              const [bobOnline, aliceOnline] = await Promise.all([
                bob.waitFor((e) => e.event === "online"),
                alice.waitFor((e) => e.event === "online"),
              ]);
              const online = performance.now() - t0;
              assert.match(bobOnline.jid, /^bob@localhost\/.+/);
              const [bobSession] = router.sessionsOf("bob@localhost");
              const [aliceSession] = router.sessionsOf("alice@localhost");
              assert.equal(bobSession.endpoint.transport, receiverT);
              assert.equal(aliceSession.endpoint.transport, senderT);
              for (const s of [bobSession, aliceSession]) {
                assert.equal(s.info.serverName, "localhost"); // SNI = the domain
                assert.match(s.info.tlsVersion ?? "", /^TLSv1\.[23]$/);
              }
              const body = `hello bob over ${receiverT} from ${senderT}`;
              await alice.send("bob@localhost", body);
              const got = await bob.waitFor((e) => e.event === "message");
              assert.equal(got.body, body);
              assert.equal(got.from, aliceOnline.jid);
              console.log(
                `  both online in ${online.toFixed(0)} ms; ` +
                  `TLS ${bobSession.info.tlsVersion} ${bobSession.info.cipher}, ` +
                  `ALPN ${bobSession.info.alpn ?? "none"} / ${
                    aliceSession.info.alpn ?? "none"
                  }`,
              );
            } finally {
              await Promise.all([alice.stop(), bob.stop()]);
            }
          },
        );
      }
      await t.step("a wrong password is refused", async () => {
        const eve = startSlixmpp({
          jid: "alice@localhost",
          password: "wrong",
          port: port("starttls"),
          transport: "starttls",
        });
        try {
          await eve.waitFor((e) => e.event === "failed_auth");
        } finally {
          await eve.stop();
        }
      });
      assert.deepEqual(
        errors.filter((e) => e.code === "handler-failed"),
        [],
      );
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name:
    "interop serve: go-sendxmpp over STARTTLS and Direct TLS, relayed to slixmpp",
  ignore: slixmpp === null || goSendxmpp === null,
  async fn(t) {
    const { server, relay: router, port, errors } = await relay();
    try {
      for (const [receiverT, senderT] of PAIRS) {
        await t.step(
          `go-sendxmpp over ${senderT} to slixmpp over ${receiverT}`,
          async () => {
            const bob = startSlixmpp({
              jid: "bob@localhost",
              password: "secret",
              port: port(receiverT),
              transport: receiverT,
            });
            try {
              await bob.waitFor((e) => e.event === "online");
              assert.equal(router.sessionsOf("bob@localhost").length, 1);
              const body = `go-sendxmpp over ${senderT}`;
              const sent = await runGoSendxmpp({
                jid: "alice@localhost",
                password: "secret",
                port: port(senderT),
                transport: senderT,
                to: "bob@localhost",
                message: body,
              });
              assert.equal(
                sent.code,
                0,
                `go-sendxmpp failed: ${sent.stderr}${sent.stdout}; server: ${
                  errors.map((e) => e.message).join("; ")
                }`,
              );
              const got = await bob.waitFor((e) => e.event === "message");
              assert.equal(got.body, body);
              assert.match(got.from, /^alice@localhost\/.+/);
            } finally {
              await bob.stop();
            }
          },
        );
      }
    } finally {
      await server.close();
    }
  },
});

Deno.test("interop serve: commands pipelined after <starttls/> are never processed", async () => {
  const { server, port, errors } = await relay();
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: port("starttls"),
    });
    conn.setNoDelay(true);
    const enc = new TextEncoder();
    const header = "<stream:stream xmlns='jabber:client' " +
      "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";
    await conn.write(enc.encode(header));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    const readAll = async (stop: (text: string) => boolean) => {
      const timer = setTimeout(() => conn.close(), 5000);
      try {
        for (;;) {
          const text = new TextDecoder().decode(
            new Uint8Array(chunks.flatMap((c) => [...c])),
          );
          if (stop(text)) return text;
          const n = await conn.read(buf);
          if (n === null) return text + "\u0000EOF";
          chunks.push(buf.slice(0, n));
        }
      } finally {
        clearTimeout(timer);
      }
    };
    const features = await readAll((s) => s.includes("</stream:features>"));
    assert.match(
      features,
      /<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"><required\/>/,
    );
    const before = chunks.reduce((n, c) => n + c.length, 0);
    await conn.write(
      enc.encode(
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" + header +
          "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>",
      ),
    );
    const all = await readAll(() => false);
    conn.close();
    assert.ok(all.endsWith("\u0000EOF"), "the server closed the connection");
    const answer = all.slice(
      new TextDecoder().decode(
        new Uint8Array(chunks.flatMap((c) => [...c]).slice(0, before)),
      ).length,
      -4,
    );
    // <failure/>, the end of the stream (RFC 6120 §5.4.2.2), and nothing
    // else: no SASL answer, no new stream header, no TLS.
    assert.equal(
      answer,
      '<failure xmlns="urn:ietf:params:xml:ns:xmpp-tls"/></stream:stream>',
    );
    assert.ok(errors.some((e) => /command injection/.test(e.message)));
  } finally {
    await server.close();
  }
});
