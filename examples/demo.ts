/**
 * `deno task demo`: an in-process XMPP server and client on loopback
 * exchanging an XML stream, printing each step with its time.
 *
 * Today it runs plain TCP with the stream layer:
 * 1. a client opens a stream, reads features, sends a message that the server
 *    echoes back, and both sides close cleanly;
 * 2. a second, misbehaving client sends an XML comment (forbidden in XMPP)
 *    and gets the `<restricted-xml/>` stream error the RFC asks for.
 *
 * It grows as the toolkit gains transports (STARTTLS, Direct TLS, QUIC, XTLS).
 *
 * @module
 */

import { Element, fromConn, StreamError, XmlStream } from "../mod.ts";

const DOMAIN = "example.test";
const t0 = performance.now();
function log(who: string, what: string): void {
  const ms = (performance.now() - t0).toFixed(1).padStart(7);
  console.log(`${ms} ms  ${who.padEnd(7)} ${what}`);
}

/** The server: accept a stream, offer (no) features, echo messages back. */
async function serve(conn: Deno.Conn, n: number): Promise<void> {
  const who = `server${n}`;
  let xs: XmlStream | undefined;
  try {
    xs = await XmlStream.accept(fromConn(conn), { domains: [DOMAIN] });
    log(who, `stream accepted, id ${xs.id}, to ${xs.peerHeader.to}`);
    // A real server offers STARTTLS here; this plain TCP demo offers nothing.
    await xs.sendFeatures([]);
    for await (const stanza of xs) {
      const body = stanza.getChild("body")?.text ?? "";
      log(who, `got <${stanza.name}>: "${body}"`);
      await xs.send(
        new Element("message", "jabber:client", { from: DOMAIN }, [
          new Element("body", "jabber:client", {}, [`echo: ${body}`]),
        ]),
      );
    }
    log(who, "client closed its stream; closing ours");
    await xs.close();
  } catch (e) {
    if (!(e instanceof StreamError)) throw e;
    log(who, `refused the client: <${e.condition}/> (${e.text})`);
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const { port } = listener.addr as Deno.NetAddr;
log("server", `listening on 127.0.0.1:${port}`);
const served = (async () => {
  const tasks: Promise<void>[] = [];
  for (let n = 1; n <= 2; n++) tasks.push(serve(await listener.accept(), n));
  await Promise.all(tasks);
})();

// 1. A well-behaved client.
const conn = await Deno.connect({ hostname: "127.0.0.1", port });
log("client1", "TCP connected (no-delay on)");
const client = await XmlStream.open(fromConn(conn), { to: DOMAIN });
log("client1", `stream open, server id ${client.id}`);
const features = await client.readFeatures();
log(
  "client1",
  `features: ${features.elements.map((f) => f.name).join(", ") || "(none)"}`,
);
await client.send(
  new Element("message", "jabber:client", { to: DOMAIN, type: "chat" }, [
    new Element("body", "jabber:client", {}, ["Wherefore art thou? <3 & 🌹"]),
  ]),
);
log("client1", "sent a message (escaped on the wire: &lt;3 &amp;)");
const echo = await client.read();
log("client1", `got <${echo?.name}>: "${echo?.getChild("body")?.text}"`);
await client.close();
log("client1", "closed: sent and received </stream:stream>");

// 2. A client that sends a comment, which XMPP's restricted XML forbids.
const raw = await Deno.connect({ hostname: "127.0.0.1", port });
const bad =
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${DOMAIN}' version='1.0'><!-- hello -->`;
await raw.write(new TextEncoder().encode(bad));
log("client2", "sent a stream header and an XML comment");
let reply = "";
for await (const chunk of raw.readable) {
  reply += new TextDecoder().decode(chunk);
}
log(
  "client2",
  `server answered: ${reply.slice(reply.indexOf("<stream:error"))}`,
);

await served;
listener.close();
log("demo", `done; client1's connection: ${JSON.stringify(client.info)}`);
