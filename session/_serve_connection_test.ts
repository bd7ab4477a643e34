import assert from "node:assert/strict";
import { memoryPair } from "../stream/memory_duplex.ts";
import { negotiateClient } from "../stream/negotiate.ts";
import { StreamError } from "../stream/stream_error.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { MemoryCredentialStore } from "../sasl/credentials.ts";
import { bindClient, saslClient } from "../sasl/stream_features.ts";
import { connectionFeatures } from "./_serve_features.ts";
import { negotiateConnection, sendErrorBounded } from "./_serve_connection.ts";

const store = new MemoryCredentialStore({ iterations: 4096 });
await store.setPassword("alice", "secret");
const features = (tracker: object) =>
  connectionFeatures({
    sasl: { store },
    bind: { conflict: () => "accept" },
    extra: [],
  }, tracker);

Deno.test("negotiateConnection: a secure duplex becomes a bound session", async () => {
  const [a, b] = memoryPair({ info: { secure: true } });
  const [client, server] = await Promise.all([
    XmlStream.open(a, { to: "example.test" }).then((xs) =>
      negotiateClient(xs, {
        features: [
          saslClient({ username: "alice", password: "secret" }),
          bindClient({ resource: "r" }),
        ],
        require: ["secure", "authenticated", "bound"],
      })
    ),
    negotiateConnection(b, {
      domains: ["example.test"],
      features,
      timeout: 5000,
      closeTimeout: 100,
      signal: new AbortController().signal,
    }),
  ]);
  assert.equal(server.jid, "alice@example.test/r");
  assert.equal(server.username, "alice");
  assert.equal(client.state.jid, server.jid);
  await Promise.all([client.stream.close(), server.stream.close()]);
});

Deno.test("negotiateConnection: the deadline sends connection-timeout", async () => {
  const [a, b] = memoryPair({ info: { secure: true } });
  const xs = await Promise.all([
    XmlStream.open(a, { to: "example.test" }),
    assert.rejects(
      negotiateConnection(b, {
        domains: ["example.test"],
        features,
        timeout: 100,
        closeTimeout: 100,
        signal: new AbortController().signal,
      }),
      (e) => e instanceof StreamError && e.condition === "connection-timeout",
    ),
  ]).then(([xs]) => xs);
  await xs.readFeatures();
  await assert.rejects(
    xs.read(),
    (e) =>
      e instanceof StreamError && e.condition === "connection-timeout" &&
      e.origin === "remote",
  );
});

Deno.test("negotiateConnection: the server's signal ends it with its reason", async () => {
  const [a, b] = memoryPair({ info: { secure: true } });
  const ctl = new AbortController();
  const negotiation = negotiateConnection(b, {
    domains: ["example.test"],
    features,
    timeout: 5000,
    closeTimeout: 100,
    signal: ctl.signal,
  });
  const xs = await XmlStream.open(a, { to: "example.test" });
  await xs.readFeatures();
  ctl.abort(new StreamError("system-shutdown", "bye"));
  await assert.rejects(
    negotiation,
    (e) => e instanceof StreamError && e.condition === "system-shutdown",
  );
  await assert.rejects(
    xs.read(),
    (e) => e instanceof StreamError && e.condition === "system-shutdown",
  );
});

Deno.test("negotiateConnection: an insecure duplex cannot log in", async () => {
  const [a, b] = memoryPair();
  const ctl = new AbortController();
  const [xs] = await Promise.all([
    XmlStream.open(a, { to: "example.test" }),
    assert.rejects(
      negotiateConnection(b, {
        domains: ["example.test"],
        features,
        timeout: 5000,
        closeTimeout: 100,
        signal: ctl.signal,
      }),
      StreamError,
    ),
  ]);
  // Nothing can be offered without TLS: an empty list, and no stream is
  // handed out.
  const f = await xs.readFeatures();
  assert.equal(f.elements.length, 0);
  await xs.close({ timeout: 0 });
});

Deno.test("sendErrorBounded: sends, closes, and is harmless on a closed stream", async () => {
  const [a, b] = memoryPair();
  const [client, server] = await Promise.all([
    XmlStream.open(a, { to: "example.test" }),
    XmlStream.accept(b),
  ]);
  await sendErrorBounded(server, "policy-violation", "no");
  await sendErrorBounded(server, "policy-violation", "again");
  await assert.rejects(
    client.read(),
    (e) =>
      e instanceof StreamError && e.condition === "policy-violation" &&
      e.text === "no",
  );
});
