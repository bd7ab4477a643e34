import assert from "node:assert/strict";
import { memoryPair } from "../stream/memory_duplex.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { Element } from "../stream/element.ts";
import { StreamError } from "../stream/stream_error.ts";
import type { ConnectionInfo } from "../stream/duplex.ts";
import {
  acceptAuth,
  type AcceptAuthOptions,
  authenticate,
  type AuthenticateOptions,
  authFeatures,
} from "./negotiate.ts";
import { MemoryCredentialStore } from "./credentials.ts";
import { SASL_NS, SaslError } from "./sasl_error.ts";
import type {
  ChannelBinding,
  ChannelBindingSource,
} from "./channel_binding.ts";
import { channelBindingFeature, mechanismsFeature } from "./feature.ts";
import { ScramServer } from "./scram_server.ts";
import { ScramCache } from "./scram_cache.ts";

const STREAMS_NS = "http://etherx.jabber.org/streams";
const BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind";

const store = new MemoryCredentialStore({ iterations: 4096 });
await store.setPassword("alice", "secret");

const BINDING: ChannelBinding = {
  type: "tls-exporter",
  data: new Uint8Array(32).fill(0x5a),
};
const fixed = (binding: ChannelBinding | null): ChannelBindingSource => () =>
  binding;

async function open(info: Partial<ConnectionInfo> = { secure: true }) {
  const [a, b] = memoryPair({ info });
  const [client, server] = await Promise.all([
    XmlStream.open(a, { to: "example.org" }),
    XmlStream.accept(b, { domains: ["example.org"] }),
  ]);
  return { client, server };
}

/** Settle both, close both streams, and return the outcomes. */
async function both<A, B>(
  client: Promise<A>,
  server: Promise<B>,
): Promise<[PromiseSettledResult<A>, PromiseSettledResult<B>]> {
  return await Promise.all([
    Promise.allSettled([client]).then(([r]) => r),
    Promise.allSettled([server]).then(([r]) => r),
  ]);
}

function value<T>(r: PromiseSettledResult<T>): T {
  if (r.status === "rejected") throw r.reason;
  return r.value;
}

function reason(r: PromiseSettledResult<unknown>): unknown {
  assert.equal(r.status, "rejected", "expected a rejection");
  return (r as PromiseRejectedResult).reason;
}

function assertSasl(
  e: unknown,
  condition: string,
  origin: "local" | "remote",
  text?: RegExp,
): void {
  assert.ok(e instanceof SaslError, `expected a SaslError, got ${e}`);
  assert.equal(e.condition, condition, e.message);
  assert.equal(e.origin, origin, e.message);
  if (text) assert.match(e.text ?? e.message, text);
}

/**
 * A full login: acceptAuth on one side, authenticate on the other, then the
 * server sends post-auth features (a bind feature) and both close.
 */
async function login(
  clientOptions: Partial<AuthenticateOptions>,
  serverOptions: Partial<AcceptAuthOptions> = {},
  info: Partial<ConnectionInfo> = { secure: true },
) {
  const { client, server } = await open(info);
  const serverSide = (async () => {
    const r = await acceptAuth(server, { store, ...serverOptions });
    await r.stream.sendFeatures([new Element("bind", BIND_NS)]);
    return r;
  })();
  const clientSide = (async () => {
    try {
      return await authenticate(client, await client.readFeatures(), {
        username: "alice",
        password: "secret",
        ...clientOptions,
      });
    } catch (e) {
      await client.close();
      throw e;
    }
  })();
  const [c, s] = await both(clientSide, serverSide);
  await Promise.all(
    [c, s].flatMap((r) =>
      r.status === "fulfilled" ? [r.value.stream.close()] : []
    ),
  );
  return { c, s };
}

