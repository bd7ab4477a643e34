/**
 * SASL authentication and resource binding as {@linkcode StreamFeature}
 * values, for the negotiation loops in `stream/negotiate.ts`.
 *
 * By default neither side authenticates on a stream that is not secure: the
 * client feature needs TLS before it runs, and the server feature is not
 * offered before TLS. Together with the loop's refusal to end without TLS,
 * there is no plaintext login.
 *
 * @module
 */

import type { StreamFeature } from "../stream/feature.ts";
import {
  acceptAuth,
  type AcceptAuthOptions,
  authenticate,
  type AuthenticateOptions,
  authFeatures,
} from "./negotiate.ts";
import {
  acceptBind,
  type AcceptBindOptions,
  bind,
  BIND_NS,
  bindFeature,
  type BindOptions,
} from "./bind.ts";
import { SASL_NS } from "./sasl_error.ts";

/** Options for {@linkcode saslClient}. */
export interface SaslClientOptions extends Omit<AuthenticateOptions, "signal"> {
  /**
   * Allow authenticating on a stream that TLS does not protect. Only for
   * teaching and tests; PLAIN is refused there anyway.
   *
   * @default {false}
   */
  allowInsecure?: boolean;
}

/** Options for {@linkcode saslServer}. */
export interface SaslServerOptions
  extends Omit<AcceptAuthOptions, "signal" | "first" | "sendFeatures"> {
  /**
   * Offer authentication on a stream that TLS does not protect.
   *
   * @default {false}
   */
  allowInsecure?: boolean;
}

/**
 * The client's SASL feature: pick the strongest offered mechanism, log in,
 * verify the server (SCRAM), restart the stream.
 *
 * @example
 * ```ts
 * import { saslClient, bindClient } from "./stream_features.ts";
 * import { negotiateClient } from "../stream/negotiate.ts";
 * import type { XmlStream } from "../stream/xml_stream.ts";
 *
 * export async function login(xs: XmlStream) {
 *   const { stream, state } = await negotiateClient(xs, {
 *     features: [saslClient({ username: "alice", password: "secret" }), bindClient()],
 *     require: ["secure", "authenticated", "bound"],
 *   });
 *   console.log(state.jid);
 *   return stream;
 * }
 * ```
 *
 * @param options Credentials and mechanism preferences.
 * @returns The feature.
 */
export function saslClient(options: SaslClientOptions): StreamFeature {
  const { allowInsecure, ...auth } = options;
  return {
    name: "mechanisms",
    ns: SASL_NS,
    necessary: allowInsecure ? [] : ["secure"],
    prohibited: ["authenticated"],
    async negotiate({ stream, signal, features }) {
      const r = await authenticate(stream, features!, { ...auth, signal });
      const identity = r.username ?? auth.username;
      return {
        stream: r.stream,
        features: r.features,
        state: { authenticated: true, ...(identity ? { identity } : {}) },
      };
    },
  };
}

/**
 * The server's SASL feature: offer the mechanisms the connection allows,
 * run the exchange the client starts, restart the stream. Required: a
 * client that sends anything else first gets `not-authorized`.
 *
 * @example
 * ```ts
 * import { bindServer, saslServer } from "./stream_features.ts";
 * import { MemoryCredentialStore } from "./credentials.ts";
 * import { negotiateServer } from "../stream/negotiate.ts";
 * import type { XmlStream } from "../stream/xml_stream.ts";
 *
 * const store = new MemoryCredentialStore();
 * await store.setPassword("alice", "secret");
 *
 * export async function session(xs: XmlStream) {
 *   return await negotiateServer(xs, {
 *     features: [saslServer({ store }), bindServer({ domain: "example.org" })],
 *   });
 * }
 * ```
 *
 * @param options The credential store, mechanisms and limits.
 * @returns The feature.
 */
export function saslServer(options: SaslServerOptions): StreamFeature {
  const { allowInsecure, ...auth } = options;
  return {
    name: "mechanisms",
    ns: SASL_NS,
    necessary: allowInsecure ? [] : ["secure"],
    prohibited: ["authenticated"],
    unnegotiated: "not-authorized",
    list: (_state, stream) => authFeatures(stream.info, auth),
    required: () => true,
    handles: (first) => first.ns === SASL_NS,
    async accept({ stream, signal }, first) {
      const r = await acceptAuth(stream, {
        ...auth,
        first,
        sendFeatures: false,
        signal,
      });
      return {
        stream: r.stream,
        state: { authenticated: true, identity: r.username },
      };
    },
  };
}

/**
 * The client's resource-binding feature (RFC 6120 §7).
 *
 * @example
 * ```ts
 * import { bindClient } from "./stream_features.ts";
 * console.log(bindClient({ resource: "laptop" }).name); // "bind"
 * ```
 *
 * @param options The resource to ask for (default: the server picks).
 * @returns The feature.
 */
export function bindClient(
  options: Omit<BindOptions, "signal"> = {},
): StreamFeature {
  return {
    name: "bind",
    ns: BIND_NS,
    necessary: ["authenticated"],
    prohibited: ["bound"],
    async negotiate({ stream, signal }) {
      const jid = await bind(stream, { ...options, signal });
      return { stream, state: { bound: true, jid } };
    },
  };
}

/**
 * The server's resource-binding feature: the authenticated user (from the
 * SASL feature) binds a resource under `domain`.
 *
 * @example
 * ```ts
 * import { bindServer } from "./stream_features.ts";
 * console.log(bindServer({ domain: "example.org" }).ns); // "urn:ietf:params:xml:ns:xmpp-bind"
 * ```
 *
 * @param options The domain, resource policy, conflicts and limits.
 * @returns The feature.
 */
export function bindServer(
  options: Omit<
    AcceptBindOptions,
    "username" | "signal" | "first" | "sendFeatures"
  >,
): StreamFeature {
  return {
    name: "bind",
    ns: BIND_NS,
    necessary: ["authenticated"],
    prohibited: ["bound"],
    unnegotiated: "not-authorized",
    list: () => bindFeature(),
    required: () => true,
    handles: (first) =>
      first.name === "iq" && first.getChild("bind", BIND_NS) !== undefined,
    async accept({ stream, state, signal }, first) {
      if (!state.identity) {
        throw new TypeError(
          "bindServer needs the authenticated user: put saslServer before it",
        );
      }
      const jid = await acceptBind(stream, {
        ...options,
        username: state.identity,
        first,
        sendFeatures: false,
        signal,
      });
      return { stream, state: { bound: true, jid } };
    },
  };
}
