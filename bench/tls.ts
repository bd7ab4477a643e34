/**
 * TLS engines compared, per side, in one run on loopback:
 *
 * Client side, against the same `Deno.listenTls` server:
 * - `Deno.startTls`: `Deno.connect` (no-delay) + `Deno.startTls` (rustls,
 *   native, TCP only, no peer certificate);
 * - `tlsConnect`: `Deno.connect` + `fromConn` + this toolkit's `tlsConnect`
 *   (`node:tls` over the duplex bridge, with every policy check);
 * - `node tls.connect`: `node:tls` on its own TCP socket, for reference.
 *
 * Server side, with the same `Deno.connectTls` client:
 * - `Deno.listenTls` (native) against `listenDirectTls` (`tlsAccept` over
 *   `fromConn`).
 *
 * Measured: the time to a first application round trip (TCP connect, TLS
 * handshake, one byte each way), median and p90 over `CONNS` sequential
 * connections; and bulk throughput, the server sending `MIB` MiB that the
 * client reads. Each round runs every variant; rounds alternate the order.
 *
 * Run: `deno run -A bench/tls.ts` (env `ROUNDS`, `CONNS`, `MIB`).
 *
 * @module
 */

import type net from "node:net";
import tls from "node:tls";
import { fromConn } from "../stream/conn_duplex.ts";
import type { Duplex } from "../stream/duplex.ts";
import { tlsConnect } from "../tls/client.ts";
import { listenDirectTls } from "../tls/direct_tls.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);
const CONNS = Number(Deno.env.get("CONNS") ?? 40);
const MIB = Number(Deno.env.get("MIB") ?? 32);
const HOST = "127.0.0.1";
const NAME = "localhost";
const dir = new URL("../tests/testdata/", import.meta.url);
const ca = await Deno.readTextFile(new URL("ca.pem", dir));
const cert = await Deno.readTextFile(new URL("localhost.pem", dir));
const key = await Deno.readTextFile(new URL("localhost.key", dir));
const CHUNK = new Uint8Array(64 * 1024);
const READ_SIZE = Number(Deno.env.get("READ_SIZE") ?? 65536); // as dialDirectTls

/** What one side does once connected: 0x01 = ping, 0x02 = send MIB MiB. */
async function serveConn(
  read: (b: Uint8Array) => Promise<number | null>,
  write: (b: Uint8Array) => Promise<void>,
): Promise<void> {
  const cmd = new Uint8Array(1);
  if ((await read(cmd)) !== 1) return;
  if (cmd[0] === 1) {
    await write(cmd);
  } else {
    for (let sent = 0; sent < MIB * 1024 * 1024; sent += CHUNK.length) {
      await write(CHUNK);
    }
  }
}

/** A native `Deno.listenTls` server. */
function nativeServer(): { port: number; close(): Promise<void> } {
  const listener = Deno.listenTls({
    hostname: HOST,
    port: 0,
    cert,
    key,
    alpnProtocols: ["xmpp-client"],
  });
  const conns = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const conn of listener) {
      const p = (async () => {
        try {
          await conn.handshake();
          await serveConn(
            (b) => conn.read(b),
            async (b) => {
              let off = 0;
              while (off < b.length) off += await conn.write(b.subarray(off));
            },
          );
          await conn.closeWrite();
          const sink = new Uint8Array(1024);
          while ((await conn.read(sink)) !== null) { /* until EOF */ }
        } catch {
          /* client went away */
        } finally {
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
      conns.add(p);
      p.finally(() => conns.delete(p));
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      await loop.catch(() => {});
      await Promise.allSettled([...conns]);
    },
  };
}

/** A server made of `listenDirectTls` (node:tls over the duplex bridge). */
function bridgeServer(): { port: number; close(): Promise<void> } {
  const listener = listenDirectTls({
    hostname: HOST,
    port: 0,
    certificates: { [NAME]: { cert, key } },
  });
  const conns = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const d of listener) {
      const p = (async () => {
        const r = d.readable.getReader();
        const w = d.writable.getWriter();
        let pending: Uint8Array | null = null;
        try {
          await serveConn(
            async (b) => {
              const { value, done } = pending
                ? { value: pending, done: false }
                : await r.read();
              pending = null;
              if (done) return null;
              b.set(value.subarray(0, b.length));
              return Math.min(b.length, value.length);
            },
            (b) => w.write(b),
          );
          await w.close();
          while (!(await r.read()).done) { /* until EOF */ }
        } catch {
          /* client went away */
        } finally {
          d.close();
        }
      })();
      conns.add(p);
      p.finally(() => conns.delete(p));
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      await listener.close();
      await loop.catch(() => {});
      await Promise.allSettled([...conns]);
    },
  };
}