Deno.test("authenticate + acceptAuth: every mechanism", async (t) => {
  const cases: [
    string,
    Partial<AuthenticateOptions>,
    Partial<AcceptAuthOptions>,
  ][] = [
    ["SCRAM-SHA-256-PLUS", { channelBinding: fixed(BINDING) }, {
      channelBinding: fixed(BINDING),
    }],
    ["SCRAM-SHA-1-PLUS", {
      channelBinding: fixed(BINDING),
      mechanisms: ["SCRAM-SHA-1-PLUS"],
    }, { channelBinding: fixed(BINDING) }],
    ["SCRAM-SHA-256", {}, {}],
    ["SCRAM-SHA-1", { mechanisms: ["SCRAM-SHA-1"] }, {}],
    ["PLAIN", { mechanisms: ["PLAIN"] }, {}],
    ["EXTERNAL", {
      mechanisms: ["EXTERNAL"],
      password: undefined,
      username: undefined,
    }, { externalIdentity: () => "alice" }],
  ];
  for (const [mechanism, co, so] of cases) {
    await t.step(mechanism, async () => {
      const { c, s } = await login(co, so);
      const cr = value(c);
      const sr = value(s);
      assert.equal(cr.mechanism, mechanism);
      assert.equal(sr.mechanism, mechanism);
      assert.equal(sr.username, "alice");
      assert.equal(cr.username, mechanism === "EXTERNAL" ? undefined : "alice");
      assert.ok(
        cr.features.getChild("bind", BIND_NS),
        "post-auth features read",
      );
      assert.equal(cr.features.ns, STREAMS_NS);
      assert.notEqual(cr.stream.id, undefined);
    });
  }
  await t.step(
    "the strongest by default: SCRAM-SHA-256-PLUS > ... ",
    async () => {
      assert.equal(
        value(
          (await login({ channelBinding: fixed(BINDING) }, {
            channelBinding: fixed(BINDING),
          })).c,
        ).mechanism,
        "SCRAM-SHA-256-PLUS",
      );
      assert.equal(value((await login({}, {})).c).mechanism, "SCRAM-SHA-256");
      assert.equal(
        value((await login({}, { mechanisms: ["SCRAM-SHA-1", "PLAIN"] })).c)
          .mechanism,
        "SCRAM-SHA-1",
      );
      assert.equal(
        value((await login({}, { mechanisms: ["PLAIN"] })).c).mechanism,
        "PLAIN",
      );
    },
  );
  await t.step("the client's order wins", async () => {
    const { c } = await login({ mechanisms: ["SCRAM-SHA-1", "SCRAM-SHA-256"] });
    assert.equal(value(c).mechanism, "SCRAM-SHA-1");
  });
  await t.step("the cache spares PBKDF2 on a reconnect", async () => {
    const cache = new ScramCache();
    await login({ cache });
    await login({ cache });
    assert.equal(cache.misses, 1);
    assert.equal(cache.hits, 1);
  });
  await t.step(
    "authzid: the user's bare JID is allowed, others are not",
    async () => {
      const ok = value((await login({ authzid: "alice@example.org" })).s);
      assert.equal(ok.authzid, "alice@example.org");
      const { c, s } = await login({ authzid: "bob@example.org" }, {
        maxAttempts: 1,
      });
      assertSasl(
        reason(c),
        "invalid-authzid",
        "remote",
        /alice may not act as bob@example.org/,
      );
      assert.ok(reason(s) instanceof StreamError);
    },
  );
  await t.step("a user name in another case", async () => {
    const { s } = await login({ username: "ALICE" });
    assert.equal(value(s).username, "alice");
  });
});

