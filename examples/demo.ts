/**
 * `deno task demo`: an embedded XMPP server and two clients on loopback,
 * with everything made on the fly: a throwaway CA and certificate, an
 * in-memory DNS zone with XEP-0368 SRV records, and two users.
 *
 * 1. `alice` connects over STARTTLS and `bob` over Direct TLS, each found
 *    through SRV, through a relay that adds a 20 ms round trip; for each, the
 *    timeline of the connection (DNS, TCP, TLS, stream, features, login,
 *    bind) in milliseconds and round trips, and the TLS version, ALPN, SNI
 *    and cipher.
 * 2. alice sends bob a message, which the server relays.
 * 3. A misbehaving client sends an XML comment, which XMPP's restricted XML
 *    forbids, and gets the `<restricted-xml/>` stream error.
 *
 * `carol` connects over QUIC (XEP-0467; announced by an in-memory host-meta
 * source) through a UDP relay with the same round-trip time.
 *
 * It grows as the toolkit gains transports (XTLS next).
 *
 * @module
 */

import {
  connect,
  Element,
  formatTimeline,
  MemoryCredentialStore,
  memoryResolver,
  mergeByRfc2782,
  serve,
  ThrowawayCa,
} from "../mod.ts";
import type { Connection } from "../mod.ts";
import { startLatencyRelay } from "./_latency_relay.ts";
import { startUdpRelay } from "./_udp_relay.ts";

const DOMAIN = "example.test";
const t0 = performance.now();
function log(what: string): void {
  const ms = (performance.now() - t0).toFixed(1).padStart(7);
  console.log(`${ms} ms  ${what}`);
}

// --- the server --------------------------------------------------------------
const ca = await ThrowawayCa.create({ name: "demo CA (made just now)" });
const leaf = await ca.issue([DOMAIN], { ips: ["127.0.0.1"] });
log(`made a throwaway CA and a certificate for ${DOMAIN}`);

const store = new MemoryCredentialStore();
await store.setPassword("alice", "wonderland");
await store.setPassword("bob", "builder");
await store.setPassword("carol", "curious");

const sessions = new Map<string, (stanza: Element) => Promise<void>>();
const server = serve({
  domains: [DOMAIN],
  listen: [
    { transport: "starttls", hostname: "127.0.0.1", port: 0 },
    { transport: "directtls", hostname: "127.0.0.1", port: 0 },
    { transport: "quic", hostname: "127.0.0.1", port: 0 },
  ],
  tls: { certificates: { [DOMAIN]: leaf } },
  store,
}, async (session) => {
  log(`server: ${session.jid} is online over ${session.endpoint.transport}`);
  sessions.set(session.bareJid, (stanza) => session.stream.send(stanza));
  try {
    for await (const stanza of session.stream) {
      const to = stanza.attrs.to?.split("/")[0];
      const deliver = to ? sessions.get(to) : undefined;
      if (stanza.name === "message" && deliver) {
        stanza.attrs.from = session.jid; // the server stamps the sender
        await deliver(stanza);
      }
    }
  } finally {
    sessions.delete(session.bareJid);
    await session.stream.close();
  }
});
const [starttlsPort, directTlsPort, quicPort] = server.addrs.map((a) => a.port);
log(
  `server: STARTTLS on 127.0.0.1:${starttlsPort}, Direct TLS on :${directTlsPort}`,
);

// A relay in front of each port adds a network's round-trip time, so the
// timelines show what each step costs in round trips.
const RTT = 20;
const relays = await Promise.all(
  [starttlsPort, directTlsPort].map((p) => startLatencyRelay(p, { rtt: RTT })),
);
const udpRelay = startUdpRelay(quicPort, { rtt: RTT });
log(`network: a ${RTT} ms round trip added in front of both ports`);

// --- DNS: an in-memory zone, as a real one would publish it (XEP-0368) ------
const resolver = memoryResolver({
  [`_xmpp-client._tcp.${DOMAIN}`]: {
    srv: [{
      priority: 10,
      weight: 1,
      port: relays[0].port,
      target: `xmpp.${DOMAIN}`,
    }],
  },
  [`_xmpps-client._tcp.${DOMAIN}`]: {
    srv: [{
      priority: 10,
      weight: 1,
      port: relays[1].port,
      target: `xmpp.${DOMAIN}`,
    }],
  },
  [`xmpp.${DOMAIN}`]: { a: ["127.0.0.1"] },
});
log(`DNS: _xmpp-client (STARTTLS) and _xmpps-client (Direct TLS) SRV records`);

