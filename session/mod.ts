/**
 * Sessions: everything composed.
 *
 * - {@linkcode connect}: discovery (SRV, XEP-0368, optional host-meta),
 *   racing the candidates RFC 8305 style, TLS (Direct TLS or STARTTLS) with
 *   the one policy, the XML stream, then optional login (SASL) and resource
 *   binding; the result names the winning candidate and carries a
 *   {@linkcode Timeline} of every step.
 * - {@linkcode serve}: listen on any set of STARTTLS and Direct TLS ports
 *   with the same TLS policy and certificates, negotiate TLS, login and
 *   binding, and hand every ready session to one handler.
 *
 * @example A server and a client in one program
 * ```ts
 * import { connect, memoryResolver, MemoryCredentialStore, serve, ThrowawayCa } from "../mod.ts";
 *
 * const ca = await ThrowawayCa.create();
 * const leaf = await ca.issue(["example.test"], { ips: ["127.0.0.1"] });
 * const store = new MemoryCredentialStore();
 * await store.setPassword("alice", "secret");
 * const server = serve({
 *   domains: ["example.test"],
 *   listen: [{ transport: "directtls", hostname: "127.0.0.1", port: 0 }],
 *   tls: { certificates: { "example.test": leaf } },
 *   store,
 * }, async (session) => {
 *   for await (const stanza of session.stream) console.log(stanza.name);
 *   await session.stream.close();
 * });
 * const resolver = memoryResolver({
 *   "_xmpps-client._tcp.example.test": {
 *     srv: [{ priority: 0, weight: 0, port: server.addrs[0].port, target: "xmpp.example.test" }],
 *   },
 *   "xmpp.example.test": { a: ["127.0.0.1"] },
 * });
 * const c = await connect("alice@example.test", { password: "secret", resolver, ca: ca.cert, systemCa: false });
 * console.log(c.jid?.startsWith("alice@example.test/")); // true
 * await c.close();
 * await server.close();
 * ```
 *
 * @module
 */

export * from "./connect.ts";
export * from "./timeline.ts";
export * from "./serve.ts";
// The types sessions hand out, so this entry point documents them too.
export type * from "../stream/mod.ts";
export type * from "../srv/mod.ts";
export type * from "../tls/mod.ts";
export type * from "../sasl/mod.ts";