Deno.test("channel binding", async (t) => {
  await t.step(
    "-PLUS with other binding bytes fails (a TLS proxy)",
    async () => {
      const other = {
        type: "tls-exporter" as const,
        data: new Uint8Array(32).fill(1),
      };
      const { c, s } = await login(
        { channelBinding: fixed(other) },
        { channelBinding: fixed(BINDING), maxAttempts: 1 },
      );
      assertSasl(
        reason(c),
        "not-authorized",
        "remote",
        /channel-bindings-dont-match/,
      );
      assert.equal((reason(s) as StreamError).condition, "policy-violation");
    },
  );
  await t.step("y: the client binds, the server offers no -PLUS", async () => {
    const { c } = await login({ channelBinding: fixed(BINDING) }, {});
    assert.equal(value(c).mechanism, "SCRAM-SHA-256");
  });
  await t.step(
    "y detects -PLUS stripped from the features (downgrade)",
    async () => {
      const { client, server } = await open();
      // An attacker removed the -PLUS mechanisms the server offered.
      await server.sendFeatures([
        mechanismsFeature(["SCRAM-SHA-256", "SCRAM-SHA-1"]),
      ]);
      const [c, s] = await both(
        client.readFeatures().then((f) =>
          authenticate(client, f, {
            username: "alice",
            password: "secret",
            channelBinding: fixed(BINDING),
          })
        ),
        acceptAuth(server, {
          store,
          channelBinding: fixed(BINDING),
          sendFeatures: false,
          maxAttempts: 1,
        }),
      );
      assertSasl(
        reason(c),
        "not-authorized",
        "remote",
        /server-does-support-channel-binding/,
      );
      assert.equal((reason(s) as StreamError).condition, "policy-violation");
      await client.close();
    },
  );
  await t.step(
    "no binding data on the client: n, even when -PLUS is offered",
    async () => {
      const { c } = await login({}, { channelBinding: fixed(BINDING) });
      assert.equal(value(c).mechanism, "SCRAM-SHA-256");
    },
  );
  await t.step(
    "XEP-0440: a type the server does not list is not used",
    async () => {
      const endPoint = {
        type: "tls-server-end-point" as const,
        data: new Uint8Array(32),
      };
      const { c, s } = await login(
        { channelBinding: fixed(BINDING) },
        { channelBinding: fixed(endPoint) },
      );
      assert.equal(value(c).mechanism, "SCRAM-SHA-256");
      assert.equal(value(s).mechanism, "SCRAM-SHA-256");
    },
  );
  await t.step("authFeatures lists the binding type", async () => {
    const features = await authFeatures({ transport: "tls", secure: true }, {
      store,
      channelBinding: fixed(BINDING),
    });
    assert.equal(features.length, 2);
    assert.deepEqual(
      features[0].getChildren("mechanism").map((m) => m.text),
      [
        "SCRAM-SHA-256-PLUS",
        "SCRAM-SHA-1-PLUS",
        "SCRAM-SHA-256",
        "SCRAM-SHA-1",
        "PLAIN",
      ],
    );
    assert.deepEqual(features[1], channelBindingFeature(["tls-exporter"]));
  });
});

Deno.test("PLAIN needs a secure stream", async (t) => {
  await t.step("not offered, and refused, on an insecure stream", async () => {
    const features = await authFeatures({ transport: "tcp", secure: false }, {
      store,
    });
    assert.deepEqual(
      features[0].getChildren("mechanism").map((m) => m.text),
      ["SCRAM-SHA-256", "SCRAM-SHA-1"],
    );
    await assert.rejects(
      authFeatures({ transport: "tcp", secure: false }, {
        store,
        mechanisms: ["PLAIN"],
      }),
      (e) => {
        assertSasl(e, "encryption-required", "local");
        return true;
      },
    );
    const { client, server } = await open({ secure: false });
    const s = acceptAuth(server, { store, maxAttempts: 1 });
    await client.readFeatures();
    await client.send(
      new Element("auth", SASL_NS, { mechanism: "PLAIN" }, [
        "AGFsaWNlAHNlY3JldA==",
      ]),
    );
    const failure = await client.read();
    assert.equal(failure?.name, "failure");
    assert.ok(failure?.getChild("encryption-required"));
    await assert.rejects(s, StreamError);
    await client.close();
  });
  await t.step(
    "the client does not send it on an insecure stream",
    async () => {
      const { client, server } = await open({ secure: false });
      await server.sendFeatures([mechanismsFeature(["PLAIN"])]);
      await assert.rejects(
        authenticate(client, await client.readFeatures(), {
          username: "alice",
          password: "secret",
        }),
        (e) => {
          assertSasl(e, "encryption-required", "local", /in the clear/);
          return true;
        },
      );
      // Nothing was sent: the server sees the stream close next.
      await Promise.all([
        client.close(),
        server.read().then((el) => {
          assert.equal(el, null);
          return server.close();
        }),
      ]);
    },
  );
  await t.step("but SCRAM works there", async () => {
    const { c } = await login({}, {}, { secure: false });
    assert.equal(value(c).mechanism, "SCRAM-SHA-256");
  });
});

