/**
 * The XTLS namespace (the XTLS protoXEP).
 *
 * @module
 */

/**
 * The namespace of XTLS `<start/>`, `<proceed/>` and data elements, as the
 * protoXEP defines it.
 *
 * @example
 * ```ts
 * import { XTLS_NS } from "./namespace.ts";
 * console.log(XTLS_NS); // "urn:xmpp:tmp:xtls"
 * ```
 */
export const XTLS_NS = "urn:xmpp:tmp:xtls";
