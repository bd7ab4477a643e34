/**
 * `connect()` against real servers, found through SRV records that Knot DNS
 * serves on loopback:
 *
 * - it logs in to Prosody and to ejabberd over STARTTLS and over Direct TLS
 *   (each forced with `transports`), and with both offered (the race picks
 *   Direct TLS, which has the better SRV priority);
 * - it refuses Prosody presenting a certificate for another name, and one
 *   valid only for the SRV target (`xmpp.target.test`);
 * - it refuses scripted loopback servers that offer no STARTTLS, answer
 *   `<failure/>`, or inject a `<message/>` behind `<proceed/>`.
 *
 * Each test prints the timeline of its logins.
 *
 * Run with `deno task interop`; needs the Debian packages prosody, ejabberd
 * and knot (see `.ci/run`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { RaceError } from "../../srv/race.ts";
import { StreamError } from "../../stream/stream_error.ts";
import { TlsError } from "../../tls/tls_error.ts";
import { connect, type ConnectOptions } from "../../session/connect.ts";
import { formatTimeline } from "../../session/timeline.ts";
import { startTestServer } from "../../session/_test_server.ts";
import { type RunningKnot, startKnot } from "./_knot.ts";
import {
  type RunningServer,
  startEjabberd,
  startProsody,
  testCaCert,
} from "./_servers.ts";

const servers: [string, () => Promise<RunningServer>][] = [
  ["prosody", startProsody],
  ["ejabberd", startEjabberd],
];

/** SRV records for `localhost` pointing at a server's two ports. */
function localhostZone(srv: RunningServer, target = "xmpp"): string {
  return [
    `_xmpps-client._tcp SRV 0 0 ${srv.c2sDirectTlsPort} ${target}`,
    `_xmpp-client._tcp SRV 10 0 ${srv.c2sPort} ${target}`,
    `xmpp A 127.0.0.1`,
  ].join("\n");
}

function options(
  knot: RunningKnot,
  extra: ConnectOptions = {},
): ConnectOptions {
  return {
    nameServer: knot.nameServer,
    ca: testCaCert(),
    systemCa: false,
    timeout: 15_000,
    ...extra,
  };
}

for (const [name, start] of servers) {
  Deno.test(`interop connect: logs in to ${name} found through SRV (knot)`, async (t) => {
    const srv = await start();
    let knot: RunningKnot | undefined;
    try {
      knot = await startKnot({ zones: { localhost: localhostZone(srv) } });
      const cases: [string, ConnectOptions["transports"], string][] = [
        ["STARTTLS", ["starttls"], "starttls"],
        ["Direct TLS", ["directtls"], "directtls"],
        ["both offered: the race", undefined, "directtls"],
      ];
      for (const [label, transports, expected] of cases) {
        await t.step(label, async () => {
          const conn = await connect(
            "alice@localhost/interop",
            options(knot!, { password: "secret", transports }),
          );
          try {
            assert.equal(conn.jid, "alice@localhost/interop");
            assert.equal(conn.info.candidate.transport, expected);
            assert.equal(conn.info.candidate.host, "xmpp.localhost");
            assert.equal(conn.stream.info.secure, true);
            const steps = conn.info.timeline.entries.map((e) => e.step);
            for (
              const s of [
                "dns",
                "tcp",
                "tls",
                "stream-open",
                "features",
                "auth",
                "bind",
              ]
            ) {
              assert.ok(steps.includes(s as never), `step ${s}`);
            }
            if (expected === "starttls") assert.ok(steps.includes("starttls"));
            // knot sends the SRV target's addresses in the additional
            // section, so no second lookup (no "resolve" step) is needed.
            assert.ok(!steps.includes("resolve"), "no A/AAAA lookup");
            console.log(
              `${name} ${label}: ${conn.stream.info.tlsVersion}, ` +
                `${conn.info.timeline.end.toFixed(1)} ms\n` +
                formatTimeline(conn.info.timeline),
            );
          } finally {
            await conn.close();
          }
        });
      }
    } finally {
      await knot?.stop();
      await srv.stop();
    }
  });
}

Deno.test("interop connect: refuses Prosody with a certificate for another name", async () => {
  const srv = await startProsody({ cert: "other.test" });
  let knot: RunningKnot | undefined;
  try {
    knot = await startKnot({ zones: { localhost: localhostZone(srv) } });
    for (const transports of [["starttls"], ["directtls"]] as const) {
      await assert.rejects(
        connect(
          "alice@localhost",
          options(knot, { password: "secret", transports }),
        ),
        (e) => {
          assert.ok(e instanceof TlsError, String(e));
          assert.equal(e.code, "name-mismatch");
          console.log(`${transports[0]}: ${e.message}`);
          return true;
        },
      );
    }
  } finally {
    await knot?.stop();
    await srv.stop();
  }
});

Deno.test("interop connect: refuses Prosody with a certificate valid only for the SRV target", async () => {
  const srv = await startProsody({ cert: "target.test" });
  let knot: RunningKnot | undefined;
  try {
    knot = await startKnot({
      zones: {
        localhost: localhostZone(srv, "xmpp.target.test."),
        "target.test": "xmpp A 127.0.0.1",
      },
    });
    await assert.rejects(
      connect("alice@localhost", options(knot, { password: "secret" })),
      (e) => {
        // Both candidates (Direct TLS and STARTTLS) refused for the same reason.
        assert.ok(e instanceof TlsError, String(e));
        assert.equal(e.code, "name-mismatch");
        assert.match(e.message, /localhost/);
        console.log(e.message);
        return true;
      },
    );
  } finally {
    await knot?.stop();
    await srv.stop();
  }
});

Deno.test("interop connect: refuses misbehaving STARTTLS servers", async (t) => {
  const modes = ["no-starttls", "failure", "inject"] as const;
  const scripted = await Promise.all(
    modes.map((mode) => startTestServer({ mode, domain: "localhost" })),
  );
  let knot: RunningKnot | undefined;
  try {
    knot = await startKnot({
      zones: {
        localhost: modes.map((mode, i) =>
          `_xmpp-client._tcp.${mode} SRV 0 0 ${scripted[i].starttlsPort} xmpp\n`
        ).join("") + "xmpp A 127.0.0.1",
      },
    });
    const expect: Record<typeof modes[number], RegExp> = {
      "no-starttls": /offers no STARTTLS/,
      failure: /refused STARTTLS/,
      inject: /response injection/,
    };
    for (const [i, mode] of modes.entries()) {
      await t.step(mode, async () => {
        await assert.rejects(
          connect(
            `alice@${mode}.localhost`,
            options(knot!, { password: "secret" }),
          ),
          (e) => {
            assert.ok(e instanceof StreamError, String(e));
            assert.ok(!(e instanceof RaceError));
            assert.match(e.message, expect[mode]);
            console.log(`${mode}: <${e.condition}/> ${e.message}`);
            return true;
          },
        );
        await scripted[i].close();
        assert.doesNotMatch(scripted[i].received.join(""), /auth|secret/);
      });
    }
  } finally {
    await knot?.stop();
    await Promise.all(scripted.map((s) => s.close()));
  }
});
