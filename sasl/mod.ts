/**
 * Login: SASL (RFC 6120 §6) and resource binding (RFC 6120 §7), client and
 * server, over any {@linkcode XmlStream}.
 *
 * - Mechanisms, as pure state machines with no I/O: SCRAM-SHA-1 and
 *   SCRAM-SHA-256 (RFC 5802, RFC 7677), each also as `-PLUS` with channel
 *   binding data from an injected {@linkcode ChannelBindingSource};
 *   PLAIN (RFC 4616); EXTERNAL (RFC 4422). {@linkcode ScramClient} and
 *   {@linkcode ScramServer}, {@linkcode PlainClient} and
 *   {@linkcode PlainServer}, {@linkcode ExternalClient} and
 *   {@linkcode ExternalServer} share the {@linkcode ClientMechanism} and
 *   {@linkcode ServerMechanism} contracts.
 * - The exchange over a stream: {@linkcode authenticate} (client: chooses,
 *   verifies the server, restarts) and {@linkcode acceptAuth} (server:
 *   offers, limits attempts and sizes, restarts). PLAIN only on secure
 *   streams, on both sides.
 * - Credentials: {@linkcode MemoryCredentialStore}, or any
 *   {@linkcode CredentialStore}; only SCRAM verifiers are stored, and PLAIN
 *   is checked against them. PBKDF2 is one WebCrypto call
 *   ({@linkcode saltedPassword}); {@linkcode ScramCache} spares it on
 *   reconnects. {@linkcode saslprep} prepares names and passwords.
 * - Resource binding: {@linkcode bind} and {@linkcode acceptBind}.
 *
 * @example A login over an in-memory pair
 * ```ts
 * import { memoryPair } from "../stream/memory_duplex.ts";
 * import { XmlStream } from "../stream/xml_stream.ts";
 * import {
 *   acceptAuth,
 *   acceptBind,
 *   authenticate,
 *   bind,
 *   MemoryCredentialStore,
 * } from "./mod.ts";
 *
 * const store = new MemoryCredentialStore();
 * await store.setPassword("alice", "secret");
 *
 * const [a, b] = memoryPair({ info: { secure: true } }); // as if over TLS
 * const [client, server] = await Promise.all([
 *   XmlStream.open(a, { to: "example.org" }),
 *   XmlStream.accept(b, { domains: ["example.org"] }),
 * ]);
 *
 * const serverSide = (async () => {
 *   const { stream, username } = await acceptAuth(server, { store });
 *   await acceptBind(stream, { domain: "example.org", username });
 *   return stream;
 * })();
 * const { stream, mechanism } = await authenticate(client, await client.readFeatures(), {
 *   username: "alice",
 *   password: "secret",
 * });
 * const jid = await bind(stream, { resource: "laptop" });
 * console.log(mechanism, jid); // "SCRAM-SHA-256" "alice@example.org/laptop"
 * const serverStream = await serverSide;
 * await Promise.all([stream.close(), serverStream.close()]);
 * ```
 *
 * @module
 */

export * from "./sasl_error.ts";
export * from "./mechanism.ts";
export * from "./channel_binding.ts";
export * from "./saslprep.ts";
export * from "./scram_keys.ts";
export * from "./scram_cache.ts";
export * from "./credentials.ts";
export * from "./scram_client.ts";
export * from "./scram_server.ts";
export * from "./plain.ts";
export * from "./external.ts";
export * from "./feature.ts";
export * from "./negotiate.ts";
export * from "./bind.ts";
export * from "./stream_features.ts";