/** A connected client, reduced to what the benchmark needs. */
interface Client {
  read(b: Uint8Array): Promise<number | null>;
  write(b: Uint8Array): Promise<void>;
  close(): void;
}

function fromDuplex(d: Duplex): Client {
  const r = d.readable.getReader();
  const w = d.writable.getWriter();
  let rest: Uint8Array | null = null;
  return {
    async read(b) {
      let chunk = rest;
      rest = null;
      if (chunk === null) {
        const { value, done } = await r.read();
        if (done) return null;
        chunk = value;
      }
      const n = Math.min(b.length, chunk.length);
      b.set(chunk.subarray(0, n));
      if (n < chunk.length) rest = chunk.subarray(n);
      return n;
    },
    write: (b) => w.write(b),
    close: () => d.close(),
  };
}

function fromDenoConn(c: Deno.Conn): Client {
  return {
    read: (b) => c.read(b),
    async write(b) {
      let off = 0;
      while (off < b.length) off += await c.write(b.subarray(off));
    },
    close: () => c.close(),
  };
}

function fromNodeSocket(s: tls.TLSSocket): Client {
  const queue: Uint8Array[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  s.on("data", (d: Uint8Array) => {
    queue.push(d);
    wake?.();
  });
  s.on("end", () => {
    ended = true;
    wake?.();
  });
  return {
    async read(b) {
      while (queue.length === 0 && !ended) {
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
      const chunk = queue.shift();
      if (chunk === undefined) return null;
      const n = Math.min(b.length, chunk.length);
      b.set(chunk.subarray(0, n));
      if (n < chunk.length) queue.unshift(chunk.subarray(n));
      return n;
    },
    write: (b) =>
      new Promise((res, rej) => s.write(b, (e) => e ? rej(e) : res())),
    close: () => s.destroy(),
  };
}

type Dial = (port: number) => Promise<Client>;

const clients: Record<string, Dial> = {
  "Deno.startTls": async (port) => {
    const tcp = await Deno.connect({ hostname: HOST, port });
    tcp.setNoDelay(true);
    const conn = await Deno.startTls(tcp, {
      hostname: NAME,
      caCerts: [ca],
      alpnProtocols: ["xmpp-client"],
    });
    await conn.handshake();
    return fromDenoConn(conn);
  },
  "tlsConnect": async (port) => {
    const tcp = await Deno.connect({ hostname: HOST, port });
    return fromDuplex(
      await tlsConnect(fromConn(tcp, { readSize: READ_SIZE }), {
        serverName: NAME,
        ca,
        systemCa: false,
      }),
    );
  },
  "node tls.connect": async (port) => {
    const s = tls.connect({
      host: HOST,
      port,
      servername: NAME,
      ca,
      ALPNProtocols: ["xmpp-client"],
    });
    (s as unknown as net.Socket).setNoDelay(true);
    await new Promise<void>((res, rej) => {
      s.once("secureConnect", () => res());
      s.once("error", rej);
    });
    return fromNodeSocket(s);
  },
};

/** The native client for the server comparison (SNI, no-delay). */
const nativeClient: Dial = clients["Deno.startTls"];

async function firstRoundTrip(dial: Dial, port: number): Promise<number> {
  const t0 = performance.now();
  const c = await dial(port);
  const b = new Uint8Array([1]);
  await c.write(b);
  await c.read(b);
  const dt = performance.now() - t0;
  c.close();
  return dt;
}

async function download(dial: Dial, port: number): Promise<number> {
  const c = await dial(port);
  const t0 = performance.now();
  await c.write(new Uint8Array([2]));
  const buf = new Uint8Array(64 * 1024);
  let got = 0;
  while (got < MIB * 1024 * 1024) {
    const n = await c.read(buf);
    if (n === null) break;
    got += n;
  }
  const dt = performance.now() - t0;
  c.close();
  return got / 1024 / 1024 / (dt / 1000);
}

interface Row {
  median: number;
  p90: number;
  mibs: number;
}

async function measure(dial: Dial, port: number): Promise<Row> {
  await firstRoundTrip(dial, port); // warm-up
  const times: number[] = [];
  for (let i = 0; i < CONNS; i++) times.push(await firstRoundTrip(dial, port));
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)],
    p90: times[Math.floor(times.length * 0.9)],
    mibs: await download(dial, port),
  };
}

