/**
 * Round trips to `<stream:features/>` over QUIC, through a UDP relay that
 * adds a fixed round-trip time (`bench/_udp_relay.ts`), so the count of
 * round trips shows through the loopback noise:
 *
 * - full handshake: QUIC + TLS 1.3 (1 RTT), then the stream header and the
 *   server's header and features (1 RTT): target 2;
 * - 0-RTT resumption (session ticket from an earlier connection through the
 *   same endpoint, server accepting in 0.5-RTT): the header goes in early
 *   data, header and features come back with the handshake: target 1;
 * - 0-RTT against a server that does not opt in: it reads the early header
 *   only after the handshake: 2;
 * - another XML stream on an open connection: 1.
 *
 * Usage: `deno run -A bench/quic.ts [rtt ms ...]` (default 50 and 100).
 * Numbers only; nothing is asserted.
 *
 * @module
 */

import { createQuicEndpoint } from "../quic/endpoint.ts";
import { openQuicConnection } from "../quic/dial.ts";
import { listenQuic, type QuicListener } from "../quic/listen.ts";
import type { QuicConnection } from "../quic/connection.ts";
import { XmlStream } from "../stream/xml_stream.ts";
import { assertQuicSupported } from "../quic/support.ts";
import { startUdpRelay } from "../examples/_udp_relay.ts";

const ROUNDS = 7;
const TESTDATA = new URL("../tests/testdata/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, TESTDATA));

/** Serve features on every stream until the listener closes. */
function serve(listener: QuicListener): Promise<void> {
  return (async () => {
    const all: Promise<void>[] = [];
    for await (const duplex of listener) {
      all.push(
        (async () => {
          const xs = await XmlStream.accept(duplex, { domains: ["localhost"] });
          await xs.sendFeatures([]);
          while ((await xs.read()) !== null) { /* until the client closes */ }
          await xs.close();
        })().catch(() => {}),
      );
    }
    await Promise.all(all);
  })();
}

/** Open a stream on `conn` and read features; returns the stream. */
async function features(conn: QuicConnection): Promise<XmlStream> {
  const xs = await XmlStream.open(await conn.openStream(), { to: "localhost" });
  await xs.readFeatures();
  return xs;
}

interface Sample {
  ms: number;
  early: boolean;
}

async function dialToFeatures(
  port: number,
  endpoint: Deno.QuicEndpoint,
  zeroRtt: boolean,
): Promise<Sample> {
  const started = performance.now();
  const conn = await openQuicConnection({
    transport: "quic",
    host: "127.0.0.1",
    port,
    serverName: "localhost",
    alpn: "xmpp-client",
    priority: 0,
    weight: 0,
    source: "srv",
  }, { ca: read("ca.pem"), systemCa: false, endpoint, zeroRtt });
  const early = !conn.handshakeComplete;
  const xs = await features(conn);
  const ms = performance.now() - started;
  await xs.close();
  await conn.close();
  // Session tickets arrive just after the handshake; let them land.
  await new Promise((r) => setTimeout(r, 20));
  return { ms, early };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function row(name: string, rtt: number, samples: Sample[], target: string) {
  const ms = median(samples.map((s) => s.ms));
  const early = samples.filter((s) => s.early).length;
  console.log(
    `${name.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms  ${
      (ms / rtt).toFixed(2).padStart(5)
    } RTT  (target ${target}; 0-RTT tried ${early}/${samples.length})`,
  );
}

async function measure(rtt: number, certName: string): Promise<void> {
  const certificate = {
    cert: read(`${certName}.pem`),
    key: read("localhost.key"),
  };
  const zeroRttServer = listenQuic({
    hostname: "127.0.0.1",
    port: 0,
    certificate,
    zeroRtt: true,
  });
  const plainServer = listenQuic({
    hostname: "127.0.0.1",
    port: 0,
    certificate,
  });
  const serving = [serve(zeroRttServer), serve(plainServer)];
  const relay = startUdpRelay(zeroRttServer.addr.port, { rtt });
  const relayPlain = startUdpRelay(plainServer.addr.port, { rtt });
  // Session tickets are kept per endpoint and server name: one endpoint per
  // server, or each would overwrite the other's ticket (and 0-RTT would be
  // rejected).
  const endpoint = createQuicEndpoint({ hostname: "127.0.0.1" });
  const endpointPlain = createQuicEndpoint({ hostname: "127.0.0.1" });
  try {
    console.log(
      `\nRTT ${rtt} ms (UDP relay, ${rtt / 2} ms each way), certificate ` +
        `${certName}.pem (${certificate.cert.length} bytes PEM), ${ROUNDS} rounds, medians:`,
    );
    const cold = await dialToFeatures(relay.port, createQuicEndpoint(), false);
    row("first connection of the process", rtt, [cold], "2");
    const full: Sample[] = [];
    const zero: Sample[] = [];
    const zeroPlain: Sample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const ep = createQuicEndpoint({ hostname: "127.0.0.1" });
      full.push(await dialToFeatures(relay.port, ep, false));
      ep.close();
      zero.push(await dialToFeatures(relay.port, endpoint, true));
      zeroPlain.push(
        await dialToFeatures(relayPlain.port, endpointPlain, true),
      );
    }
    row("full handshake (new endpoint, no ticket)", rtt, full, "2");
    row("0-RTT resumption (server zeroRtt: true)", rtt, zero, "1");
    row("0-RTT, server without zeroRtt", rtt, zeroPlain, "2");

    const conn = await openQuicConnection({
      transport: "quic",
      host: "127.0.0.1",
      port: relay.port,
      serverName: "localhost",
      alpn: "xmpp-client",
      priority: 0,
      weight: 0,
      source: "srv",
    }, { ca: read("ca.pem"), systemCa: false, endpoint });
    const more: Sample[] = [];
    const open: XmlStream[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      open.push(await features(conn));
      more.push({ ms: performance.now() - started, early: false });
    }
    row("another XML stream on an open connection", rtt, more, "1");
    await Promise.all(open.map((xs) => xs.close()));
    await conn.close();
  } finally {
    await zeroRttServer.close();
    await plainServer.close();
    await Promise.all(serving);
    await relay.close();
    await relayPlain.close();
    endpoint.close();
    endpointPlain.close();
  }
}

if (import.meta.main) {
  assertQuicSupported();
  const rtts = Deno.args.length > 0 ? Deno.args.map(Number) : [50, 100];
  console.log(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
  );
  for (const rtt of rtts) {
    if (!(rtt > 0)) throw new RangeError(`bad RTT ${rtt}`);
    await measure(rtt, "localhost.fullchain");
  }
}