// --- two clients, one per transport ------------------------------------------
// XEP-0487 host-meta would announce the QUIC endpoint; here, in memory too.
const hostMeta = {
  fetch: () =>
    Promise.resolve([{
      transport: "quic" as const,
      host: `xmpp.${DOMAIN}`,
      ips: ["127.0.0.1"],
      port: udpRelay.port,
      serverName: DOMAIN,
      alpn: "xmpp-client" as const,
      priority: 0,
      weight: 0,
      source: "host-meta" as const,
    }]),
  merge: mergeByRfc2782, // keep SRV too: each client picks its transport
};

function dial(
  user: string,
  password: string,
  transport: "starttls" | "directtls" | "quic",
  resource = "demo",
): Promise<Connection> {
  return connect(`${user}@${DOMAIN}/${resource}`, {
    password,
    resolver,
    hostMeta,
    transports: [transport],
    ca: ca.cert,
    systemCa: false,
  });
}

async function online(
  user: string,
  password: string,
  transport: "starttls" | "directtls" | "quic",
): Promise<Connection> {
  const c = await dial(user, password, transport);
  const { info } = c.stream;
  console.log(`\n${user} over ${transport}: ${c.jid}`);
  console.log(formatTimeline(c.info.timeline, { rtt: RTT }));
  // Secure features: the features read over TLS, just before login.
  const secure = c.info.timeline.get("features")!;
  const first = c.info.timeline.get("tcp") ?? c.info.timeline.get("tls")!;
  const note = transport === "quic"
    ? "QUIC's handshake and TLS are one"
    : "the relay does not delay TCP's own handshake: add 1";
  console.log(
    `  secure features after ${(secure.end - first.start).toFixed(0)} ms ≈ ${
      ((secure.end - first.start) / RTT).toFixed(1)
    } round trips (${note})`,
  );
  console.log(
    `  ${transport === "quic" ? "QUIC" : "TLS"} ${info.tlsVersion}, cipher ${
      info.cipher ?? "(not exposed)"
    }, SNI ${info.serverName}, ALPN ${
      info.alpn ?? "(none selected)"
    }, to ${c.info.candidate.host}:${c.info.candidate.port} (${c.info.address.ip})\n`,
  );
  return c;
}

// One unprinted connection per transport first, so that the printed
// timelines show the network and the protocol, not JIT compilation.
for (const transport of ["starttls", "directtls", "quic"] as const) {
  await (await dial("alice", "wonderland", transport, "warm-up")).close();
}

const alice = await online("alice", "wonderland", "starttls");
const bob = await online("bob", "builder", "directtls");
const carol = await online("carol", "curious", "quic");

await alice.stream.send(
  new Element(
    "message",
    "jabber:client",
    { to: `bob@${DOMAIN}`, type: "chat" },
    [
      new Element("body", "jabber:client", {}, ["Wherefore art thou? <3 & 🌹"]),
    ],
  ),
);
log("alice sent bob a message (escaped on the wire: &lt;3 &amp;)");
const got = await bob.stream.read();
log(`bob got it from ${got?.attrs.from}: "${got?.getChild("body")?.text}"`);
await carol.stream.send(
  new Element("message", "jabber:client", { to: `alice@${DOMAIN}` }, [
    new Element("body", "jabber:client", {}, ["hello from QUIC"]),
  ]),
);
const fromCarol = await alice.stream.read();
log(
  `alice got "${
    fromCarol?.getChild("body")?.text
  }" from ${fromCarol?.attrs.from} (QUIC to STARTTLS)`,
);

// --- a client that breaks the rules ------------------------------------------
const raw = await Deno.connect({ hostname: "127.0.0.1", port: starttlsPort });
await raw.write(new TextEncoder().encode(
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${DOMAIN}' version='1.0'><!-- hello -->`,
));
log("mallory sent a stream header and an XML comment");
let reply = "";
for await (const chunk of raw.readable) {
  reply += new TextDecoder().decode(chunk);
}
log(`server answered mallory: ${reply.slice(reply.indexOf("<stream:error"))}`);

await alice.close();
await bob.close();
await carol.close();
await server.close();
await Promise.all([...relays, udpRelay].map((r) => r.close()));
log("done: every client closed its stream, the server shut down");
