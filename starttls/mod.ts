/**
 * STARTTLS negotiation (RFC 6120 §5).
 *
 * - {@linkcode startTlsClient} and {@linkcode startTlsServer}: STARTTLS as a
 *   stream feature for each side, with the TLS handshake injected. They
 *   refuse response injection (data after `<proceed/>`) and command
 *   injection (data pipelined after `<starttls/>`).
 * - {@linkcode starttlsElement} and {@linkcode starttlsOffer}: the feature
 *   element.
 *
 * @example
 * ```ts
 * import { starttlsElement, starttlsOffer } from "./mod.ts";
 * import { Element } from "../stream/element.ts";
 * const features = new Element("features", "http://etherx.jabber.org/streams", {}, [starttlsElement()]);
 * console.log(starttlsOffer(features)); // "required"
 * ```
 *
 * @module
 */

export * from "./feature.ts";
export * from "./negotiator.ts";