Deno.test("failures", async (t) => {
  await t.step(
    "wrong password: not-authorized, then a retry on the same stream",
    async () => {
      const { client, server } = await open();
      const s = acceptAuth(server, { store });
      const features = await client.readFeatures();
      await assert.rejects(
        authenticate(client, features, {
          username: "alice",
          password: "wrong",
        }),
        (e) => {
          assertSasl(e, "not-authorized", "remote", /invalid-proof/);
          return true;
        },
      );
      const [c, sr] = await both(
        authenticate(client, features, {
          username: "alice",
          password: "secret",
        }),
        s.then(async (r) => {
          await r.stream.sendFeatures([]);
          return r;
        }),
      );
      assert.equal(value(sr).username, "alice");
      await Promise.all([value(c).stream.close(), value(sr).stream.close()]);
    },
  );
  await t.step("unknown user: not-authorized", async () => {
    const { c } = await login({ username: "mallory" }, { maxAttempts: 1 });
    assertSasl(reason(c), "not-authorized", "remote");
  });
  await t.step("the attempts limit", async () => {
    const { client, server } = await open();
    const s = acceptAuth(server, { store, maxAttempts: 3 });
    s.catch(() => {});
    const features = await client.readFeatures();
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        authenticate(client, features, {
          username: "alice",
          password: "wrong",
        }),
        SaslError,
      );
    }
    await assert.rejects(s, (e) => {
      assert.ok(e instanceof StreamError);
      assert.equal(e.condition, "policy-violation");
      assert.match(e.message, /3 failed authentication attempts/);
      return true;
    });
    await assert.rejects(client.read(), (e) => {
      assert.ok(e instanceof StreamError);
      assert.equal(e.condition, "policy-violation");
      assert.equal(e.origin, "remote");
      return true;
    });
  });
  await t.step("no usable mechanism", async () => {
    const { client, server } = await open();
    await server.sendFeatures([
      mechanismsFeature(["DIGEST-MD5", "SCRAM-SHA-512"]),
    ]);
    await assert.rejects(
      authenticate(client, await client.readFeatures(), {
        username: "alice",
        password: "secret",
      }),
      (e) => {
        assertSasl(
          e,
          "invalid-mechanism",
          "local",
          /offers DIGEST-MD5 SCRAM-SHA-512/,
        );
        return true;
      },
    );
    await server.sendFeatures([]);
    await assert.rejects(
      authenticate(client, await client.readFeatures(), {
        username: "alice",
        password: "secret",
      }),
      /offers no SASL mechanisms/,
    );
    await Promise.all([
      client.close(),
      server.read().then(() => server.close()),
    ]);
  });
  await t.step("EXTERNAL not offered without a certificate", async () => {
    const { c } = await login(
      { mechanisms: ["EXTERNAL"] },
      { externalIdentity: () => null },
    );
    assertSasl(reason(c), "invalid-mechanism", "local");
  });
  await t.step("bad options", async () => {
    const { client, server } = await open();
    const f = new Element("features", STREAMS_NS, {}, [
      mechanismsFeature(["PLAIN"]),
    ]);
    await assert.rejects(
      authenticate(client, f, { mechanisms: ["MD5"] }),
      TypeError,
    );
    await assert.rejects(
      authenticate(client, f, { mechanisms: [] }),
      TypeError,
    );
    await assert.rejects(authenticate(client, f, { password: "x" }), TypeError);
    await assert.rejects(
      authenticate(client, f, {
        username: "a",
        password: "x",
        maxDataLength: 0,
      }),
      RangeError,
    );
    await assert.rejects(
      acceptAuth(server, {} as AcceptAuthOptions),
      TypeError,
    );
    await assert.rejects(
      acceptAuth(server, { store, maxAttempts: 0 }),
      RangeError,
    );
    await Promise.all([client.close(), server.close()]);
  });
});

