/**
 * Send one DNS query to one name server and get its records: UDP
 * (`node:dgram`, which needs no `--unstable-net`), retransmitted within the
 * time allowed, then TCP (`Deno.connect`, 2-byte length prefix) when the
 * UDP answer is truncated.
 *
 * Spoofing resistance: the UDP socket has a random source port (the
 * system's) and the query a random id; datagrams from any other address or
 * port, shorter than a header, without QR or with another id are dropped,
 * and the wait goes on. Retransmissions reuse the id, so an answer to any
 * of them counts. The first datagram that passes is decoded strictly
 * ({@linkcode decodeResponse}).
 *
 * Permissions: before any socket is made, `Deno.permissions.querySync`
 * must say `"granted"` for the local bind address and for the server
 * (`--allow-net`); otherwise the lookup fails with a
 * {@linkcode DnsResponseError} and no prompt appears (a `node:dgram` bind
 * without permission would throw where no caller can catch it).
 *
 * Sockets and connections are closed on every path: answer, error,
 * timeout and abort.
 *
 * @example
 * ```ts
 * import { exchange } from "./_dns_transport.ts";
 * import { encodeQuery } from "./_dns_wire.ts";
 *
 * // Needs a name server, so it is only defined here.
 * export async function ask(): Promise<string[]> {
 *   const query = encodeQuery("example.org", "A");
 *   return await exchange({ ipAddr: "9.9.9.9", port: 53 }, query, {
 *     timeout: 3000,
 *   });
 * }
 * ```
 *
 * @module
 */

import dgram from "node:dgram";
import { isIP } from "node:net";
import {
  decodeResponse,
  type DnsQuery,
  DnsResponseError,
  isResponseTo,
  type WireRecord,
  type WireRecordType,
} from "./_dns_wire.ts";

/** A name server address. */
export interface NameServer {
  /** IPv4 or IPv6 address (no zone id). */
  readonly ipAddr: string;
  /** UDP and TCP port. */
  readonly port: number;
}

/** Options for {@linkcode exchange}. */
export interface ExchangeOptions {
  /** Milliseconds for this server, UDP and TCP together. Required. */
  timeout: number;
  /** Abort: rejects with the signal's reason. Default none. */
  signal?: AbortSignal;
  /**
   * UDP retransmissions, spread evenly over the timeout (with 2: sends at
   * 0, 1/3 and 2/3 of it).
   *
   * @default {2}
   */
  retransmits?: number;
}

/**
 * `"127.0.0.1 port 53"`, for messages.
 *
 * @example
 * ```ts
 * import { describeServer } from "./_dns_transport.ts";
 * console.log(describeServer({ ipAddr: "::1", port: 5353 })); // "::1 port 5353"
 * ```
 *
 * @param server The name server.
 * @returns Its address and port as text.
 */
export function describeServer(server: NameServer): string {
  return `${server.ipAddr} port ${server.port}`;
}

/** An IP address in one canonical text form, for comparing addresses. */
function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname;
  } catch {
    return ip;
  }
}

function isLoopback(ip: string): boolean {
  return isIP(ip) === 6 ? canonicalIp(ip) === "[::1]" : ip.startsWith("127.");
}

/** The local address the UDP socket binds to for a server. */
function bindAddress(server: NameServer): string {
  const v6 = isIP(server.ipAddr) === 6;
  if (isLoopback(server.ipAddr)) return v6 ? "::1" : "127.0.0.1";
  return v6 ? "::" : "0.0.0.0";
}

function netHost(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function granted(host: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "net", host }).state ===
      "granted";
  } catch {
    return false;
  }
}

/**
 * Which net permission the wire client lacks for a server, if any: to bind
 * the local UDP socket (`0.0.0.0:0`, `[::]:0`, or the loopback address for
 * a loopback server) and to reach the server. Never prompts.
 *
 * @example
 * ```ts
 * import { missingNetPermission } from "./_dns_transport.ts";
 * const missing = missingNetPermission({ ipAddr: "127.0.0.1", port: 53 });
 * console.log(missing ?? "all granted");
 * ```
 *
 * @param server The name server.
 * @returns `undefined` when granted, else the `--allow-net` entries needed.
 * @throws {TypeError} If `server.ipAddr` is not an IP address.
 */
export function missingNetPermission(server: NameServer): string | undefined {
  if (isIP(server.ipAddr) === 0) {
    throw new TypeError(
      `name server address must be an IP address, got ${
        JSON.stringify(String(server.ipAddr))
      }`,
    );
  }
  const need = [
    netHost(bindAddress(server), 0),
    netHost(server.ipAddr, server.port),
  ];
  const missing = need.filter((h) => !granted(h));
  return missing.length ? missing.join(",") : undefined;
}

/**
 * Ask one name server: UDP with retransmissions, TCP if the answer is
 * truncated, all within `timeout`.
 *
 * @example
 * ```ts
 * import { exchange } from "./_dns_transport.ts";
 * import { encodeQuery } from "./_dns_wire.ts";
 *
 * // Needs a name server, so it is only defined here.
 * export async function srvOf(name: string) {
 *   const query = encodeQuery(name, "SRV");
 *   const server = { ipAddr: "127.0.0.1", port: 53 };
 *   return await exchange(server, query, { timeout: 2000, retransmits: 1 });
 * }
 * ```
 *
 * @param server The name server.
 * @param query The encoded query.
 * @param options The time allowed (required), an abort signal (default
 *   none) and the number of UDP retransmissions (default 2).
 * @returns The records (`[]` for NXDOMAIN and NODATA).
 * @throws {DnsResponseError} For a timeout ("no answer within N ms from
 *   ..."), a response code other than 0 and 3, a malformed answer, a
 *   missing permission or a network error; the reason names the server.
 * @throws {RangeError} For a timeout that is not a positive number or a
 *   bad number of retransmissions.
 */
