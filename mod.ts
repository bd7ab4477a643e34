/**
 * xmpp-transport: secure connections for XMPP software over every transport
 * the standards define (STARTTLS, Direct TLS, QUIC, XTLS), composed through
 * one duplex-stream contract.
 *
 * This root module re-exports the public API of every module. Each module is
 * also importable on its own: `./stream`, `./srv`, `./tls`, `./starttls`,
 * `./quic`, `./xtls`.
 *
 * @example Open an XML stream to a server over TCP
 * ```ts ignore
 * import { fromConn, XmlStream } from "./mod.ts";
 *
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 5222 });
 * const xs = await XmlStream.open(fromConn(conn), { to: "localhost" });
 * const features = await xs.readFeatures();
 * console.log(features.getChild("starttls", "urn:ietf:params:xml:ns:xmpp-tls") !== undefined);
 * await xs.close();
 * ```
 *
 * @module
 */

export * from "./stream/mod.ts";
export * from "./srv/mod.ts";
export * from "./tls/mod.ts";
export * from "./starttls/mod.ts";
export * from "./quic/mod.ts";
export * from "./xtls/mod.ts";
