/**
 * STARTTLS negotiation (RFC 6120 §5).
 *
 * Today this module holds the STARTTLS namespace and feature helpers. The
 * client and server negotiators, with the stream restart and the injection
 * defences, are tracked in the `starttls` issue.
 *
 * @example
 * ```ts
 * import { starttlsFeature, starttlsOffer } from "./mod.ts";
 * import { Element } from "../stream/element.ts";
 * const features = new Element("features", "http://etherx.jabber.org/streams", {}, [starttlsFeature()]);
 * console.log(starttlsOffer(features)); // "required"
 * ```
 *
 * @module
 */

export * from "./feature.ts";
