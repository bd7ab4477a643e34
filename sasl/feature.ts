/**
 * The SASL stream features: `<mechanisms/>` (RFC 6120 §6.4.1) and the
 * channel binding types a server supports (XEP-0440), built and read.
 *
 * @module
 */

import { Element } from "../stream/element.ts";
import type { ChannelBindingType } from "./channel_binding.ts";
import { SASL_NS } from "./sasl_error.ts";

/** The XEP-0440 namespace (SASL channel-binding type capability). */
export const SASL_CB_NS = "urn:xmpp:sasl-cb:0";

/** RFC 4422 §3.1: 1 to 20 of upper-case letters, digits, `-` and `_`. */
const MECHANISM = /^[A-Z0-9_-]{1,20}$/;
/** The most mechanisms read from one feature. */
const MAX_MECHANISMS = 64;

/**
 * The `<mechanisms/>` feature offering these mechanisms, in this order.
 *
 * @example
 * ```ts
 * import { mechanismsFeature } from "./feature.ts";
 * import { serialize } from "../stream/writer.ts";
 *
 * console.log(serialize(mechanismsFeature(["SCRAM-SHA-256", "SCRAM-SHA-1"])));
 * // <mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>SCRAM-SHA-256</mechanism>…
 * ```
 *
 * @param names Mechanism names.
 * @returns The feature element.
 * @throws {TypeError} If a name is not a valid SASL mechanism name.
 */
export function mechanismsFeature(names: readonly string[]): Element {
  for (const n of names) {
    if (typeof n !== "string" || !MECHANISM.test(n)) {
      throw new TypeError(
        `not a SASL mechanism name (RFC 4422 §3.1): ${JSON.stringify(n)}`,
      );
    }
  }
  return new Element(
    "mechanisms",
    SASL_NS,
    {},
    names.map((n) => new Element("mechanism", SASL_NS, {}, [n])),
  );
}

/**
 * The mechanisms a features element offers, in the server's order. Names
 * that are not valid mechanism names are skipped, and at most 64 are read.
 *
 * @example
 * ```ts
 * import { mechanismsFeature, offeredMechanisms } from "./feature.ts";
 * import { Element } from "../stream/element.ts";
 *
 * const features = new Element("features", "http://etherx.jabber.org/streams", {}, [
 *   mechanismsFeature(["SCRAM-SHA-1", "PLAIN"]),
 * ]);
 * console.log(offeredMechanisms(features)); // ["SCRAM-SHA-1", "PLAIN"]
 * ```
 *
 * @param features A `<stream:features/>` element.
 * @returns The mechanism names; empty if SASL is not offered.
 */
export function offeredMechanisms(features: Element): string[] {
  const mechs = features.getChild("mechanisms", SASL_NS);
  if (mechs === undefined) return [];
  const out: string[] = [];
  for (const m of mechs.getChildren("mechanism", SASL_NS)) {
    const name = m.text.trim();
    if (MECHANISM.test(name) && !out.includes(name)) out.push(name);
    if (out.length >= MAX_MECHANISMS) break;
  }
  return out;
}

/**
 * The XEP-0440 `<sasl-channel-binding/>` feature listing the channel
 * binding types this server supports.
 *
 * @example
 * ```ts
 * import { channelBindingFeature } from "./feature.ts";
 * import { serialize } from "../stream/writer.ts";
 * console.log(serialize(channelBindingFeature(["tls-exporter"])));
 * // <sasl-channel-binding xmlns="urn:xmpp:sasl-cb:0"><channel-binding type="tls-exporter"/></sasl-channel-binding>
 * ```
 *
 * @param types The supported types.
 * @returns The feature element.
 */
export function channelBindingFeature(
  types: readonly ChannelBindingType[],
): Element {
  return new Element(
    "sasl-channel-binding",
    SASL_CB_NS,
    {},
    types.map((type) => new Element("channel-binding", SASL_CB_NS, { type })),
  );
}

/**
 * The channel binding types a features element advertises (XEP-0440), or
 * `null` when the server does not say.
 *
 * @example
 * ```ts
 * import { channelBindingFeature, offeredChannelBindings } from "./feature.ts";
 * import { Element } from "../stream/element.ts";
 *
 * const features = new Element("features", "http://etherx.jabber.org/streams", {}, [
 *   channelBindingFeature(["tls-server-end-point"]),
 * ]);
 * console.log(offeredChannelBindings(features)); // ["tls-server-end-point"]
 * ```
 *
 * @param features A `<stream:features/>` element.
 * @returns The type names (at most 16), or `null`.
 */
export function offeredChannelBindings(features: Element): string[] | null {
  const cb = features.getChild("sasl-channel-binding", SASL_CB_NS);
  if (cb === undefined) return null;
  return cb.getChildren("channel-binding", SASL_CB_NS)
    .map((e) => e.attrs.type)
    .filter((t): t is string => typeof t === "string" && t.length > 0)
    .slice(0, 16);
}
