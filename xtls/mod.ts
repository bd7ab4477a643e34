/**
 * XTLS: an end-to-end TLS tunnel whose records travel base64 in IQ stanzas.
 *
 * Today this module holds the namespace; the tunnel is tracked in the `xtls`
 * issue.
 *
 * @example
 * ```ts
 * import { XTLS_NS } from "./mod.ts";
 * console.log(XTLS_NS.startsWith("urn:xmpp:")); // true
 * ```
 *
 * @module
 */

export * from "./namespace.ts";
