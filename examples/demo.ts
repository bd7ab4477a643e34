/**
 * `deno task demo`: an in-process XMPP server and client on loopback
 * exchanging an XML stream, printing each step with its time.
 *
 * Today it runs plain TCP with the stream layer: header exchange, stream
 * features, a message echoed back, a whitespace keepalive, and a clean close
 * from both sides. It grows as the toolkit gains transports (STARTTLS, Direct
 * TLS, QUIC, XTLS).
 *
 * @module
 */

import {
  Element,
  fromConn,
  StreamError,
  STREAMS_NS,
  XmlStream,
} from "../mod.ts";

const DOMAIN = "example.test";
const t0 = performance.now();
const log = (who: string, what: string) =>
  console.log(
    `${(performance.now() - t0).toFixed(1).padStart(7)} ms  ${
      who.padEnd(6)
    } ${what}`,
  );

/** The server: accept one stream, offer features, echo messages back. */
async function serveOne(listener: Deno.Listener): Promise<void> {
  const conn = await listener.accept();
  log("server", `TCP accepted from ${(conn.remoteAddr as Deno.NetAddr).port}`);
  const xs = await XmlStream.accept(fromConn(conn), { domains: [DOMAIN] });
  log("server", `stream accepted, id ${xs.id}, to ${xs.peerHeader.to}`);
  // A real server offers STARTTLS here; this demo's TCP stream offers nothing.
  await xs.sendFeatures([]);
  for await (const stanza of xs) {
    log(
      "server",
      `got <${stanza.name}> from the client: "${
        stanza.getChild("body")?.text
      }"`,
    );
    if (stanza.name === "message") {
      await xs.send(
        new Element(
          "message",
          "jabber:client",
          { from: DOMAIN, type: "chat" },
          [
            new Element("body", "jabber:client", {}, [
              `echo: ${stanza.getChild("body")?.text ?? ""}`,
            ]),
          ],
        ),
      );
    }
  }
  log("server", "client closed its stream; closing ours");
  await xs.close();
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const { port } = listener.addr as Deno.NetAddr;
log("server", `listening on 127.0.0.1:${port}`);
const served = serveOne(listener);

const conn = await Deno.connect({ hostname: "127.0.0.1", port });
log("client", "TCP connected (no-delay on)");
const client = await XmlStream.open(fromConn(conn), { to: DOMAIN });
log("client", `stream open, server id ${client.id}`);
const features = await client.readFeatures();
log(
  "client",
  `features: ${features.elements.map((f) => f.name).join(", ") || "(none)"}`,
);
await client.send(
  new Element("message", "jabber:client", { to: DOMAIN, type: "chat" }, [
    new Element("body", "jabber:client", {}, [
      "Wherefore art thou? <3 & \u{1F339}",
    ]),
  ]),
);
log("client", "sent a message");
const echo = await client.read();
log("client", `got <${echo?.name}>: "${echo?.getChild("body")?.text}"`);

// A stream error from a peer arrives as a typed StreamError.
const bad = new StreamError("policy-violation", "example only");
log(
  "client",
  `errors are typed: ${bad.name} <${bad.condition}/> (stream ns ${STREAMS_NS})`,
);

await client.close();
log("client", "closed (sent and received </stream:stream>)");
await served;
listener.close();
log("demo", `done; connection info: ${JSON.stringify(client.info)}`);
