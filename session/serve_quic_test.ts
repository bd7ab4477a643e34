import assert from "node:assert/strict";
import { dialQuic } from "../quic/dial.ts";
import { MemoryCredentialStore } from "../sasl/credentials.ts";
import { bindClient, saslClient } from "../sasl/stream_features.ts";
import { memoryResolver } from "../srv/memory_resolver.ts";
import { negotiateClient } from "../stream/negotiate.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { ThrowawayCa } from "../tls/throwaway_ca.ts";
import { connect } from "./connect.ts";
import { serve, type ServeTransport } from "./serve.ts";

Deno.test("serve(): STARTTLS, Direct TLS and QUIC at once, one handler", async () => {
  const ca = await ThrowawayCa.create();
  const leaf = await ca.issue(["example.test"], { ips: ["127.0.0.1"] });
  const store = new MemoryCredentialStore();
  await store.setPassword("alice", "secret");
  const seen: [string, ServeTransport, boolean][] = [];
  const server = serve({
    domains: ["example.test"],
    listen: [
      { transport: "starttls", hostname: "127.0.0.1", port: 0 },
      { transport: "directtls", hostname: "127.0.0.1", port: 0 },
      { transport: "quic", hostname: "127.0.0.1", port: 0 },
    ],
    tls: { certificates: { "example.test": leaf } },
    store,
  }, async (session) => {
    seen.push([session.jid, session.endpoint.transport, session.info.secure]);
    for await (const _ of session.stream) { /* until the client closes */ }
  });
  try {
    const [starttls, directtls, quic] = server.addrs;
    assert.equal(quic.transport, "quic");
    // TCP transports through connect(), found through SRV.
    for (
      const [transport, port] of [["starttls", starttls.port], [
        "directtls",
        directtls.port,
      ]] as const
    ) {
      const resolver = memoryResolver({
        [
          `_xmpp${
            transport === "directtls" ? "s" : ""
          }-client._tcp.example.test`
        ]: {
          srv: [{ priority: 0, weight: 0, port, target: "xmpp.example.test" }],
        },
        "xmpp.example.test": { a: ["127.0.0.1"] },
      });
      const c = await connect(`alice@example.test/${transport}`, {
        password: "secret",
        resolver,
        ca: ca.cert,
        systemCa: false,
      });
      await c.close();
    }
    // QUIC: a bidirectional stream, then the same login and binding.
    const duplex = await dialQuic({
      transport: "quic",
      host: "127.0.0.1",
      port: quic.port,
      serverName: "example.test",
      alpn: "xmpp-client",
      priority: 0,
      weight: 0,
      source: "srv",
    }, { ca: ca.cert, systemCa: false });
    const xs = await XmlStream.open(duplex, { to: "example.test" });
    const { stream, state } = await negotiateClient(xs, {
      features: [
        saslClient({ username: "alice", password: "secret" }),
        bindClient({ resource: "quic" }),
      ],
      require: ["secure", "authenticated", "bound"],
    });
    assert.equal(state.jid, "alice@example.test/quic");
    assert.equal(stream.info.transport, "quic");
    await stream.close();
    // connect() dials QUIC candidates too (here from a host-meta source).
    const c = await connect("alice@example.test/connect-quic", {
      password: "secret",
      resolver: memoryResolver({}),
      hostMeta: {
        fetch: () =>
          Promise.resolve([{
            transport: "quic" as const,
            host: "127.0.0.1",
            ips: ["127.0.0.1"],
            port: quic.port,
            serverName: "example.test",
            alpn: "xmpp-client" as const,
            priority: 0,
            weight: 0,
            source: "host-meta" as const,
          }]),
      },
      ca: ca.cert,
      systemCa: false,
    });
    assert.equal(c.info.candidate.transport, "quic");
    assert.equal(c.jid, "alice@example.test/connect-quic");
    assert.ok(c.info.timeline.entries.some((e) => e.step === "tls"));
    await c.close();
    for (let i = 0; i < 50 && seen.length < 4; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(seen.map(([jid, t, secure]) => [jid, t, secure]).sort(), [
      ["alice@example.test/connect-quic", "quic", true],
      ["alice@example.test/directtls", "directtls", true],
      ["alice@example.test/quic", "quic", true],
      ["alice@example.test/starttls", "starttls", true],
    ]);
  } finally {
    await server.close();
  }
});