function range(values: number[], digits: number): string {
  const lo = Math.min(...values).toFixed(digits);
  const hi = Math.max(...values).toFixed(digits);
  return lo === hi ? lo : `${lo}–${hi}`;
}

const results: Record<string, Row[]> = {};
const record = (name: string, row: Row) => (results[name] ??= []).push(row);

console.log(
  `Deno ${Deno.version.deno}; ${ROUNDS} rounds; ${CONNS} connections ` +
    `per variant for latency; ${MIB} MiB per download`,
);
const native = nativeServer();
const bridged = bridgeServer();
try {
  for (let round = 0; round < ROUNDS; round++) {
    const names = Object.keys(clients);
    if (round % 2 === 1) names.reverse();
    for (const name of names) {
      const row = await measure(clients[name], native.port);
      record(`client ${name}`, row);
      console.log(
        `round ${round + 1} client ${name.padEnd(17)} first RTT median ` +
          `${row.median.toFixed(2)} ms p90 ${row.p90.toFixed(2)} ms, ` +
          `${row.mibs.toFixed(0)} MiB/s`,
      );
    }
    const servers: [string, number][] = [
      ["Deno.listenTls", native.port],
      ["listenDirectTls", bridged.port],
    ];
    if (round % 2 === 1) servers.reverse();
    for (const [name, port] of servers) {
      const row = await measure(nativeClient, port);
      record(`server ${name}`, row);
      console.log(
        `round ${round + 1} server ${name.padEnd(17)} first RTT median ` +
          `${row.median.toFixed(2)} ms p90 ${row.p90.toFixed(2)} ms, ` +
          `${row.mibs.toFixed(0)} MiB/s`,
      );
    }
  }
} finally {
  await native.close();
  await bridged.close();
}

console.log("\nRanges over rounds (first round trip median / p90, download):");
for (const [name, rows] of Object.entries(results)) {
  console.log(
    `${name.padEnd(24)} ${range(rows.map((r) => r.median), 2)} ms / ` +
      `${range(rows.map((r) => r.p90), 2)} ms, ` +
      `${range(rows.map((r) => r.mibs), 0)} MiB/s`,
  );
}
const ratio = (a: string, b: string, f: (r: Row) => number) =>
  range(results[a].map((r, i) => f(r) / f(results[b][i])), 2);
console.log("\nRatios per round:");
console.log(
  `client tlsConnect / Deno.startTls: latency ${
    ratio("client tlsConnect", "client Deno.startTls", (r) => r.median)
  }x, throughput ${
    ratio("client tlsConnect", "client Deno.startTls", (r) => r.mibs)
  }x`,
);
console.log(
  `server listenDirectTls / Deno.listenTls: latency ${
    ratio("server listenDirectTls", "server Deno.listenTls", (r) => r.median)
  }x, throughput ${
    ratio("server listenDirectTls", "server Deno.listenTls", (r) => r.mibs)
  }x`,
);
