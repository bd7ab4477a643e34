/**
 * The DNS SRV service names XMPP uses (RFC 6120 §3.2, XEP-0368).
 *
 * @module
 */

/** Which kind of stream is being discovered. */
export type StreamKind = "client" | "server";

/** The two SRV services for one kind of stream. */
export interface ServiceNames {
  /** The STARTTLS service, such as `_xmpp-client._tcp`. */
  starttls: string;
  /** The Direct TLS service of XEP-0368, such as `_xmpps-client._tcp`. */
  directTls: string;
}

/**
 * The SRV service names to look up, both at once, for a stream kind.
 *
 * @example
 * ```ts
 * import { serviceNames } from "./services.ts";
 * console.log(serviceNames("client"));
 * // { starttls: "_xmpp-client._tcp", directTls: "_xmpps-client._tcp" }
 * ```
 *
 * @param kind `"client"` for c2s, `"server"` for s2s.
 * @returns The two service names.
 * @throws {TypeError} For any other kind.
 */
export function serviceNames(kind: StreamKind): ServiceNames {
  if (kind !== "client" && kind !== "server") {
    throw new TypeError(
      `stream kind must be "client" or "server", got ${kind}`,
    );
  }
  return {
    starttls: `_xmpp-${kind}._tcp`,
    directTls: `_xmpps-${kind}._tcp`,
  };
}
