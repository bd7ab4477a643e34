/**
 * Endpoint discovery: turning a JID domain into connection candidates.
 *
 * Today this module names the SRV services (RFC 6120 §3.2, XEP-0368). The
 * resolver, the RFC 2782 weighted order that mixes `_xmpp-` and `_xmpps-`
 * records, host-meta and connection racing are tracked in the `srv` issue.
 *
 * @example
 * ```ts
 * import { serviceNames } from "./mod.ts";
 * console.log(serviceNames("server").directTls); // "_xmpps-server._tcp"
 * ```
 *
 * @module
 */

export * from "./services.ts";
