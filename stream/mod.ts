/**
 * The stream layer: the duplex contract every transport yields, adapters for
 * Deno connections, node sockets, QUIC streams and in-memory pairs, a strict
 * streaming parser for XMPP's restricted XML, a writer, stream headers, and
 * {@linkcode XmlStream}, an XMPP XML stream over any duplex.
 *
 * @example An XML stream over an in-memory pair
 * ```ts
 * import { Element, memoryPair, XmlStream } from "./mod.ts";
 *
 * const [a, b] = memoryPair();
 * const [client, server] = await Promise.all([
 *   XmlStream.open(a, { to: "example.org" }),
 *   XmlStream.accept(b, { domains: ["example.org"] }),
 * ]);
 * await server.sendFeatures([]);
 * await client.readFeatures();
 * await client.send(new Element("presence", "jabber:client"));
 * console.log((await server.read())?.name); // "presence"
 * await Promise.all([client.close(), server.read().then(() => server.close())]);
 * ```
 *
 * @module
 */

export * from "./duplex.ts";
export * from "./memory_duplex.ts";
export * from "./conn_duplex.ts";
export * from "./node_duplex.ts";
export * from "./quic_duplex.ts";
export * from "./element.ts";
export * from "./stream_error.ts";
export * from "./parser.ts";
export * from "./writer.ts";
export * from "./header.ts";
export * from "./xml_stream.ts";
export * from "./feature.ts";
export * from "./negotiate.ts";
