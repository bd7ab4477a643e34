/**
 * XmlStream against real servers (Prosody, ejabberd) on loopback: the
 * stream header exchange and `<stream:features/>` on the plain c2s port
 * (STARTTLS offered and required) and on the Direct TLS port.
 *
 * Run with `deno task interop`; needs the Debian packages prosody and
 * ejabberd (see `.ci/run`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fromConn, fromTlsConn } from "../../stream/conn_duplex.ts";
import { XmlStream } from "../../stream/xml_stream.ts";
import {
  type RunningServer,
  startEjabberd,
  startProsody,
  testCaCert,
} from "./_servers.ts";

const STREAMS_NS = "http://etherx.jabber.org/streams";
const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";
const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";

const servers: [string, () => Promise<RunningServer>][] = [
  ["prosody", startProsody],
  ["ejabberd", startEjabberd],
];

for (const [name, start] of servers) {
  Deno.test(`interop ${name}: stream features`, async (t) => {
    const srv = await start();
    console.log(
      `${name}: listening after ${srv.startupMs} ms (pid ${srv.pid})`,
    );
    try {
      await t.step(
        "plain c2s offers <starttls><required/></starttls>",
        async () => {
          const conn = await Deno.connect({
            hostname: srv.host,
            port: srv.c2sPort,
          });
          const xs = await XmlStream.open(fromConn(conn), {
            to: srv.domain,
            ns: "jabber:client",
          });
          try {
            assert.equal(xs.peerHeader.from, srv.domain);
            assert.ok(xs.id, "the server sent a stream id");
            const features = await xs.readFeatures();
            assert.equal(features.name, "features");
            assert.equal(features.ns, STREAMS_NS);
            const st = features.getChild("starttls", TLS_NS);
            assert.ok(st, "<starttls/> offered");
            assert.ok(
              st.getChild("required", TLS_NS),
              "<required/> in <starttls/>",
            );
            // No authentication before TLS (c2s_require_encryption / starttls_required).
            assert.equal(features.getChild("mechanisms", SASL_NS), undefined);
          } finally {
            await xs.close();
          }
        },
      );

      await t.step("Direct TLS c2s: no STARTTLS, SASL mechanisms", async () => {
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
            { to: srv.domain, ns: "jabber:client" },
          );
        } catch (e) {
          conn.close();
          throw e;
        }
        try {
          const features = await xs.readFeatures();
          assert.equal(features.getChild("starttls", TLS_NS), undefined);
          const mechs = features.getChild("mechanisms", SASL_NS);
          assert.ok(mechs, "<mechanisms/> offered over TLS");
          const names = mechs.getChildren("mechanism", SASL_NS).map((m) =>
            m.text
          );
          assert.ok(
            names.some((n) => n.startsWith("SCRAM-SHA-") || n === "PLAIN"),
            `mechanisms: ${names.join(" ")}`,
          );
        } finally {
          await xs.close();
        }
      });
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
