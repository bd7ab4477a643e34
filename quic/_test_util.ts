/**
 * Test helpers shared by the QUIC tests (not part of the published module):
 * the checked-in test PKI, a loopback `quic` candidate, and a listener on a
 * free loopback port.
 *
 * @module
 */

import type { Candidate } from "../srv/candidate.ts";
import {
  listenQuic,
  type ListenQuicOptions,
  type QuicListener,
} from "./listen.ts";

const TESTDATA = new URL("../tests/testdata/", import.meta.url);

function _read(name: string): string {
  return Deno.readTextFileSync(new URL(name, TESTDATA));
}

/**
 * The test PKI from `tests/testdata/`: the CA, the `localhost` leaf (SAN
 * localhost, example.test, 127.0.0.1, ::1) and the `other.test` leaf.
 *
 * @example
 * ```ts
 * import { testPki } from "./_test_util.ts";
 * console.log(testPki().ca.startsWith("-----BEGIN CERTIFICATE-----")); // true
 * ```
 *
 * @returns PEM texts.
 */
export function testPki(): {
  ca: string;
  localhost: { cert: string; key: string };
  other: { cert: string; key: string };
} {
  return {
    ca: _read("ca.pem"),
    localhost: {
      cert: _read("localhost.fullchain.pem"),
      key: _read("localhost.key"),
    },
    other: {
      cert: _read("other.test.fullchain.pem"),
      key: _read("other.test.key"),
    },
  };
}

/**
 * A `quic` candidate for a loopback port.
 *
 * @example
 * ```ts
 * import { loopbackCandidate } from "./_test_util.ts";
 * console.log(loopbackCandidate(4433).serverName); // "localhost"
 * ```
 *
 * @param port The UDP port.
 * @param overrides Fields to change.
 * @returns The candidate.
 */
export function loopbackCandidate(
  port: number,
  overrides: Partial<Candidate> = {},
): Candidate {
  return {
    transport: "quic",
    host: "127.0.0.1",
    port,
    serverName: "localhost",
    alpn: "xmpp-client",
    priority: 0,
    weight: 0,
    source: "srv",
    ...overrides,
  };
}

/**
 * A QUIC listener on a free loopback port with the `localhost` certificate.
 *
 * @example
 * ```ts
 * import { testListener } from "./_test_util.ts";
 *
 * export async function demo() {
 *   const listener = testListener();
 *   await listener.close();
 * }
 * ```
 *
 * @param options Overrides of the listener options.
 * @returns The listener.
 */
export function testListener(
  options: Partial<ListenQuicOptions> = {},
): QuicListener {
  return listenQuic({
    hostname: "127.0.0.1",
    port: 0,
    certificate: testPki().localhost,
    ...options,
  });
}

/**
 * Dial options trusting the test CA only.
 *
 * @example
 * ```ts
 * import { trustTestCa } from "./_test_util.ts";
 * console.log(trustTestCa().systemCa); // false
 * ```
 *
 * @returns `{ ca, systemCa: false }`.
 */
export function trustTestCa(): { ca: string; systemCa: false } {
  return { ca: testPki().ca, systemCa: false };
}
