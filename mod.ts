/**
 * xmpp-transport: secure connections for XMPP software over every transport
 * the standards define (STARTTLS, Direct TLS, QUIC, XTLS), composed through
 * one duplex-stream contract.
 *
 * This root module re-exports the public API of every module. Each module is
 * also importable on its own: `./stream`, `./srv`, `./tls`, `./starttls`,
 * `./quic`, `./xtls`, `./sasl`, `./session`.
 *
 * @example Open an XML stream to a server over TCP
 * ```ts
 * import { fromConn, starttlsOffer, XmlStream } from "./mod.ts";
 *
 * export async function probe(hostname: string, domain: string) {
 *   const conn = await Deno.connect({ hostname, port: 5222 });
 *   const xs = await XmlStream.open(fromConn(conn), { to: domain });
 *   const offer = starttlsOffer(await xs.readFeatures()); // "required", "optional" or "none"
 *   await xs.close();
 *   return offer;
 * }
 * ```
 *
 * @module
 */

export * from "./stream/mod.ts";
export * from "./srv/mod.ts";
export * from "./tls/mod.ts";
export * from "./starttls/mod.ts";
export * from "./sasl/mod.ts";
export * from "./session/mod.ts";
export * from "./quic/mod.ts";
export * from "./xtls/mod.ts";