/** A client that speaks raw SASL elements to acceptAuth. */
async function rawClient(serverOptions: Partial<AcceptAuthOptions> = {}) {
  const { client, server } = await open();
  const result = acceptAuth(server, { store, ...serverOptions });
  result.catch(() => {});
  await client.readFeatures();
  const send = (
    name: string,
    attrs: Record<string, string> = {},
    text?: string,
  ) =>
    client.send(
      new Element(name, SASL_NS, attrs, text === undefined ? [] : [text]),
    );
  const expectFailure = async (condition: string, text?: RegExp) => {
    const el = await client.read();
    assert.equal(el?.name, "failure", `got ${el?.name}`);
    assert.ok(
      el?.getChild(condition),
      `expected <${condition}/> in ${JSON.stringify(el)}`,
    );
    if (text) assert.match(el?.getChild("text")?.text ?? "", text);
  };
  return { client, server, result, send, expectFailure };
}

Deno.test("acceptAuth: bad input from the client", async (t) => {
  await t.step("oversized, garbage, unknown, out of order", async () => {
    const { client, send, expectFailure, result } = await rawClient({
      maxAttempts: 10,
    });
    await send("auth", { mechanism: "SCRAM-SHA-1" }, "A".repeat(16385));
    await expectFailure("malformed-request", /longer than 16384/);
    await send("auth", { mechanism: "SCRAM-SHA-1" }, "not base64!");
    await expectFailure("incorrect-encoding");
    await send("auth", { mechanism: "SCRAM-SHA-1" }, btoa("garbage"));
    await expectFailure("malformed-request", /GS2/);
    await send("auth", { mechanism: "DIGEST-MD5" });
    await expectFailure("invalid-mechanism", /DIGEST-MD5 is not offered/);
    await send("auth", {});
    await expectFailure("invalid-mechanism");
    await send("response", {}, "=");
    await expectFailure("malformed-request", /without <auth\/>/);
    await send("success");
    await expectFailure("malformed-request", /unexpected <success\/>/);
    await client.send(
      new Element("auth", SASL_NS, { mechanism: "SCRAM-SHA-1" }, [
        new Element("x", SASL_NS),
      ]),
    );
    await expectFailure("malformed-request", /child elements/);
    // Still able to log in after all that.
    await send("auth", { mechanism: "PLAIN" }, btoa("\0alice\0secret"));
    const success = await client.read();
    assert.equal(success?.name, "success");
    const next = await client.restart();
    const r = await result;
    assert.equal(r.username, "alice");
    assert.equal(r.mechanism, "PLAIN");
    await r.stream.sendFeatures([]);
    await next.readFeatures();
    await Promise.all([
      next.close(),
      r.stream.read().then(() => r.stream.close()),
    ]);
  });
  await t.step("abort mid-exchange", async () => {
    const { client, send, expectFailure, result } = await rawClient({
      maxAttempts: 2,
    });
    await send(
      "auth",
      { mechanism: "SCRAM-SHA-1" },
      btoa("n,,n=alice,r=abcdefgh"),
    );
    const challenge = await client.read();
    assert.equal(challenge?.name, "challenge");
    await send("abort");
    await expectFailure("aborted");
    await send(
      "auth",
      { mechanism: "SCRAM-SHA-1" },
      btoa("n,,n=alice,r=abcdefgh"),
    );
    assert.equal((await client.read())?.name, "challenge");
    await send(
      "auth",
      { mechanism: "SCRAM-SHA-1" },
      btoa("n,,n=alice,r=abcdefgh"),
    );
    await expectFailure("malformed-request", /during an exchange/);
    await assert.rejects(result, StreamError);
    await client.close();
  });
  await t.step(
    "a stanza before authentication: not-authorized stream error",
    async () => {
      const { client, result } = await rawClient();
      await client.send(
        new Element("message", "jabber:client", { to: "bob@example.org" }),
      );
      await assert.rejects(result, (e) => {
        assert.ok(e instanceof StreamError);
        assert.equal(e.condition, "not-authorized");
        return true;
      });
      await assert.rejects(
        client.read(),
        (e) => (e as StreamError).condition === "not-authorized",
      );
    },
  );
  await t.step("the client goes away", async () => {
    const { client, result } = await rawClient();
    await client.close();
    await assert.rejects(result, StreamError);
  });
  await t.step(
    "an empty initial response (=) and no initial response",
    async () => {
      const { client, send, result } = await rawClient({
        mechanisms: ["EXTERNAL"],
        externalIdentity: () => "alice",
      });
      await send("auth", { mechanism: "EXTERNAL" });
      const challenge = await client.read();
      assert.equal(challenge?.name, "challenge");
      assert.equal(challenge?.text, "");
      await send("response", {}, "=");
      assert.equal((await client.read())?.name, "success");
      const next = await client.restart();
      const r = await result;
      assert.equal(r.username, "alice");
      await r.stream.sendFeatures([]);
      await next.readFeatures();
      await Promise.all([
        next.close(),
        r.stream.read().then(() => r.stream.close()),
      ]);
    },
  );
  await t.step("the signal stops waiting", async () => {
    const { client, server, result } = await rawClient({
      signal: AbortSignal.timeout(20),
    });
    await assert.rejects(
      result,
      (e) => (e as DOMException).name === "TimeoutError",
    );
    await Promise.all([client.close(), server.close()]);
  });
});