export async function exchange<T extends WireRecordType>(
  server: NameServer,
  query: DnsQuery<T>,
  options: ExchangeOptions,
): Promise<WireRecord<T>[]> {
  const { timeout, signal, retransmits = 2 } = options;
  if (!(typeof timeout === "number" && timeout > 0 && timeout < Infinity)) {
    throw new RangeError(
      `timeout must be a positive number of milliseconds, got ${
        String(timeout)
      }`,
    );
  }
  if (!Number.isInteger(retransmits) || retransmits < 0 || retransmits > 10) {
    throw new RangeError(
      `retransmits must be an integer in [0, 10], got ${String(retransmits)}`,
    );
  }
  signal?.throwIfAborted();
  const where = describeServer(server);
  const fail = (reason: string, extra: { rcode?: number; cause?: unknown }) =>
    new DnsResponseError(query, `${reason} from ${where}`, extra);
  const missing = missingNetPermission(server);
  if (missing !== undefined) {
    throw fail(`no net permission (needs --allow-net=${missing})`, {
      cause: new Deno.errors.NotCapable(`net access to ${missing}`),
    });
  }

  const ac = new AbortController();
  const ms = Math.round(timeout);
  const timeoutError = fail(`no answer within ${ms} ms`, {
    cause: new DOMException(
      `no answer within ${ms} ms`,
      "TimeoutError",
    ),
  });
  const timer = setTimeout(() => ac.abort(timeoutError), timeout);
  const onAbort = () => ac.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const udp = await udpExchange(server, query, {
      signal: ac.signal,
      interval: timeout / (retransmits + 1),
      retransmits,
    });
    const first = decodeResponse(udp, query);
    if (!first.truncated) return first.records;
    const tcp = await tcpExchange(server, query, ac.signal);
    const second = decodeResponse(tcp, query);
    if (second.truncated) {
      throw new DnsResponseError(
        query,
        "malformed response: truncated (TC) even over TCP",
      );
    }
    return second.records;
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (e === timeoutError) throw e;
    if (e instanceof DnsResponseError) {
      throw fail(e.reason, { rcode: e.rcode, cause: e });
    }
    throw fail(e instanceof Error ? e.message : String(e), { cause: e });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Send the query over UDP, `retransmits` more times every `interval` ms,
 * and resolve with the first datagram from the server that can be the
 * response; reject with the signal's reason on abort.
 */
function udpExchange(
  server: NameServer,
  query: DnsQuery,
  options: { signal: AbortSignal; interval: number; retransmits: number },
): Promise<Uint8Array> {
  const { signal, interval, retransmits } = options;
  signal.throwIfAborted();
  const serverIp = canonicalIp(server.ipAddr);
  return new Promise<Uint8Array>((resolve, reject) => {
    const sock = dgram.createSocket(
      isIP(server.ipAddr) === 6 ? "udp6" : "udp4",
    );
    const timers: ReturnType<typeof setTimeout>[] = [];
    let done = false;
    const finish = (error: unknown, answer?: Uint8Array) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      signal.removeEventListener("abort", onAbort);
      const settle = () => answer ? resolve(answer) : reject(error);
      try {
        sock.close(settle);
      } catch {
        settle(); // already closed
      }
    };
    const onAbort = () => finish(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    sock.on("error", (e: Error) => finish(e));
    sock.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      if (done) return;
      if (
        rinfo.port !== server.port || canonicalIp(rinfo.address) !== serverIp
      ) return; // not from the server asked: dropped
      if (!isResponseTo(msg, query)) return; // not our answer: dropped
      finish(undefined, new Uint8Array(msg));
    });
    const send = () => {
      if (done) return;
      sock.send(query.bytes, server.port, server.ipAddr, (e) => {
        if (e) finish(e);
      });
    };
    sock.bind({ port: 0, address: bindAddress(server) }, () => {
      send();
      for (let i = 1; i <= retransmits; i++) {
        timers.push(setTimeout(send, interval * i));
      }
    });
  });
}

/** Ask over TCP: one length-prefixed query, one length-prefixed answer. */
async function tcpExchange(
  server: NameServer,
  query: DnsQuery,
  signal: AbortSignal,
): Promise<Uint8Array> {
  signal.throwIfAborted();
  const conn = await Deno.connect({
    hostname: server.ipAddr,
    port: server.port,
    transport: "tcp",
    signal,
  });
  const close = () => {
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  signal.addEventListener("abort", close, { once: true });
  try {
    const out = new Uint8Array(2 + query.bytes.length);
    out[0] = query.bytes.length >> 8;
    out[1] = query.bytes.length & 255;
    out.set(query.bytes, 2);
    for (let n = 0; n < out.length;) {
      n += await conn.write(out.subarray(n));
    }
    const prefix = await readExactly(conn, 2, query);
    // A 2-byte length: the answer is at most 65535 bytes by construction.
    const length = (prefix[0] << 8) | prefix[1];
    if (length < 12) {
      throw new DnsResponseError(
        query,
        `malformed response: TCP length prefix ${length}, shorter than a DNS header`,
      );
    }
    return await readExactly(conn, length, query);
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw e;
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

async function readExactly(
  conn: Deno.Conn,
  length: number,
  query: DnsQuery,
): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  for (let got = 0; got < length;) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) {
      throw new DnsResponseError(
        query,
        `malformed response: the TCP connection closed after ${got} of ${length} bytes`,
      );
    }
    got += n;
  }
  return buf;
}
