import assert from "node:assert/strict";
import { fromConn } from "../stream/conn_duplex.ts";
import { Element } from "../stream/element.ts";
import type { StreamFeature } from "../stream/feature.ts";
import { negotiateClient } from "../stream/negotiate.ts";
import { StreamError } from "../stream/stream_error.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { startTlsClient } from "../starttls/negotiator.ts";
import { tlsConnect } from "../tls/client.ts";
import { TlsError } from "../tls/tls_error.ts";
import { authenticate } from "../sasl/negotiate.ts";
import { SaslError } from "../sasl/sasl_error.ts";
import { MemoryCredentialStore } from "../sasl/credentials.ts";
import { bindClient, saslClient } from "../sasl/stream_features.ts";
import { startRelayServer } from "../examples/relay_server.ts";
import {
  serve,
  ServeError,
  type ServeOptions,
  type Server,
  type ServeTransport,
  type Session,
  type SessionHandler,
} from "./serve.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFile(new URL(f, dir));
const CA = await read("ca.pem");
const LEAF = {
  cert: await read("localhost.pem"),
  key: await read("localhost.key"),
};
const OTHER = {
  cert: await read("other.test.pem"),
  key: await read("other.test.key"),
};
const STORE = new MemoryCredentialStore({ iterations: 4096 });
await STORE.setPassword("alice", "secret");
await STORE.setPassword("bob", "secret");

const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";
const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";
const STREAMS_HEADER = (to: string) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
  `xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'>`;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A server on loopback with both transports, errors collected. */
function start(
  handler: SessionHandler,
  over: Partial<ServeOptions<MemoryCredentialStore>> = {},
): { server: Server<MemoryCredentialStore>; errors: ServeError[] } {
  const errors: ServeError[] = [];
  const server = serve({
    domains: ["localhost", "example.test"],
    listen: [
      { transport: "starttls", hostname: "127.0.0.1", port: 0 },
      { transport: "directtls", hostname: "127.0.0.1", port: 0 },
    ],
    tls: { certificates: { localhost: LEAF, "example.test": LEAF } },
    store: STORE,
    onError: (e) => errors.push(e),
    ...over,
  }, handler);
  return { server, errors };
}

function portOf(server: Server, transport: ServeTransport): number {
  return server.addrs.find((a) => a.transport === transport)!.port;
}

interface LoginOptions {
  username?: string;
  password?: string;
  resource?: string;
  domain?: string;
  serverName?: string;
}

/** Our client: STARTTLS or Direct TLS, SASL, bind. */
async function login(
  server: Server,
  transport: ServeTransport,
  options: LoginOptions = {},
) {
  const domain = options.domain ?? "localhost";
  const serverName = options.serverName ?? domain;
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: portOf(server, transport),
  });
  let duplex = fromConn(conn);
  if (transport === "directtls") {
    duplex = await tlsConnect(duplex, {
      serverName,
      ca: CA,
      systemCa: false,
      alpn: "xmpp-client",
    });
  }
  const xs = await XmlStream.open(duplex, { to: domain });
  return await negotiateClient(xs, {
    features: [
      startTlsClient({
        upgrade: (raw) =>
          tlsConnect(raw, { serverName, ca: CA, systemCa: false, alpn: null }),
      }),
      saslClient({
        username: options.username ?? "alice",
        password: options.password ?? "secret",
      }),
      bindClient(
        options.resource === undefined ? {} : { resource: options.resource },
      ),
    ],
    require: ["secure", "authenticated", "bound"],
  });
}