/** A server that runs SCRAM but lets the test tamper with its success. */
async function tamperingServer(
  tamper: (data: string) => string | null,
  inChallenge = false,
) {
  const { client, server } = await open();
  await server.sendFeatures([mechanismsFeature(["SCRAM-SHA-1"])]);
  const run = (async () => {
    const mech = new ScramServer("SHA-1", { store });
    const auth = await server.read();
    let step = await mech.step(Uint8Array.fromBase64(auth!.text));
    const challenge = step as { challenge: Uint8Array };
    await server.send(
      new Element("challenge", SASL_NS, {}, [challenge.challenge.toBase64()]),
    );
    const response = await server.read();
    step = await mech.step(Uint8Array.fromBase64(response!.text));
    assert.ok("success" in step);
    const v = tamper(new TextDecoder().decode(step.additionalData!));
    const data = v === null ? [] : [btoa(v)];
    if (inChallenge) {
      // Some servers send the server-final-message as a challenge.
      await server.send(new Element("challenge", SASL_NS, {}, data));
      const empty = await server.read();
      assert.equal(empty?.name, "response");
      assert.equal(empty?.text, "");
      await server.send(new Element("success", SASL_NS));
      const next = await server.restart();
      await next.sendFeatures([]);
      await next.read();
      await next.close();
      return;
    }
    await server.send(new Element("success", SASL_NS, {}, data));
    // The client must not restart: it closes.
    assert.equal(await server.read(), null);
    await server.close();
  })();
  const c = client.readFeatures().then(async (f) => {
    const r = await authenticate(client, f, {
      username: "alice",
      password: "secret",
    });
    await r.stream.close();
    return r;
  });
  return await both(c, run);
}

