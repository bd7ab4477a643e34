/**
 * The TLS policy shared by every transport (RFC 7590).
 *
 * Today this module holds the ALPN protocol ids. The policy itself (TLS 1.2+,
 * identity checked against the JID domain, SNI, pins), TLS over any duplex
 * and the Direct TLS dialer and listener are tracked in the `tls` issue.
 *
 * @example
 * ```ts
 * import { alpnFor } from "./mod.ts";
 * console.log(alpnFor("jabber:client")); // "xmpp-client"
 * ```
 *
 * @module
 */

export * from "./alpn.ts";
