/**
 * `serve()` on loopback, our client against our server, no relay:
 *
 * 1. **Time to secure features**: from the start of the TCP connect to the
 *    `<stream:features/>` of the TLS-protected stream, median and p90 over
 *    `CONNS` sequential connections, for STARTTLS and Direct TLS. Both
 *    sides set no-delay on every socket (`fromConn`); a third row turns it
 *    off on the client only, to show what Nagle's algorithm and the peer's
 *    delayed ACK cost.
 * 2. **Goodput over Direct TLS**: one logged-in session; the client sends
 *    `STANZAS` chat messages of a realistic size (`BODY` characters of
 *    body), one `send()` each, which the session handler reads through the
 *    parser; then, on the same TLS connection with the XML streams
 *    detached, the same bytes are pushed without XML, once with the same
 *    writes (one per stanza) and once in 64 KiB writes. Messages/s and MB/s
 *    (10^6 bytes of stanza XML per second) for each.
 *
 * Run: `deno run -A bench/serve.ts` (env `ROUNDS`, `CONNS`, `STANZAS`,
 * `BODY`). Numbers only; each round runs every variant, alternating order.
 *
 * @module
 */

import { fromConn } from "../stream/conn_duplex.ts";
import type { Duplex } from "../stream/duplex.ts";
import { Element } from "../stream/element.ts";
import { negotiateClient } from "../stream/negotiate.ts";
import { serialize } from "../stream/writer.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { startTlsClient } from "../starttls/negotiator.ts";
import { tlsConnect } from "../tls/client.ts";
import { MemoryCredentialStore } from "../sasl/credentials.ts";
import { bindClient, saslClient } from "../sasl/stream_features.ts";
import { serve, type ServeTransport, type Session } from "../session/serve.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);
const CONNS = Number(Deno.env.get("CONNS") ?? 40);
const STANZAS = Number(Deno.env.get("STANZAS") ?? 20000);
const BODY = Number(Deno.env.get("BODY") ?? 300);
const HOST = "127.0.0.1";
const DOMAIN = "localhost";
const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFile(new URL(f, dir));
const ca = await read("ca.pem");
const leaf = {
  cert: await read("localhost.pem"),
  key: await read("localhost.key"),
};

const store = new MemoryCredentialStore({ iterations: 4096 });
await store.setPassword("alice", "secret");

// A chat message of a realistic size: id, to, type, body, a chat state.
const CLIENT_NS = "jabber:client";
const body = "lorem ipsum dolor sit amet, ".repeat(Math.ceil(BODY / 28)).slice(
  0,
  BODY,
);
function stanza(i: number): Element {
  return new Element("message", CLIENT_NS, {
    to: "bob@localhost",
    type: "chat",
    id: `m-${i.toString().padStart(8, "0")}`,
  }, [
    new Element("body", CLIENT_NS, {}, [body]),
    new Element("active", "http://jabber.org/protocol/chatstates"),
  ]);
}
const STANZA_BYTES = new TextEncoder().encode(
  serialize(stanza(0), { ns: CLIENT_NS }),
).byteLength;
const TOTAL = STANZA_BYTES * STANZAS;

/** The server side of the goodput test, in the session handler. */
async function goodputServer(session: Session): Promise<void> {
  let n = 0;
  for await (const _ of session.stream) if (++n === STANZAS) break;
  await session.stream.send(new Element("message", CLIENT_NS, { id: "done" }));
  const raw = session.stream.detach(); // the same TLS connection, no XML
  const r = raw.readable.getReader();
  const w = raw.writable.getWriter();
  for (let phase = 0; phase < 2; phase++) {
    let got = 0;
    while (got < TOTAL) {
      const { value, done } = await r.read();
      if (done) return;
      got += value.byteLength;
    }
    await w.write(new Uint8Array([0x44])); // "D"
  }
  r.releaseLock();
  w.releaseLock();
}

const server = serve({
  domains: [DOMAIN],
  listen: [
    { transport: "starttls", hostname: HOST, port: 0 },
    { transport: "directtls", hostname: HOST, port: 0 },
  ],
  tls: { certificates: { [DOMAIN]: leaf } },
  store,
  onError: () => {}, // the latency clients leave before logging in
}, goodputServer);
const port = (t: ServeTransport) =>
  server.addrs.find((a) => a.transport === t)!.port;

const tlsOptions = { serverName: DOMAIN, ca, systemCa: false };

