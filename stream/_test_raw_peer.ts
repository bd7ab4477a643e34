/**
 * Test helper: a raw peer on one end of a duplex, writing strings and
 * collecting what it reads, for tests that need to send exactly the bytes a
 * misbehaving peer would. Test-only; not published.
 *
 * @module
 */

import type { Duplex } from "./duplex.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A client or server stream header, as the tests' raw peers send them. */
export const CLIENT_HEAD =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";
/** The receiving side's header for `example.org`. */
export const SERVER_HEAD =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.org' id='s1' version='1.0'>";

/** What {@linkcode rawPeer} returns. */
export interface RawPeer {
  /** Write a string as one chunk. */
  send(s: string): Promise<void>;
  /** Read until `pattern` shows up in all that was received; returns it all. */
  until(pattern: RegExp): Promise<string>;
  /** Read until the other side closes; returns all that was received. */
  rest(): Promise<string>;
  /** Release the locks and close the duplex. */
  close(): void;
}

/**
 * Drive one end of a duplex by hand.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory_duplex.ts";
 * import { rawPeer } from "./_test_raw_peer.ts";
 * const [a, b] = memoryPair();
 * const peer = rawPeer(a);
 * await peer.send("<x/>");
 * peer.close();
 * b.close();
 * ```
 *
 * @param d The end to drive.
 * @returns The peer.
 */
export function rawPeer(d: Duplex): RawPeer {
  const w = d.writable.getWriter();
  const r = d.readable.getReader();
  let seen = "";
  return {
    send: (s) => w.write(enc.encode(s)),
    async until(pattern) {
      while (!pattern.test(seen)) {
        const { value, done } = await r.read();
        if (done) break;
        seen += dec.decode(value);
      }
      return seen;
    },
    async rest() {
      for (;;) {
        const { value, done } = await r.read();
        if (done) return seen;
        seen += dec.decode(value);
      }
    },
    close() {
      r.releaseLock();
      w.releaseLock();
      d.close();
    },
  };
}
