/**
 * A UDP relay for QUIC tests and benchmarks: it adds a fixed delay in each
 * direction (with a one-way delay of `rtt / 2`, a protocol step that needs N
 * round trips takes at least N × `rtt` through it), and it can change the
 * source port it uses towards the server in the middle of a connection, the
 * way a NAT that lost its mapping does (NAT rebinding).
 *
 * Each client address gets its own upstream socket (an ephemeral port on
 * loopback), so the server sees one address per client, like behind a NAT.
 * {@linkcode UdpRelay.rebind} replaces every upstream socket with a new one
 * on a new port and closes the old one: datagrams the server still sends to
 * the old port are lost, as they would be at a NAT.
 *
 * Needs `--unstable-net` (`Deno.listenDatagram`).
 *
 * @module
 */

/** A running relay. */
export interface UdpRelay {
  /** The loopback UDP port clients send to. */
  readonly port: number;
  /** The delay added per round trip, in milliseconds. */
  readonly rtt: number;
  /**
   * The upstream source ports in use, one per client address (what the
   * server sees as the clients' ports).
   */
  upstreamPorts(): number[];
  /** Datagrams relayed so far, both directions together. */
  datagrams(): number;
  /**
   * Move every client to a new upstream source port (NAT rebinding) and
   * close the old socket.
   *
   * @returns The new upstream ports.
   */
  rebind(): number[];
  /**
   * Drop every datagram from now on, those still in the delay line too
   * (`true`), as a dead link does, or relay again (`false`).
   */
  setDropping(drop: boolean): void;
  /** Stop relaying and close every socket. Idempotent. */
  close(): Promise<void>;
}

/** Options for {@linkcode startUdpRelay}. */
export interface UdpRelayOptions {
  /**
   * Round-trip time to add, in milliseconds (half each way).
   *
   * @default {0}
   */
  rtt?: number;
  /**
   * The host the relay sends to.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
}

interface _Upstream {
  socket: Deno.DatagramConn;
  client: Deno.NetAddr;
  loop: Promise<void>;
}

/** Delivers datagrams in order, each `delay` ms after it was queued. */
class _DelayLine {
  #queue: { at: number; send: () => Promise<unknown> }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #closed = false;
  constructor(readonly delay: number) {}

  push(send: () => Promise<unknown>): void {
    if (this.#closed) return;
    if (this.delay <= 0 && this.#queue.length === 0) {
      send().catch(() => {});
      return;
    }
    this.#queue.push({ at: performance.now() + this.delay, send });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#running || this.#timer !== undefined || this.#closed) return;
    const head = this.#queue[0];
    if (!head) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, Math.max(0, head.at - performance.now()));
  }

  #flush(): void {
    this.#running = true;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0].at <= now + 0.5) {
      this.#queue.shift()!.send().catch(() => {});
    }
    this.#running = false;
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Start a UDP relay to `targetPort`, listening on a free loopback port.
 *
 * @example Delay a QUIC connection by 40 ms per round trip (not run)
 * ```ts
 * import { startUdpRelay } from "./_udp_relay.ts";
 *
 * export async function viaRelay(serverPort: number) {
 *   const relay = startUdpRelay(serverPort, { rtt: 40 });
 *   const conn = await Deno.connectQuic({
 *     hostname: "127.0.0.1",
 *     port: relay.port,
 *     serverName: "localhost",
 *     alpnProtocols: ["xmpp-client"],
 *   });
 *   relay.rebind(); // the server now sees the client on another port
 *   conn.close();
 *   conn.endpoint.close();
 *   await relay.close();
 * }
 * ```
 *
 * @param targetPort The UDP port of the server.
 * @param options The added round-trip time and the server's host.
 * @returns The relay.
 * @throws {RangeError} If `targetPort` or `rtt` is out of range.
 */
export function startUdpRelay(
  targetPort: number,
  options: UdpRelayOptions = {},
): UdpRelay {
  if (!Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65535) {
    throw new RangeError(
      `targetPort must be an integer from 1 to 65535, got ${targetPort}`,
    );
  }
  const rtt = options.rtt ?? 0;
  if (!(rtt >= 0) || !Number.isFinite(rtt)) {
    throw new RangeError(`rtt must be a non-negative number of ms, got ${rtt}`);
  }
  const target: Deno.NetAddr = {
    transport: "udp",
    hostname: options.hostname ?? "127.0.0.1",
    port: targetPort,
  };
  const front = Deno.listenDatagram({
    hostname: "127.0.0.1",
    port: 0,
    transport: "udp",
  });
  const toServer = new _DelayLine(rtt / 2);
  const toClient = new _DelayLine(rtt / 2);
  const upstreams = new Map<string, _Upstream>();
  const retired = new Set<Promise<void>>();
  let count = 0;
  let closed = false;
  let dropping = false;

  const key = (a: Deno.NetAddr) => `${a.hostname}|${a.port}`;

  const openUpstream = (client: Deno.NetAddr): _Upstream => {
    const socket = Deno.listenDatagram({
      hostname: "127.0.0.1",
      port: 0,
      transport: "udp",
    });
    const loop = (async () => {
      try {
        for await (const [data] of socket) {
          if (dropping) continue;
          count++;
          toClient.push(() =>
            dropping ? Promise.resolve(0) : front.send(data, client)
          );
        }
      } catch { /* closed */ }
    })();
    return { socket, client, loop };
  };

  const frontLoop = (async () => {
    try {
      for await (const [data, from] of front) {
        if (dropping) continue;
        const client = from as Deno.NetAddr;
        const k = key(client);
        let up = upstreams.get(k);
        if (!up) {
          up = openUpstream(client);
          upstreams.set(k, up);
        }
        count++;
        const current = up;
        // Looked up again at send time: a rebind in between uses the new port.
        toServer.push(() =>
          dropping
            ? Promise.resolve(0)
            : (upstreams.get(k) ?? current).socket.send(data, target)
        );
      }
    } catch { /* closed */ }
  })();

  const portOf = (s: Deno.DatagramConn) => (s.addr as Deno.NetAddr).port;

  return {
    port: (front.addr as Deno.NetAddr).port,
    rtt,
    upstreamPorts: () => [...upstreams.values()].map((u) => portOf(u.socket)),
    datagrams: () => count,
    setDropping(drop: boolean) {
      dropping = drop;
    },
    rebind() {
      if (closed) throw new Deno.errors.BadResource("the relay is closed");
      const ports: number[] = [];
      for (const [k, old] of upstreams) {
        const next = openUpstream(old.client);
        upstreams.set(k, next);
        ports.push(portOf(next.socket));
        old.socket.close();
        retired.add(old.loop);
      }
      return ports;
    },
    async close() {
      if (closed) return;
      closed = true;
      toServer.close();
      toClient.close();
      front.close();
      for (const u of upstreams.values()) u.socket.close();
      await Promise.all([
        frontLoop,
        ...[...upstreams.values()].map((u) => u.loop),
        ...retired,
      ]);
      upstreams.clear();
    },
  };
}