/** Connect and read the secure features; milliseconds from TCP connect. */
async function secureFeatures(
  transport: ServeTransport,
  noDelay: boolean,
): Promise<number> {
  const t0 = performance.now();
  const conn = await Deno.connect({ hostname: HOST, port: port(transport) });
  let duplex: Duplex = fromConn(conn, { noDelay, readSize: 65536 });
  let xs: XmlStream;
  if (transport === "directtls") {
    duplex = await tlsConnect(duplex, { ...tlsOptions, alpn: "xmpp-client" });
    xs = await XmlStream.open(duplex, { to: DOMAIN });
    await xs.readFeatures();
  } else {
    const open = await XmlStream.open(duplex, { to: DOMAIN });
    // Reads the plaintext features, STARTTLS, then the features over TLS.
    ({ stream: xs } = await negotiateClient(open, {
      features: [
        startTlsClient({
          upgrade: (raw) => tlsConnect(raw, { ...tlsOptions, alpn: null }),
        }),
      ],
    }));
  }
  const ms = performance.now() - t0;
  await xs.close({ timeout: 0 });
  return ms;
}

function stats(xs: number[]): { median: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)],
    p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))],
  };
}

/** One goodput run over a fresh Direct TLS session. */
async function goodput(): Promise<
  { stanzas: number; sameWrites: number; bulk: number }
> {
  const conn = await Deno.connect({ hostname: HOST, port: port("directtls") });
  const tls = await tlsConnect(fromConn(conn, { readSize: 65536 }), {
    ...tlsOptions,
    alpn: "xmpp-client",
  });
  const { stream } = await negotiateClient(
    await XmlStream.open(tls, { to: DOMAIN }),
    {
      features: [
        saslClient({ username: "alice", password: "secret" }),
        bindClient(),
      ],
      require: ["secure", "authenticated", "bound"],
    },
  );
  const elements = Array.from({ length: STANZAS }, (_, i) => stanza(i));
  let t0 = performance.now();
  for (const el of elements) await stream.send(el);
  const done = await stream.read();
  const stanzaMs = performance.now() - t0;
  if (done?.attrs.id !== "done") throw new Error("no end marker");
  const raw = stream.detach();
  const w = raw.writable.getWriter();
  const r = raw.readable.getReader();
  const bytes = new TextEncoder().encode(
    elements.map((el) => serialize(el, { ns: CLIENT_NS })).join(""),
  );
  // The same bytes, one write per stanza.
  t0 = performance.now();
  for (let off = 0; off < bytes.byteLength; off += STANZA_BYTES) {
    await w.write(bytes.subarray(off, off + STANZA_BYTES));
  }
  await r.read();
  const sameMs = performance.now() - t0;
  // The same bytes in 64 KiB writes.
  t0 = performance.now();
  for (let off = 0; off < bytes.byteLength; off += 65536) {
    await w.write(bytes.subarray(off, off + 65536));
  }
  await r.read();
  const bulkMs = performance.now() - t0;
  r.releaseLock();
  w.releaseLock();
  raw.close();
  return { stanzas: stanzaMs, sameWrites: sameMs, bulk: bulkMs };
}

console.log(
  `serve() on loopback: ${ROUNDS} rounds, ${CONNS} connections per variant; ` +
    `${STANZAS} stanzas of ${STANZA_BYTES} bytes (${
      (TOTAL / 1e6).toFixed(1)
    } MB) per goodput run`,
);
const variants: [string, ServeTransport, boolean][] = [
  ["STARTTLS", "starttls", true],
  ["Direct TLS", "directtls", true],
  ["STARTTLS, client without no-delay", "starttls", false],
];
const latency = new Map<string, number[]>(variants.map(([n]) => [n, []]));
const runs: { stanzas: number; sameWrites: number; bulk: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const [name, transport, noDelay] of order) {
    await secureFeatures(transport, noDelay); // warm-up
    for (let i = 0; i < CONNS; i++) {
      latency.get(name)!.push(await secureFeatures(transport, noDelay));
    }
  }
  runs.push(await goodput());
}
console.log("\ntime from TCP connect to secure <stream:features/> (ms)");
for (const [name, xs] of latency) {
  const { median, p90 } = stats(xs);
  console.log(
    `  ${name.padEnd(34)} median ${median.toFixed(2).padStart(6)}  p90 ${
      p90.toFixed(2).padStart(6)
    }`,
  );
}
console.log(
  "\ngoodput over one Direct TLS connection, client to server (median of rounds)",
);
const rate = (ms: number) => ({
  msgs: STANZAS / (ms / 1000),
  mbs: TOTAL / 1e6 / (ms / 1000),
});
for (
  const [name, key] of [
    ["stanzas through serve() (parsed)", "stanzas"],
    ["raw TLS, same writes (1 per stanza)", "sameWrites"],
    ["raw TLS, 64 KiB writes", "bulk"],
  ] as const
) {
  const ms = stats(runs.map((r) => r[key])).median;
  const { msgs, mbs } = rate(ms);
  console.log(
    `  ${name.padEnd(36)} ${msgs.toFixed(0).padStart(7)} msg/s  ${
      mbs.toFixed(1).padStart(6)
    } MB/s`,
  );
}
const s = stats(runs.map((r) => r.stanzas)).median;
const b = stats(runs.map((r) => r.sameWrites)).median;
console.log(
  `  stanza goodput / raw TLS with the same writes: ${
    (b / s * 100).toFixed(0)
  }%`,
);
await server.close();
