/**
 * Login against real servers (Prosody, ejabberd) on loopback, over their
 * Direct TLS c2s ports: SCRAM-SHA-1 (and whatever else both sides share),
 * PLAIN over TLS, a wrong password, and resource binding with and without a
 * requested resource. Prints the mechanisms offered, the SCRAM parameters
 * each server sends, and how long each login takes.
 *
 * Run with `deno task interop`; needs the Debian packages prosody and
 * ejabberd (see `.ci/run`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fromTlsConn } from "../../stream/conn_duplex.ts";
import { Element } from "../../stream/element.ts";
import { XmlStream } from "../../stream/xml_stream.ts";
import {
  authenticate,
  type AuthenticateOptions,
  bind,
  offeredMechanisms,
  SASL_NS,
  SaslError,
  ScramCache,
  ScramClient,
} from "../../sasl/mod.ts";
import {
  type RunningServer,
  startEjabberd,
  startProsody,
  testCaCert,
  TESTDATA,
} from "./_servers.ts";

const servers: [string, () => Promise<RunningServer>][] = [
  ["prosody", startProsody],
  ["ejabberd", startEjabberd],
];

/** Open a Direct TLS stream and read its features. */
async function directTls(srv: RunningServer) {
  const conn = await Deno.connectTls({
    hostname: srv.host,
    port: srv.c2sDirectTlsPort,
    caCerts: [testCaCert()],
    alpnProtocols: ["xmpp-client"],
  });
  let xs: XmlStream;
  try {
    xs = await XmlStream.open(
      await fromTlsConn(conn, { serverName: srv.domain }),
      { to: srv.domain },
    );
  } catch (e) {
    conn.close();
    throw e;
  }
  const features = await xs.readFeatures({
    signal: AbortSignal.timeout(10_000),
  });
  return { xs, features };
}

/** Log in; return the result and the milliseconds authenticate() took. */
async function login(
  srv: RunningServer,
  options: Partial<AuthenticateOptions>,
) {
  const { xs, features } = await directTls(srv);
  const t0 = performance.now();
  try {
    const result = await authenticate(xs, features, {
      username: "alice",
      password: "secret",
      signal: AbortSignal.timeout(10_000),
      ...options,
    });
    return {
      ...result,
      ms: performance.now() - t0,
      offered: offeredMechanisms(features),
    };
  } catch (e) {
    await xs.close();
    throw e;
  }
}

