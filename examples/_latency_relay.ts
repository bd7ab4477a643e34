/**
 * A TCP relay that adds a fixed delay in each direction, for benchmarks that
 * count round trips: with a one-way delay of `rtt / 2`, a protocol step that
 * needs N round trips takes at least N × `rtt` through the relay.
 *
 * Order is kept (every chunk waits the same time), no-delay is set on every
 * socket so Nagle's algorithm does not add its own stalls, and `close()`
 * stops the listener and every relayed connection.
 *
 * @module
 */

/** A running relay. */
export interface LatencyRelay {
  /** The loopback port clients connect to. */
  port: number;
  /** Connections relayed so far. */
  connections(): number;
  /** Stop listening and close every relayed connection. */
  close(): Promise<void>;
}

/** Options for {@linkcode startLatencyRelay}. */
export interface LatencyRelayOptions {
  /**
   * Round-trip time to add, in milliseconds (half each way).
   *
   * @default {50}
   */
  rtt?: number;
  /**
   * The host the relay connects to.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
}

/**
 * Start a relay to `targetPort` on loopback.
 *
 * @example
 * ```ts
 * import { startLatencyRelay } from "./_latency_relay.ts";
 *
 * export async function measure(targetPort: number) {
 *   const relay = await startLatencyRelay(targetPort, { rtt: 50 });
 *   const conn = await Deno.connect({ hostname: "127.0.0.1", port: relay.port });
 *   conn.close();
 *   await relay.close();
 * }
 * ```
 *
 * @param targetPort Where to relay to.
 * @param options The added round-trip time.
 * @returns The relay.
 */
export function startLatencyRelay(
  targetPort: number,
  options: LatencyRelayOptions = {},
): Promise<LatencyRelay> {
  const rtt = options.rtt ?? 50;
  if (!(rtt >= 0) || !Number.isFinite(rtt)) {
    throw new RangeError(`rtt must be a non-negative number of ms, got ${rtt}`);
  }
  const oneWay = rtt / 2;
  const hostname = options.hostname ?? "127.0.0.1";
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const pumps = new Set<Promise<void>>();
  let count = 0;

  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const queue: { at: number; data: Uint8Array }[] = [];
    let writing: Promise<void> | null = null;
    let ended = false;
    const drain = async () => {
      while (queue.length > 0) {
        const wait = queue[0].at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const { data } = queue.shift()!;
        try {
          for (let off = 0; off < data.length;) {
            off += await to.write(data.subarray(off));
          }
        } catch {
          queue.length = 0;
        }
      }
      writing = null;
      if (ended) {
        try {
          await to.closeWrite();
        } catch { /* already closed */ }
      }
    };
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        queue.push({ at: performance.now() + oneWay, data: buf.slice(0, n) });
        writing ??= drain();
      }
    } catch { /* reset or closed */ }
    ended = true;
    if (writing === null) writing = drain();
    await writing;
  };

  const serve = (async () => {
    for await (const client of listener) {
      count++;
      let upstream: Deno.TcpConn;
      try {
        upstream = await Deno.connect({ hostname, port: targetPort });
      } catch {
        client.close();
        continue;
      }
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      open.add(client).add(upstream);
      const both = Promise.all([pump(client, upstream), pump(upstream, client)])
        .then(() => {
          for (const c of [client, upstream]) {
            open.delete(c);
            try {
              c.close();
            } catch { /* closed */ }
          }
        });
      pumps.add(both);
      both.finally(() => pumps.delete(both));
    }
  })();

  return Promise.resolve({
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => count,
    async close() {
      listener.close();
      await serve.catch(() => {});
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await Promise.allSettled([...pumps]);
    },
  });
}