/** A raw TCP client: what it reads, until a condition, EOF or a timeout. */
async function rawClient(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const bytes: number[] = [];
  let eof = false;
  const buf = new Uint8Array(65536);
  return {
    conn,
    send: (text: string) => conn.write(enc.encode(text)),
    get text() {
      return dec.decode(new Uint8Array(bytes));
    },
    bytes,
    get eof() {
      return eof;
    },
    /** Read until `until(text)` or EOF; `false` on timeout (connection closed). */
    async readUntil(
      until: (text: string) => boolean,
      timeoutMs = 5000,
    ): Promise<boolean> {
      const timer = setTimeout(() => conn.close(), timeoutMs);
      try {
        while (!until(dec.decode(new Uint8Array(bytes)))) {
          const n = await conn.read(buf);
          if (n === null) {
            eof = true;
            return until(dec.decode(new Uint8Array(bytes)));
          }
          bytes.push(...buf.subarray(0, n));
        }
        return true;
      } catch {
        return false; // timed out: the connection was closed
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
}

/** Echo every stanza back; record sessions. */
function echoHandler(sessions: Session[]): SessionHandler {
  return async (session) => {
    sessions.push(session);
    if (session.pending) await session.stream.send(session.pending);
    for await (const stanza of session.stream) {
      await session.stream.send(stanza);
    }
  };
}

function message(to: string, body: string, attrs = {}): Element {
  return new Element(
    "message",
    "jabber:client",
    { to, type: "chat", ...attrs },
    [
      new Element("body", "jabber:client", {}, [body]),
    ],
  );
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("serve: STARTTLS login, the session, a stanza round trip", async () => {
  const sessions: Session[] = [];
  const { server, errors } = start(echoHandler(sessions));
  try {
    const { stream, state } = await login(server, "starttls", {
      resource: "laptop",
    });
    assert.equal(state.jid, "alice@localhost/laptop");
    await stream.send(message("localhost", "ping"));
    const echo = await stream.read();
    assert.equal(echo?.getChild("body")?.text, "ping");
    const [s] = sessions;
    assert.equal(s.jid, "alice@localhost/laptop");
    assert.equal(s.bareJid, "alice@localhost");
    assert.equal(s.username, "alice");
    assert.equal(s.domain, "localhost");
    assert.equal(s.endpoint.transport, "starttls");
    assert.equal(s.endpoint.port, portOf(server, "starttls"));
    assert.equal(s.info.secure, true);
    assert.equal(s.info.transport, "tls");
    assert.equal(s.info.serverName, "localhost");
    assert.match(s.info.tlsVersion ?? "", /^TLSv1\.[23]$/);
    assert.equal(s.info.remoteAddr?.hostname, "127.0.0.1");
    assert.equal(s.state.authenticated && s.state.bound, true);
    assert.equal(s.pending, undefined);
    assert.equal(server.connections, 1);
    assert.equal(server.sessions.length, 1);
    await stream.close();
    await until(() => server.connections === 0);
    assert.deepEqual(errors, []);
  } finally {
    await server.close();
  }
});

Deno.test("serve: Direct TLS login with ALPN, no STARTTLS offered", async (t) => {
  const sessions: Session[] = [];
  const { server, errors } = start(echoHandler(sessions));
  try {
    await t.step("features over Direct TLS: SASL, never STARTTLS", async () => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: portOf(server, "directtls"),
      });
      const tls = await tlsConnect(fromConn(conn), {
        serverName: "localhost",
        ca: CA,
        systemCa: false,
      });
      const xs = await XmlStream.open(tls, { to: "localhost" });
      const features = await xs.readFeatures();
      assert.equal(features.getChild("starttls", TLS_NS), undefined);
      assert.ok(features.getChild("mechanisms", SASL_NS));
      await xs.close({ timeout: 0 });
    });
    await t.step("login and a round trip", async () => {
      const { stream, state } = await login(server, "directtls");
      assert.match(state.jid ?? "", /^alice@localhost\/.+/);
      await stream.send(message("localhost", "hi"));
      assert.equal((await stream.read())?.getChild("body")?.text, "hi");
      const s = sessions.at(-1)!;
      assert.equal(s.endpoint.transport, "directtls");
      assert.equal(s.info.alpn, "xmpp-client");
      assert.equal(s.info.serverName, "localhost");
      await stream.close();
    });
    await t.step(
      "a second virtual host, chosen by SNI and the header",
      async () => {
        const { stream, state } = await login(server, "directtls", {
          domain: "example.test",
        });
        assert.match(state.jid ?? "", /^alice@example\.test\//);
        const s = sessions.at(-1)!;
        assert.equal(s.domain, "example.test");
        assert.equal(s.info.serverName, "example.test");
        await stream.close();
      },
    );
    await until(() => server.connections === 0);
    await t.step("an unknown SNI name is refused", async () => {
      await assert.rejects(
        login(server, "directtls", {
          domain: "other.test",
          serverName: "other.test",
        }),
        TlsError,
      );
      await until(() => errors.some((e) => e.code === "tls-failed"));
    });
  } finally {
    await server.close();
  }
});

Deno.test("serve: the relay example delivers between two users", async () => {
  const { server, relay } = await startRelayServer({ iterations: 4096 });
  try {
    const bob = await login(server, "directtls", {
      username: "bob",
      resource: "phone",
    });
    // A ping answered proves bob's session is with the relay.
    await bob.stream.send(
      new Element("iq", "jabber:client", { type: "get", id: "p1" }, [
        new Element("ping", "urn:xmpp:ping"),
      ]),
    );
    const pong = await bob.stream.read();
    assert.equal(pong?.attrs.type, "result");
    assert.equal(pong?.attrs.id, "p1");
    assert.equal(relay.sessionsOf("bob@localhost").length, 1);

    const alice = await login(server, "starttls", { resource: "laptop" });
    await alice.stream.send(
      message("bob@localhost", "hello bob", { from: "mallory@localhost" }),
    );
    const got = await bob.stream.read();
    assert.equal(got?.name, "message");
    assert.equal(got?.attrs.from, "alice@localhost/laptop"); // stamped
    assert.equal(got?.getChild("body")?.text, "hello bob");

    await bob.stream.send(message("alice@localhost/laptop", "hi alice"));
    const back = await alice.stream.read();
    assert.equal(back?.attrs.from, "bob@localhost/phone");
    assert.equal(back?.getChild("body")?.text, "hi alice");

    await alice.stream.send(message("carol@localhost", "anyone?"));
    const bounce = await alice.stream.read();
    assert.equal(bounce?.attrs.type, "error");
    assert.ok(
      bounce?.getChild("error")?.getChild(
        "service-unavailable",
        "urn:ietf:params:xml:ns:xmpp-stanzas",
      ),
    );
    await Promise.all([alice.stream.close(), bob.stream.close()]);
  } finally {
    await server.close();
  }
});

Deno.test("serve: a wrong password or an unknown user never reaches the handler", async () => {
  let called = 0;
  const { server, errors } = start(() => {
    called++;
  });
  try {
    for (const [username, password] of [["alice", "wrong"], ["nobody", "x"]]) {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: portOf(server, "starttls"),
      });
      const xs = await XmlStream.open(fromConn(conn), { to: "localhost" });
      const { stream, features } = await negotiateClient(xs, {
        features: [
          startTlsClient({
            upgrade: (raw) =>
              tlsConnect(raw, {
                serverName: "localhost",
                ca: CA,
                systemCa: false,
                alpn: null,
              }),
          }),
        ],
      });
      await assert.rejects(
        authenticate(stream, features!, { username, password }),
        (e) => e instanceof SaslError && e.condition === "not-authorized",
      );
      await stream.close();
    }
    await until(() =>
      errors.filter((e) => e.code === "negotiation-failed").length === 2
    );
    assert.equal(called, 0);
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

Deno.test("serve: negotiation timeouts free the slots of silent and slow clients", async (t) => {
  const { server, errors } = start(() => {}, {
    negotiationTimeout: 300,
    tls: {
      certificates: { localhost: LEAF, "example.test": LEAF },
      timeout: 300,
    },
  });
  try {
    await t.step("no stream header: connection-timeout", async () => {
      const c = await rawClient(portOf(server, "starttls"));
      const t0 = performance.now();
      assert.ok(await c.readUntil(() => false, 3000) === false || c.eof);
      assert.ok(c.eof, "the server closed the connection");
      assert.match(c.text, /<connection-timeout /);
      assert.ok(performance.now() - t0 < 2000);
      c.close();
    });
    await t.step("a header, then nothing: connection-timeout", async () => {
      const c = await rawClient(portOf(server, "starttls"));
      await c.send(STREAMS_HEADER("localhost"));
      await c.readUntil(() => false, 3000);
      assert.ok(c.eof);
      assert.match(c.text, /<starttls /);
      assert.match(c.text, /<connection-timeout /);
      c.close();
    });
    await t.step("<starttls/>, then no TLS handshake: closed", async () => {
      const c = await rawClient(portOf(server, "starttls"));
      await c.send(STREAMS_HEADER("localhost"));
      await c.readUntil((s) => s.includes("</stream:features>"));
      await c.send(`<starttls xmlns='${TLS_NS}'/>`);
      await c.readUntil(() => false, 3000);
      assert.ok(c.eof);
      assert.match(c.text, /<proceed /);
      c.close();
    });
    await t.step("Direct TLS, no ClientHello: closed", async () => {
      const c = await rawClient(portOf(server, "directtls"));
      await c.readUntil(() => false, 3000);
      assert.ok(c.eof);
      c.close();
    });
    await until(() => server.connections === 0);
    assert.ok(errors.some((e) => e.code === "negotiation-timeout"));
    assert.ok(errors.some((e) => e.code === "tls-failed"));
  } finally {
    await server.close();
  }
});

Deno.test("serve: maxConnections refuses, maxNegotiations queues", async (t) => {
  await t.step("maxConnections: 1", async () => {
    const { server, errors } = start(echoHandler([]), { maxConnections: 1 });
    try {
      const alice = await login(server, "starttls");
      const c = await rawClient(portOf(server, "starttls"));
      await c.send(STREAMS_HEADER("localhost"));
      await c.readUntil(() => false, 3000);
      assert.ok(c.eof, "refused at once");
      assert.equal(c.text, "");
      c.close();
      assert.ok(errors.some((e) => e.code === "connection-limit"));
      await alice.stream.close();
      await until(() => server.connections === 0);
      const again = await login(server, "directtls");
      await again.stream.close();
    } finally {
      await server.close();
    }
  });
  await t.step("maxNegotiations: 1", async () => {
    const { server } = start(echoHandler([]), {
      maxNegotiations: 1,
      negotiationTimeout: 400,
    });
    try {
      const silent = await rawClient(portOf(server, "starttls"));
      await new Promise((r) => setTimeout(r, 50)); // it holds the slot
      const t0 = performance.now();
      const next = await rawClient(portOf(server, "starttls"));
      await next.send(STREAMS_HEADER("localhost"));
      assert.ok(await next.readUntil((s) => s.includes("</stream:features>")));
      const waited = performance.now() - t0;
      assert.ok(waited > 250, `answered after ${waited} ms: not queued`);
      await silent.readUntil(() => false, 3000);
      assert.ok(silent.eof);
      silent.close();
      next.close();
    } finally {
      await server.close();
    }
  });
});

Deno.test("serve: command injection after <starttls/> over TCP is never processed", async (t) => {
  let called = 0;
  const { server, errors } = start(() => {
    called++;
  });
  /** Send <starttls/> and `injected` in one write; return what came back. */
  async function inject(injected: string) {
    const c = await rawClient(portOf(server, "starttls"));
    await c.send(STREAMS_HEADER("localhost"));
    assert.ok(await c.readUntil((s) => s.includes("</stream:features>")));
    const before = c.bytes.length;
    await c.send(`<starttls xmlns='${TLS_NS}'/>` + injected);
    await c.readUntil(() => false, 3000);
    assert.ok(c.eof, "the server closed the connection");
    c.close();
    const after = c.bytes.slice(before);
    assert.ok(!after.includes(0x16), "no TLS record");
    const text = dec.decode(new Uint8Array(after));
    assert.doesNotMatch(
      text,
      /proceed|success|challenge|mechanisms|<stream:stream/,
    );
    return text;
  }
  const auth =
    `<auth xmlns='${SASL_NS}' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>`;
  const restart = `<stream:stream xmlns='jabber:client' ` +
    `xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`;
  try {
    await t.step(
      "a stream header and <auth/>: <failure/>, closed",
      async () => {
        const text = await inject(restart + auth);
        assert.match(
          text,
          /^<failure xmlns="urn:ietf:params:xml:ns:xmpp-tls"\/>/,
        );
        await until(() => errors.length > 0);
        assert.equal(errors[0].code, "negotiation-failed");
        assert.match(errors[0].message, /command injection/);
      },
    );
    await t.step(
      "with an XML declaration: a stream error, closed",
      async () => {
        // The declaration is not allowed inside the stream: the parser refuses
        // the whole read before <starttls/> is even handled.
        const text = await inject("<?xml version='1.0'?>" + restart + auth);
        assert.match(text, /<restricted-xml /);
      },
    );
    await t.step("just <auth/>: <failure/>, closed", async () => {
      const text = await inject(auth);
      assert.match(
        text,
        /^<failure xmlns="urn:ietf:params:xml:ns:xmpp-tls"\/>/,
      );
    });
    assert.equal(called, 0);
  } finally {
    await server.close();
  }
});

Deno.test("serve: stream-level refusals", async (t) => {
  const { server } = start(() => {});
  try {
    await t.step("an unknown domain: host-unknown", async () => {
      const c = await rawClient(portOf(server, "starttls"));
      await c.send(STREAMS_HEADER("nope.test"));
      await c.readUntil(() => false, 3000);
      assert.match(c.text, /<host-unknown /);
      assert.ok(c.eof);
      c.close();
    });
    await t.step("<auth/> before STARTTLS: policy-violation", async () => {
      const c = await rawClient(portOf(server, "starttls"));
      await c.send(STREAMS_HEADER("localhost"));
      await c.readUntil((s) => s.includes("</stream:features>"));
      await c.send(`<auth xmlns='${SASL_NS}' mechanism='PLAIN'>AGE=</auth>`);
      await c.readUntil(() => false, 3000);
      assert.match(c.text, /<policy-violation /);
      assert.doesNotMatch(c.text, /<failure|<success/);
      assert.ok(c.eof);
      c.close();
    });
  } finally {
    await server.close();
  }
});

Deno.test("serve: a failing handler is contained", async () => {
  let calls = 0;
  const { server, errors } = start(async (session) => {
    if (++calls === 1) throw new Error("boom");
    for await (const stanza of session.stream) {
      await session.stream.send(stanza);
    }
  });
  try {
    const first = await login(server, "starttls");
    await assert.rejects(
      first.stream.read(),
      (e) =>
        e instanceof StreamError && e.condition === "internal-server-error",
    );
    const second = await login(server, "directtls");
    await second.stream.send(message("localhost", "still here"));
    assert.equal(
      (await second.stream.read())?.getChild("body")?.text,
      "still here",
    );
    await second.stream.close();
    const failed = errors.find((e) => e.code === "handler-failed");
    assert.ok(failed);
    assert.match(failed.message, /boom/);
    assert.match(failed.jid ?? "", /^alice@localhost\//);
  } finally {
    await server.close();
  }
});

Deno.test("serve: resource conflicts", async (t) => {
  await t.step(
    "replace (default): the older session gets <conflict/>",
    async () => {
      const { server } = start(echoHandler([]));
      try {
        const a = await login(server, "starttls", { resource: "desk" });
        const b = await login(server, "directtls", { resource: "desk" });
        assert.equal(b.state.jid, "alice@localhost/desk");
        await assert.rejects(
          a.stream.read(),
          (e) => e instanceof StreamError && e.condition === "conflict",
        );
        await b.stream.close();
      } finally {
        await server.close();
      }
    },
  );
  await t.step("rename: the newer session gets another resource", async () => {
    const { server } = start(echoHandler([]), { resourceConflict: "rename" });
    try {
      const a = await login(server, "starttls", { resource: "desk" });
      const b = await login(server, "starttls", { resource: "desk" });
      assert.equal(a.state.jid, "alice@localhost/desk");
      assert.notEqual(b.state.jid, "alice@localhost/desk");
      assert.match(b.state.jid ?? "", /^alice@localhost\/.+/);
      await Promise.all([a.stream.close(), b.stream.close()]);
    } finally {
      await server.close();
    }
  });
});

Deno.test("serve: a stanza sent before optional features end is the pending one", async () => {
  const SESSION_NS = "urn:ietf:params:xml:ns:xmpp-session";
  const legacySession: StreamFeature = {
    name: "session",
    ns: SESSION_NS,
    necessary: ["authenticated"],
    list: () =>
      new Element("session", SESSION_NS, {}, [
        new Element("optional", SESSION_NS),
      ]),
    handles: (el) => el.getChild("session", SESSION_NS) !== undefined,
    async accept({ stream }, first) {
      await stream.send(
        new Element("iq", "jabber:client", {
          type: "result",
          id: first.attrs.id ?? "",
        }),
      );
      return { stream };
    },
  };
  const sessions: Session[] = [];
  const { server } = start(echoHandler(sessions), {
    features: [legacySession],
  });
  try {
    const { stream } = await login(server, "starttls");
    await stream.send(message("localhost", "first"));
    assert.equal((await stream.read())?.getChild("body")?.text, "first");
    assert.equal(sessions[0].pending?.getChild("body")?.text, "first");
    await stream.close();
  } finally {
    await server.close();
  }
});

Deno.test("serve: close() ends sessions with system-shutdown and stops listening", async () => {
  let aborted: unknown;
  const { server } = start(async (session) => {
    session.signal.addEventListener("abort", () => {
      aborted = session.signal.reason;
    });
    try {
      for await (const _ of session.stream) { /* wait */ }
    } catch { /* the stream ends under us */ }
  });
  const port = portOf(server, "starttls");
  const { stream } = await login(server, "starttls");
  const silent = await rawClient(portOf(server, "directtls"));
  await server.close();
  await server.finished;
  await assert.rejects(
    stream.read(),
    (e) => e instanceof StreamError && e.condition === "system-shutdown",
  );
  assert.ok(aborted instanceof StreamError);
  assert.equal(server.connections, 0);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
  await silent.readUntil(() => false, 3000);
  assert.ok(silent.eof);
  silent.close();
  await server.close(); // idempotent
});

Deno.test("serve: the signal closes the server", async () => {
  const ctl = new AbortController();
  const { server } = start(() => {}, { signal: ctl.signal });
  const port = portOf(server, "directtls");
  ctl.abort();
  await server.finished;
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("serve: bad arguments", async (t) => {
  const base: ServeOptions = {
    domains: ["localhost"],
    listen: [{ transport: "starttls", hostname: "127.0.0.1", port: 0 }],
    tls: { certificates: { localhost: LEAF } },
  };
  const noop = () => {};
  await t.step("TypeError", () => {
    const cases: [unknown, RegExp][] = [
      [{ ...base, domains: [] }, /domains/],
      [{ ...base, listen: [] }, /listen/],
      [
        { ...base, listen: [{ transport: "sctp", port: 0 }] },
        /use "starttls", "directtls" or "quic"/,
      ],
      [
        { ...base, domains: ["localhost", "other.test"] },
        /no certificate for other\.test/,
      ],
      [
        {
          ...base,
          tls: { certificates: { localhost: { ...LEAF, key: OTHER.key } } },
        },
        /does not belong/,
      ],
      [{ ...base, resourceConflict: "kick" }, /resourceConflict/],
      [null, /options/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => serve(options as ServeOptions, noop),
        (e) => e instanceof TypeError && message.test(e.message),
      );
    }
    assert.throws(
      () => serve(base, null as unknown as SessionHandler),
      TypeError,
    );
  });
  await t.step("RangeError", () => {
    for (
      const over of [
        { listen: [{ transport: "starttls" as const, port: 70000 }] },
        { maxConnections: 0 },
        { maxNegotiations: 1.5 },
        { negotiationTimeout: -1 },
        { closeTimeout: Infinity },
      ]
    ) {
      assert.throws(() => serve({ ...base, ...over }, noop), RangeError);
    }
  });
  await t.step("a taken port: nothing is left listening", () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      assert.throws(
        () =>
          serve({
            ...base,
            listen: [
              { transport: "starttls", hostname: "127.0.0.1", port: 0 },
              {
                transport: "directtls",
                hostname: "127.0.0.1",
                port: (taken.addr as Deno.NetAddr).port,
              },
            ],
          }, noop),
        Deno.errors.AddrInUse,
      );
    } finally {
      taken.close();
    }
  });
  await t.step(
    "unknown SNI with a default certificate: any domain",
    async () => {
      const server = serve({
        ...base,
        domains: ["localhost", "other.test"],
        tls: {
          certificates: { localhost: LEAF },
          unknownServerName: "default",
          defaultCertificate: LEAF,
        },
      }, noop);
      await server.close();
    },
  );
});

Deno.test("serve: ServeError", () => {
  const e = new ServeError("connection-limit", "full", {
    endpoint: { transport: "starttls", hostname: "0.0.0.0", port: 5222 },
    remoteAddr: { hostname: "192.0.2.1", port: 4000 },
    cause: new Error("x"),
  });
  assert.equal(e.name, "ServeError");
  assert.equal(e.code, "connection-limit");
  assert.equal(
    e.message,
    "full (client 192.0.2.1:4000 on starttls port 5222)",
  );
  assert.ok(e.cause instanceof Error);
});
