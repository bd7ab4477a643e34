/**
 * The receiving entity's feature list for one `serve()` connection:
 * STARTTLS (on STARTTLS ports only), SASL, resource binding under the
 * domain the client's stream header named, then any extra features. Every
 * feature is wrapped so that the connection always knows which
 * {@linkcode XmlStream} is current (to send a stream error on it when the
 * negotiation times out or the server shuts down).
 *
 * @module
 */

import type { StreamFeature } from "../stream/feature.ts";
import type { XmlStream } from "../stream/xml_stream.ts";
import { startTlsServer, type Upgrade } from "../starttls/negotiator.ts";
import type { ConflictDecision } from "../sasl/bind.ts";
import {
  bindServer,
  saslServer,
  type SaslServerOptions,
} from "../sasl/stream_features.ts";

/** Options for {@linkcode connectionFeatures}. */
export interface ConnectionFeaturesOptions {
  /** STARTTLS ports: the handshake and whether TLS is required. Absent for Direct TLS. */
  starttls?: { upgrade: Upgrade; required: boolean };
  /** The SASL server options (store, mechanisms, limits). */
  sasl: SaslServerOptions;
  /** Resource binding: policy, length limit, conflict decision. */
  bind: {
    resourcePolicy?: "client" | "server";
    maxResourceLength?: number;
    conflict: (fullJid: string) => ConflictDecision | Promise<ConflictDecision>;
  };
  /** More receiving-entity features, offered after the built-in ones. */
  extra: readonly StreamFeature[];
}

/** Which stream of a connection is current. */
export interface StreamTracker {
  /** The stream the negotiation is on now (before or after a restart). */
  current?: XmlStream;
}

/**
 * The domain a stream was opened to: its header's `to`, lower-cased (the
 * stream layer already refused domains that are not served).
 *
 * @example
 * ```ts
 * import { streamDomain } from "./_serve_features.ts";
 * import type { XmlStream } from "../stream/xml_stream.ts";
 * const xs = { peerHeader: { to: "Example.Test" } } as unknown as XmlStream;
 * console.log(streamDomain(xs)); // "example.test"
 * ```
 *
 * @param stream An accepted stream.
 * @returns The domain.
 * @throws {TypeError} If the header has no `to`.
 */
export function streamDomain(stream: XmlStream): string {
  const to = stream.peerHeader.to;
  if (!to) throw new TypeError("the client's stream header names no domain");
  return to.toLowerCase();
}

/** Keep `tracker.current` on the stream a feature runs on and returns. */
function tracked(f: StreamFeature, tracker: StreamTracker): StreamFeature {
  const accept = f.accept;
  return {
    name: f.name,
    ns: f.ns,
    necessary: f.necessary,
    prohibited: f.prohibited,
    unnegotiated: f.unnegotiated,
    list: f.list?.bind(f),
    required: f.required?.bind(f),
    handles: f.handles?.bind(f),
    accept: accept === undefined ? undefined : async (ctx, first) => {
      tracker.current = ctx.stream;
      const result = await accept.call(f, ctx, first);
      tracker.current = result.stream;
      return result;
    },
  };
}

/**
 * The features for one connection, in negotiation order.
 *
 * @example
 * ```ts
 * import { connectionFeatures } from "./_serve_features.ts";
 * import { MemoryCredentialStore } from "../sasl/credentials.ts";
 *
 * const features = connectionFeatures({
 *   sasl: { store: new MemoryCredentialStore() },
 *   bind: { conflict: () => "accept" },
 *   extra: [],
 * }, {});
 * console.log(features.map((f) => f.name)); // [ "mechanisms", "bind" ]
 * ```
 *
 * @param options What to offer.
 * @param tracker Updated with the current stream as features run.
 * @returns The features.
 */
export function connectionFeatures(
  options: ConnectionFeaturesOptions,
  tracker: StreamTracker,
): StreamFeature[] {
  const features: StreamFeature[] = [];
  if (options.starttls) features.push(startTlsServer(options.starttls));
  features.push(saslServer(options.sasl));
  // bindServer takes a fixed domain; here it is the one this stream was
  // opened to, known only once the client's (post-TLS, post-SASL) header is.
  const template = bindServer({ ...options.bind, domain: "unused.invalid" });
  features.push({
    ...template,
    accept: (ctx, first) =>
      bindServer({ ...options.bind, domain: streamDomain(ctx.stream) })
        .accept!(ctx, first),
  });
  features.push(...options.extra);
  return features.map((f) => tracked(f, tracker));
}
