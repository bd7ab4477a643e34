/**
 * Stream features as data (RFC 6120 §4.3): each feature (STARTTLS, SASL,
 * resource binding, ...) is one {@linkcode StreamFeature} value, and one
 * negotiation loop per side ({@linkcode negotiateClient},
 * {@linkcode negotiateServer} in `negotiate.ts`) runs whichever the peer
 * offers or asks for. A feature that restarts the stream (STARTTLS, SASL)
 * returns the new {@linkcode XmlStream}.
 *
 * Modelled on mellium's `StreamFeature`: what the receiving entity lists,
 * what the initiating entity negotiates, and the session state each needs
 * (`necessary`) or must not have (`prohibited`).
 *
 * @module
 */

import type { Element } from "./element.ts";
import type { StreamErrorCondition } from "./stream_error.ts";
import type { XmlStream } from "./xml_stream.ts";

/** What has been negotiated so far on a session. */
export interface SessionState {
  /** TLS protects the stream (STARTTLS done, or Direct TLS / QUIC). */
  secure: boolean;
  /** The initiating entity has authenticated (SASL done). */
  authenticated: boolean;
  /** A resource is bound (c2s) or the stream is otherwise ready for stanzas. */
  bound: boolean;
  /** The authenticated identity (bare JID or domain), once known. */
  identity?: string;
  /** The full JID after binding, once known. */
  jid?: string;
}

/** Which session flags a feature needs, or must not have, to be used. */
export type StateFlag = "secure" | "authenticated" | "bound";

/** What a feature's negotiation sees. */
export interface FeatureContext {
  /** The current stream. */
  stream: XmlStream;
  /** The session state before this feature. */
  state: Readonly<SessionState>;
  /** Aborts the negotiation. */
  signal?: AbortSignal;
  /**
   * Initiating entity: the whole `<stream:features/>` element the offered
   * feature came in (some features read siblings, such as XEP-0440's
   * channel-binding types next to SASL's mechanisms).
   */
  features?: Element;
}

/** What a feature's negotiation produced. */
export interface FeatureResult {
  /**
   * The stream to continue on: a new one when the feature restarted the
   * stream (then the loop reads or sends fresh features), else the same.
   */
  stream: XmlStream;
  /** Flags and identities the feature established. */
  state?: Partial<SessionState>;
  /**
   * Initiating entity, after a restart: the new `<stream:features/>` when
   * the feature already read them (the loop then does not read again).
   */
  features?: Element;
}

/**
 * One stream feature, for either side of a negotiation.
 *
 * @example A toy feature that needs no restart
 * ```ts
 * import { Element } from "./element.ts";
 * import type { StreamFeature } from "./feature.ts";
 *
 * const NS = "urn:example:ping";
 * export const ping: StreamFeature = {
 *   name: "ping",
 *   ns: NS,
 *   list: () => new Element("ping", NS),
 *   async negotiate({ stream }) {
 *     await stream.send(new Element("ping", NS));
 *     await stream.read(); // <pong/>
 *     return { stream };
 *   },
 *   async accept({ stream }) {
 *     await stream.send(new Element("pong", NS));
 *     return { stream };
 *   },
 * };
 * ```
 */
export interface StreamFeature {
  /** The feature element's local name, as listed in `<stream:features/>`. */
  readonly name: string;
  /** The feature element's namespace. */
  readonly ns: string;
  /** Flags that must all be set before the feature is offered or used. */
  readonly necessary?: readonly StateFlag[];
  /** Flags none of which may be set (STARTTLS: `secure`; SASL: `authenticated`). */
  readonly prohibited?: readonly StateFlag[];
  /**
   * Receiving entity: the element (or elements) to list in
   * `<stream:features/>`, or `null` to leave the feature out this time. Mark it mandatory-to-negotiate with a
   * `<required/>` child where the feature's specification defines one, and
   * say so in {@linkcode StreamFeature.required}.
   */
  list?(
    state: Readonly<SessionState>,
    stream: XmlStream,
  ): Element | Element[] | null | Promise<Element | Element[] | null>;
  /**
   * Receiving entity: whether the initiating entity must negotiate this
   * feature before sending stanzas.
   *
   * @default {false}
   */
  required?(state: Readonly<SessionState>): boolean;
  /**
   * Receiving entity: the stream error for an initiating entity that sends
   * something else while this required feature is not negotiated yet
   * (RFC 6120: `policy-violation` before STARTTLS, `not-authorized` before
   * SASL).
   *
   * @default {"policy-violation"}
   */
  readonly unnegotiated?: StreamErrorCondition;
  /**
   * Receiving entity: whether `first` (the element the initiating entity
   * sent) starts this feature's negotiation. Default: same name and
   * namespace as the feature.
   */
  handles?(first: Element): boolean;
  /** Receiving entity: run the negotiation that `first` started. */
  accept?(ctx: FeatureContext, first: Element): Promise<FeatureResult>;
  /** Initiating entity: run the negotiation of the offered feature element. */
  negotiate?(ctx: FeatureContext, offered: Element): Promise<FeatureResult>;
}

/**
 * Whether a feature may be used in this state.
 *
 * @example
 * ```ts
 * import { usable } from "./feature.ts";
 * const starttls = { name: "starttls", ns: "urn:ietf:params:xml:ns:xmpp-tls", prohibited: ["secure"] } as const;
 * console.log(usable(starttls, { secure: true, authenticated: false, bound: false })); // false
 * ```
 *
 * @param feature The feature.
 * @param state The session state.
 * @returns `true` when every necessary flag is set and no prohibited one.
 */
export function usable(
  feature: Pick<StreamFeature, "necessary" | "prohibited">,
  state: Readonly<SessionState>,
): boolean {
  for (const f of feature.necessary ?? []) if (!state[f]) return false;
  for (const f of feature.prohibited ?? []) if (state[f]) return false;
  return true;
}
