/**
 * The STARTTLS namespace and stream feature (RFC 6120 §5).
 *
 * @module
 */

import { Element } from "../stream/element.ts";

/** The STARTTLS namespace. */
export const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";

/**
 * The `<starttls/>` stream feature a receiving entity offers.
 *
 * @example
 * ```ts
 * import { starttlsElement } from "./feature.ts";
 * import { serialize } from "../stream/writer.ts";
 * console.log(serialize(starttlsElement()));
 * // <starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"><required/></starttls>
 * ```
 *
 * @param options `required`: whether TLS is mandatory-to-negotiate.
 * @returns The feature element.
 */
export function starttlsElement(
  options: {
    /**
     * Offer STARTTLS as required.
     *
     * @default {true}
     */
    required?: boolean;
  } = {},
): Element {
  return new Element(
    "starttls",
    TLS_NS,
    {},
    options.required ?? true ? [new Element("required", TLS_NS)] : [],
  );
}

/**
 * Whether a features element offers STARTTLS, and whether as required.
 *
 * @example
 * ```ts
 * import { starttlsOffer, starttlsElement } from "./feature.ts";
 * import { Element } from "../stream/element.ts";
 * const f = new Element("features", "http://etherx.jabber.org/streams", {}, [starttlsElement()]);
 * console.log(starttlsOffer(f)); // "required"
 * ```
 *
 * @param features A `<stream:features/>` element.
 * @returns `"required"`, `"optional"` or `"none"`.
 */
export function starttlsOffer(
  features: Element,
): "required" | "optional" | "none" {
  const st = features.getChild("starttls", TLS_NS);
  if (st === undefined) return "none";
  return st.getChild("required", TLS_NS) ? "required" : "optional";
}
