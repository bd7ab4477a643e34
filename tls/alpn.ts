/**
 * ALPN protocol ids for XMPP (XEP-0368, XEP-0467).
 *
 * @module
 */

/**
 * ALPN for client-to-server streams.
 *
 * @example
 * ```ts
 * import { ALPN_CLIENT } from "./alpn.ts";
 * console.log(ALPN_CLIENT); // "xmpp-client"
 * ```
 */
export const ALPN_CLIENT = "xmpp-client";
/**
 * ALPN for server-to-server streams.
 *
 * @example
 * ```ts
 * import { ALPN_SERVER } from "./alpn.ts";
 * console.log(ALPN_SERVER); // "xmpp-server"
 * ```
 */
export const ALPN_SERVER = "xmpp-server";

/**
 * The ALPN protocol for a stream's content namespace.
 *
 * @example
 * ```ts
 * import { alpnFor } from "./alpn.ts";
 * console.log(alpnFor("jabber:server")); // "xmpp-server"
 * ```
 *
 * @param ns `jabber:client` or `jabber:server`.
 * @returns `xmpp-client` or `xmpp-server`.
 * @throws {TypeError} For any other namespace.
 */
export function alpnFor(ns: string): string {
  if (ns === "jabber:client") return ALPN_CLIENT;
  if (ns === "jabber:server") return ALPN_SERVER;
  throw new TypeError(
    `no XMPP ALPN protocol for namespace ${ns}; use jabber:client or jabber:server`,
  );
}
