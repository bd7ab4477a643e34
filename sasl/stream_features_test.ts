import assert from "node:assert/strict";
import type { Duplex } from "../stream/duplex.ts";
import { Element } from "../stream/element.ts";
import { memoryPair } from "../stream/memory_duplex.ts";
import { negotiateClient, negotiateServer } from "../stream/negotiate.ts";
import { StreamError } from "../stream/stream_error.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { startTlsClient, startTlsServer } from "../starttls/negotiator.ts";
import { MemoryCredentialStore } from "./credentials.ts";
import {
  bindClient,
  bindServer,
  saslClient,
  saslServer,
} from "./stream_features.ts";

/** Marks the same bytes secure: the negotiation logic is under test here. */
const fakeTls = (raw: Duplex): Promise<Duplex> =>
  Promise.resolve({
    readable: raw.readable,
    writable: raw.writable,
    info: { ...raw.info, secure: true, transport: "tls" },
    close: () => raw.close(),
  });

async function streams(secure = false) {
  const [a, b] = memoryPair(secure ? { info: { secure: true } } : {});
  return await Promise.all([
    XmlStream.open(a, { to: "example.org" }),
    XmlStream.accept(b, { domains: ["example.org"] }),
  ]);
}

const store = new MemoryCredentialStore();
await store.setPassword("alice", "secret");

Deno.test("features as data: STARTTLS, SASL, bind in one loop per side", async (t) => {
  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]) {
    await t.step(mechanism, async () => {
      const [c, s] = await streams();
      const [client, server] = await Promise.all([
        negotiateClient(c, {
          features: [
            startTlsClient({ upgrade: fakeTls }),
            saslClient({
              username: "alice",
              password: "secret",
              mechanisms: [mechanism],
            }),
            bindClient({ resource: "laptop" }),
          ],
          require: ["secure", "authenticated", "bound"],
        }),
        negotiateServer(s, {
          features: [
            startTlsServer({ upgrade: fakeTls }),
            saslServer({ store }),
            bindServer({ domain: "example.org" }),
          ],
        }),
      ]);
      assert.equal(client.state.jid, "alice@example.org/laptop");
      assert.equal(server.state.jid, "alice@example.org/laptop");
      assert.equal(server.state.identity, "alice");
      await client.stream.send(new Element("presence", "jabber:client"));
      assert.equal((await server.stream.read())?.name, "presence");
      await Promise.all([client.stream.close(), server.stream.close()]);
    });
  }
});

Deno.test("features as data: refusals", async (t) => {
  await t.step("wrong password: not-authorized, nothing bound", async () => {
    const [c, s] = await streams(true);
    const [client, server] = await Promise.allSettled([
      negotiateClient(c, {
        features: [
          saslClient({
            username: "alice",
            password: "wrong",
            mechanisms: ["SCRAM-SHA-256"],
          }),
          bindClient(),
        ],
      }),
      negotiateServer(s, {
        features: [
          saslServer({ store, maxAttempts: 1 }),
          bindServer({ domain: "example.org" }),
        ],
      }),
    ]);
    assert.equal(client.status, "rejected");
    assert.equal(server.status, "rejected");
  });
  await t.step("no SASL before TLS, on either side", async () => {
    const [c, s] = await streams(false);
    const [client] = await Promise.allSettled([
      negotiateClient(c, {
        features: [saslClient({ username: "alice", password: "secret" })],
      }),
      negotiateServer(s, { features: [saslServer({ store })] }),
    ]);
    // The server listed nothing (no TLS), the client could not log in, and
    // refuses to continue in plaintext.
    assert.equal(client.status, "rejected");
    assert.equal((client.reason as StreamError).condition, "policy-violation");
  });
  await t.step("a stanza before authentication: not-authorized", async () => {
    const [c, s] = await streams(true);
    const serving = negotiateServer(s, {
      features: [saslServer({ store }), bindServer({ domain: "example.org" })],
    });
    serving.catch(() => {});
    await c.readFeatures();
    await c.send(
      new Element("message", "jabber:client", { to: "bob@example.org" }),
    );
    await assert.rejects(
      serving,
      (e) => e instanceof StreamError && e.condition === "not-authorized",
    );
    await assert.rejects(c.read(), StreamError);
  });
});