for (const [name, start] of servers) {
  Deno.test(`interop ${name}: SASL and resource binding`, async (t) => {
    const srv = await start();
    try {
      const probe = await directTls(srv);
      const offered = offeredMechanisms(probe.features);
      console.log(`${name}: offers ${offered.join(" ")}`);
      assert.ok(offered.includes("SCRAM-SHA-1"), "SCRAM-SHA-1 offered");

      await t.step("the SCRAM-SHA-1 parameters it sends", async () => {
        const { xs } = probe;
        const client = new ScramClient("SHA-1", {
          username: "alice",
          password: "secret",
        });
        const first = await client.start();
        await xs.send(
          new Element("auth", SASL_NS, { mechanism: "SCRAM-SHA-1" }, [
            first.toBase64(),
          ]),
        );
        const challenge = await xs.read({
          signal: AbortSignal.timeout(10_000),
        });
        assert.equal(challenge?.name, "challenge");
        const serverFirst = new TextDecoder().decode(
          Uint8Array.fromBase64(challenge!.text),
        );
        const params = Object.fromEntries(
          serverFirst.split(",").map((f) => [f[0], f.slice(2)]),
        );
        console.log(
          `${name}: SCRAM-SHA-1 salt ${
            Uint8Array.fromBase64(params.s).length
          } bytes, ` +
            `${params.i} iterations, server nonce part ${
              params.r.length - 32
            } chars`,
        );
        assert.ok(Number(params.i) >= 4096);
        await xs.send(new Element("abort", SASL_NS));
        const failure = await xs.read({ signal: AbortSignal.timeout(10_000) });
        assert.equal(failure?.name, "failure");
        await xs.close();
      });

      await t.step("SCRAM-SHA-1 login and bind with a resource", async () => {
        const r = await login(srv, { mechanisms: ["SCRAM-SHA-1"] });
        try {
          assert.equal(r.mechanism, "SCRAM-SHA-1");
          assert.equal(r.stream.info.secure, true);
          assert.ok(
            r.features.getChild("bind", "urn:ietf:params:xml:ns:xmpp-bind"),
            "<bind/> offered after login",
          );
          const t0 = performance.now();
          const jid = await bind(r.stream, {
            resource: "interop",
            signal: AbortSignal.timeout(10_000),
          });
          const bindMs = performance.now() - t0;
          assert.equal(jid, `alice@${srv.domain}/interop`);
          console.log(
            `${name}: SCRAM-SHA-1 login ${r.ms.toFixed(1)} ms ` +
              `(auth exchange + stream restart + features), bind ${
                bindMs.toFixed(1)
              } ms -> ${jid}`,
          );
        } finally {
          await r.stream.close();
        }
      });

      await t.step("a reconnect with the key cache", async () => {
        const cache = new ScramCache();
        const first = await login(srv, { mechanisms: ["SCRAM-SHA-1"], cache });
        await first.stream.close();
        const second = await login(srv, { mechanisms: ["SCRAM-SHA-1"], cache });
        await second.stream.close();
        assert.equal(cache.misses, 1);
        assert.equal(cache.hits, 1);
        console.log(
          `${name}: SCRAM-SHA-1 login ${first.ms.toFixed(1)} ms, then ${
            second.ms.toFixed(1)
          } ms from the cache`,
        );
      });

      await t.step(
        "the strongest shared mechanism, bind without a resource",
        async () => {
          const r = await login(srv, {});
          try {
            const jid = await bind(r.stream, {
              signal: AbortSignal.timeout(10_000),
            });
            assert.match(jid, new RegExp(`^alice@${srv.domain}/.+$`));
            console.log(
              `${name}: default choice ${r.mechanism}: login ${
                r.ms.toFixed(1)
              } ms, server-assigned JID ${jid}`,
            );
          } finally {
            await r.stream.close();
          }
        },
      );

      if (offered.includes("PLAIN")) {
        await t.step("PLAIN over TLS", async () => {
          const r = await login(srv, { mechanisms: ["PLAIN"] });
          try {
            assert.equal(r.mechanism, "PLAIN");
            const jid = await bind(r.stream, { resource: "plain" });
            assert.equal(jid, `alice@${srv.domain}/plain`);
            console.log(`${name}: PLAIN login ${r.ms.toFixed(1)} ms`);
          } finally {
            await r.stream.close();
          }
        });
      }

      if (offered.some((m) => m.endsWith("-PLUS"))) {
        // Deno's TLS exposes no channel binding data. tls-server-end-point
        // only needs the server certificate, which the test knows: try it.
        await t.step(
          "-PLUS with tls-server-end-point (informational)",
          async () => {
            const pem = await Deno.readTextFile(`${TESTDATA}localhost.pem`);
            const der = Uint8Array.fromBase64(
              pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""),
            );
            const data = new Uint8Array(
              await crypto.subtle.digest("SHA-256", der),
            );
            const plus = offered.filter((m) => m.endsWith("-PLUS"));
            try {
              const r = await login(srv, {
                mechanisms: plus,
                channelBinding: () => ({ type: "tls-server-end-point", data }),
              });
              console.log(
                `${name}: ${r.mechanism} with tls-server-end-point: ok`,
              );
              await r.stream.close();
            } catch (e) {
              assert.ok(e instanceof SaslError, String(e));
              assert.equal(e.origin, "remote");
              console.log(
                `${name}: ${
                  plus.join(" ")
                } with tls-server-end-point refused: ${e.message}`,
              );
            }
          },
        );
      }
      await t.step(
        "a wrong password: not-authorized from the server",
        async () => {
          const { xs, features } = await directTls(srv);
          try {
            await assert.rejects(
              authenticate(xs, features, {
                username: "alice",
                password: "wrong",
                mechanisms: ["SCRAM-SHA-1"],
                signal: AbortSignal.timeout(10_000),
              }),
              (e) => {
                assert.ok(e instanceof SaslError, String(e));
                assert.equal(e.origin, "remote");
                assert.equal(e.condition, "not-authorized");
                console.log(`${name}: wrong password -> ${e.message}`);
                return true;
              },
            );
          } finally {
            await xs.close();
          }
        },
      );
    } catch (e) {
      const log = await srv.readLog();
      console.error(`--- ${name} log (last 60 lines) ---`);
      console.error(log.split("\n").slice(-60).join("\n"));
      throw e;
    } finally {
      await srv.stop();
    }
  });
}