Deno.test("authenticate: never logged in without the server's proof", async (t) => {
  await t.step("a tampered server signature", async () => {
    const [c, s] = await tamperingServer((v) => v.slice(0, -4) + "AAA=");
    assertSasl(reason(c), "not-authorized", "local", /signature is wrong/);
    value(s);
  });
  await t.step("success without additional data", async () => {
    const [c, s] = await tamperingServer(() => null);
    assertSasl(
      reason(c),
      "not-authorized",
      "local",
      /without its SCRAM signature/,
    );
    value(s);
  });
  await t.step("a tampered signature in a challenge", async () => {
    const { client, server } = await open();
    await server.sendFeatures([mechanismsFeature(["SCRAM-SHA-1"])]);
    const run = (async () => {
      const mech = new ScramServer("SHA-1", { store });
      const auth = await server.read();
      const first = await mech.step(Uint8Array.fromBase64(auth!.text)) as {
        challenge: Uint8Array;
      };
      await server.send(
        new Element("challenge", SASL_NS, {}, [first.challenge.toBase64()]),
      );
      await server.read();
      await server.send(
        new Element("challenge", SASL_NS, {}, [
          btoa("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ]),
      );
      const abort = await server.read();
      assert.equal(abort?.name, "abort");
      assert.equal(await server.read(), null);
      await server.close();
    })();
    const [c, s] = await both(
      client.readFeatures().then((f) =>
        authenticate(client, f, { username: "alice", password: "secret" })
      ),
      run,
    );
    assertSasl(reason(c), "not-authorized", "local");
    value(s);
  });
  await t.step(
    "a correct signature in a challenge, then an empty success",
    async () => {
      const [c, s] = await tamperingServer((v) => v, true);
      value(s);
      assert.equal(value(c).mechanism, "SCRAM-SHA-1");
    },
  );
});

Deno.test("authenticate: a misbehaving server", async (t) => {
  await t.step("a stanza during SASL: bad-format", async () => {
    const { client, server } = await open();
    await server.sendFeatures([mechanismsFeature(["SCRAM-SHA-1"])]);
    const c = authenticate(client, await client.readFeatures(), {
      username: "alice",
      password: "secret",
    });
    await server.read();
    await server.send(new Element("message", "jabber:client", {}));
    await assert.rejects(
      c,
      (e) => (e as StreamError).condition === "bad-format",
    );
    await assert.rejects(
      server.read(),
      (e) => (e as StreamError).condition === "bad-format",
    );
  });
  await t.step("a failure with text", async () => {
    const { client, server } = await open();
    await server.sendFeatures([mechanismsFeature(["SCRAM-SHA-1"])]);
    const c = authenticate(client, await client.readFeatures(), {
      username: "alice",
      password: "secret",
    });
    await server.read();
    await server.send(
      new Element("failure", SASL_NS, {}, [
        new Element("account-disabled", SASL_NS),
        new Element("text", SASL_NS, { "xml:lang": "en" }, ["call support"]),
      ]),
    );
    await assert.rejects(c, (e) => {
      assertSasl(e, "account-disabled", "remote", /call support/);
      return true;
    });
    await Promise.all([
      client.close(),
      server.read().then(() => server.close()),
    ]);
  });
  await t.step("a challenge that is not base64", async () => {
    const { client, server } = await open();
    await server.sendFeatures([mechanismsFeature(["SCRAM-SHA-1"])]);
    const c = authenticate(client, await client.readFeatures(), {
      username: "alice",
      password: "secret",
    });
    await server.read();
    await server.send(new Element("challenge", SASL_NS, {}, ["%%%"]));
    const serverSide = (async () => {
      assert.equal((await server.read())?.name, "abort");
      assert.equal(await server.read(), null);
      await server.close();
    })();
    await assert.rejects(c, (e) => {
      assertSasl(e, "incorrect-encoding", "local");
      return true;
    });
    await serverSide;
  });
  await t.step("an oversized challenge", async () => {
    const { client, server } = await open();
    await server.sendFeatures([mechanismsFeature(["SCRAM-SHA-1"])]);
    const c = authenticate(client, await client.readFeatures(), {
      username: "alice",
      password: "secret",
      maxDataLength: 100,
    });
    await server.read();
    await server.send(new Element("challenge", SASL_NS, {}, ["A".repeat(104)]));
    const serverSide = (async () => {
      assert.equal((await server.read())?.name, "abort");
      assert.equal(await server.read(), null);
      await server.close();
    })();
    await assert.rejects(c, (e) => {
      assertSasl(e, "malformed-request", "local", /longer than 100/);
      return true;
    });
    await serverSide;
  });
  await t.step("the server closes mid-exchange", async () => {
    const { client, server } = await open();
    await server.sendFeatures([mechanismsFeature(["SCRAM-SHA-1"])]);
    const c = authenticate(client, await client.readFeatures(), {
      username: "alice",
      password: "secret",
    });
    await server.read();
    await Promise.all([
      assert.rejects(c, StreamError),
      server.close(),
    ]);
  });
});
