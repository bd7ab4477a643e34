/**
 * The stream negotiation loops (RFC 6120 §4.3), one per side, over a list of
 * {@linkcode StreamFeature} values.
 *
 * - The initiating entity reads `<stream:features/>`, negotiates the first
 *   feature of its own list (in its order of preference) that the peer
 *   offers and that the session state allows, and repeats; after a feature
 *   that restarts the stream it reads the new features. It ends when nothing
 *   more can be negotiated, and refuses to end in a state its policy forbids
 *   (by default: without TLS).
 * - The receiving entity lists the features the session state allows, waits
 *   for the initiating entity to start one, runs it, and after a restart
 *   lists again. It ends when nothing is left to list, or when the initiating
 *   entity sends something else once every required feature is done: that
 *   element is the first stanza, handed back as `pending`.
 *
 * @module
 */

import type { Element } from "./element.ts";
import {
  type SessionState,
  type StateFlag,
  type StreamFeature,
  usable,
} from "./feature.ts";
import { StreamError } from "./stream_error.ts";
import type { XmlStream } from "./xml_stream.ts";

/** Options for {@linkcode negotiateClient}. */
export interface ClientNegotiationOptions {
  /** The features this side can negotiate, in order of preference. */
  features: readonly StreamFeature[];
  /** The state to start from (`secure` defaults to the transport's). */
  state?: Partial<SessionState>;
  /**
   * Flags that must be set when negotiation ends; otherwise the stream is
   * closed with `policy-violation`. The default refuses to continue without
   * TLS (RFC 7590): there is no silent downgrade.
   *
   * @default {["secure"]}
   */
  require?: readonly StateFlag[];
  /**
   * The most stream restarts allowed before giving up.
   *
   * @default {8}
   */
  maxRestarts?: number;
  /** Aborts the negotiation. */
  signal?: AbortSignal;
  /**
   * The `<stream:features/>` already read from `stream`, when the caller
   * read them (the loop then starts from these instead of reading).
   */
  offered?: Element;
}

/** Options for {@linkcode negotiateServer}. */
export interface ServerNegotiationOptions {
  /** The features this side offers. */
  features: readonly StreamFeature[];
  /** The state to start from (`secure` defaults to the transport's). */
  state?: Partial<SessionState>;
  /**
   * The most stream restarts allowed before giving up.
   *
   * @default {8}
   */
  maxRestarts?: number;
  /** Aborts the negotiation. */
  signal?: AbortSignal;
}

/** The outcome of a negotiation. */
export interface Negotiated {
  /** The stream to use from now on (after any restarts). */
  stream: XmlStream;
  /** What was negotiated. */
  state: SessionState;
  /** Initiating entity: the last `<stream:features/>` received. */
  features?: Element;
  /**
   * Receiving entity: the first element after negotiation (a stanza), if the
   * initiating entity already sent one.
   */
  pending?: Element;
}

function initialState(
  stream: XmlStream,
  state: Partial<SessionState> | undefined,
): SessionState {
  return {
    secure: stream.info.secure,
    authenticated: false,
    bound: false,
    ...state,
  };
}

/** Refuse (on the wire and to the caller) one restart too many. */
async function checkRestarts(
  stream: XmlStream,
  restarts: number,
  max: number,
): Promise<void> {
  if (restarts <= max) return;
  await stream.sendError("policy-violation", {
    text: `more than ${max} stream restarts`,
  });
  throw new StreamError(
    "policy-violation",
    `gave up after ${max} stream restarts`,
  );
}

function offeredBy(features: Element, f: StreamFeature): Element | undefined {
  return features.getChild(f.name, f.ns);
}

/**
 * Negotiate a stream as the initiating entity.
 *
 * @example A toy feature negotiated over an in-memory pair
 * ```ts
 * import { Element } from "./element.ts";
 * import type { StreamFeature } from "./feature.ts";
 * import { memoryPair } from "./memory_duplex.ts";
 * import { negotiateClient, negotiateServer } from "./negotiate.ts";
 * import { XmlStream } from "./xml_stream.ts";
 *
 * const NS = "urn:example:hello";
 * const hello: StreamFeature = {
 *   name: "hello",
 *   ns: NS,
 *   list: () => new Element("hello", NS),
 *   required: () => true,
 *   async negotiate({ stream }) {
 *     await stream.send(new Element("hello", NS));
 *     await stream.read();
 *     return { stream, state: { bound: true } };
 *   },
 *   async accept({ stream }) {
 *     await stream.send(new Element("welcome", NS));
 *     return { stream, state: { bound: true } };
 *   },
 * };
 * const [a, b] = memoryPair({ info: { secure: true } });
 * const [client, server] = await Promise.all([
 *   XmlStream.open(a, { to: "example.org" }).then((xs) => negotiateClient(xs, { features: [hello] })),
 *   XmlStream.accept(b).then((xs) => negotiateServer(xs, { features: [hello] })),
 * ]);
 * console.log(client.state.bound, server.state.bound); // true true
 * await Promise.all([client.stream.close(), server.stream.close()]);
 * ```
 *
 * @param stream An open stream, before its first `<stream:features/>` (or
 * after it, passing it as `options.offered`).
 * @param options The features, the starting state and the policy.
 * @returns The negotiated stream and state.
 * @throws {StreamError} `unsupported-feature` when the peer requires a
 * feature this side cannot negotiate, `policy-violation` when negotiation
 * ends without a required flag (by default, TLS); the stream is closed.
 */
export async function negotiateClient(
  stream: XmlStream,
  options: ClientNegotiationOptions,
): Promise<Negotiated> {
  const { signal } = options;
  const maxRestarts = options.maxRestarts ?? 8;
  const state = initialState(stream, options.state);
  let features = options.offered ?? await stream.readFeatures({ signal });
  let restarts = 0;
  let done = new Set<StreamFeature>();
  for (;;) {
    signal?.throwIfAborted();
    const feature = options.features.find((f) =>
      f.negotiate !== undefined && !done.has(f) && usable(f, state) &&
      offeredBy(features, f) !== undefined
    );
    if (feature === undefined) break;
    const result = await feature.negotiate!(
      { stream, state: { ...state }, signal, features },
      offeredBy(features, feature)!,
    );
    done.add(feature);
    Object.assign(state, result.state);
    if (result.stream !== stream) {
      stream = result.stream;
      await checkRestarts(stream, ++restarts, maxRestarts);
      state.secure ||= stream.info.secure;
      features = result.features ?? await stream.readFeatures({ signal });
      done = new Set();
    }
  }
  // A mandatory-to-negotiate feature we cannot do (RFC 6120 §4.9.3.22).
  for (const el of features.elements) {
    if (el.getChild("required", el.ns) === undefined) continue;
    const ours = options.features.find((f) =>
      f.name === el.name && f.ns === el.ns
    );
    if (ours === undefined || ours.negotiate === undefined || !done.has(ours)) {
      const why = ours === undefined || ours.negotiate === undefined
        ? "this side does not support it"
        : "the session state does not allow it";
      await stream.sendError("unsupported-feature", {
        text: `<${el.name} xmlns='${el.ns}'/> is required`,
      });
      throw new StreamError(
        "unsupported-feature",
        `the peer requires <${el.name} xmlns='${el.ns}'/> and ${why}`,
      );
    }
  }
  for (const flag of options.require ?? ["secure"]) {
    if (!state[flag]) {
      const text = flag === "secure"
        ? "the peer offered no way to secure the stream (no STARTTLS); refusing to continue without TLS"
        : `negotiation ended without '${flag}'`;
      await stream.sendError("policy-violation", { text });
      throw new StreamError("policy-violation", text);
    }
  }
  return { stream, state, features };
}

/**
 * Negotiate a stream as the receiving entity.
 *
 * @example
 * ```ts
 * import { negotiateServer } from "./negotiate.ts";
 * import type { StreamFeature } from "./feature.ts";
 * import type { XmlStream } from "./xml_stream.ts";
 *
 * export async function session(xs: XmlStream, features: StreamFeature[]) {
 *   const { stream, state, pending } = await negotiateServer(xs, { features });
 *   console.log(`ready: ${state.jid}`);
 *   if (pending) console.log(`first stanza: <${pending.name}/>`);
 *   return stream;
 * }
 * ```
 *
 * @param stream An accepted stream, before any `<stream:features/>` was sent.
 * @param options The features and the starting state.
 * @returns The negotiated stream, the state, and the first stanza if the
 * initiating entity already sent one.
 * @throws {StreamError} When the initiating entity skips a required feature
 * (the feature's `unnegotiated` condition, default `policy-violation`); the
 * error is sent and the stream closed.
 */
export async function negotiateServer(
  stream: XmlStream,
  options: ServerNegotiationOptions,
): Promise<Negotiated> {
  const { signal } = options;
  const maxRestarts = options.maxRestarts ?? 8;
  const state = initialState(stream, options.state);
  let restarts = 0;
  for (;;) {
    const listed: { feature: StreamFeature; elements: Element[] }[] = [];
    for (const feature of options.features) {
      if (feature.accept === undefined || !usable(feature, state)) continue;
      const listing = await feature.list?.(state, stream) ?? null;
      if (listing === null) continue;
      const elements = Array.isArray(listing) ? listing : [listing];
      if (elements.length > 0) listed.push({ feature, elements });
    }
    await stream.sendFeatures(listed.flatMap((l) => l.elements));
    const done = new Set<StreamFeature>();
    let restarted = false;
    while (!restarted) {
      const remaining = listed.filter((l) => !done.has(l.feature));
      if (remaining.length === 0) return { stream, state };
      const first = await stream.read({ signal });
      if (first === null) {
        throw new StreamError(
          "connection-timeout",
          "the peer closed the stream during negotiation",
          { origin: "remote" },
        );
      }
      const match = remaining.find(({ feature }) =>
        feature.handles
          ? feature.handles(first)
          : first.name === feature.name && first.ns === feature.ns
      );
      if (match === undefined) {
        const missing = remaining.find((l) => l.feature.required?.(state));
        if (missing === undefined) return { stream, state, pending: first };
        const condition = missing.feature.unnegotiated ?? "policy-violation";
        const text =
          `<${missing.feature.name} xmlns='${missing.feature.ns}'/> must be negotiated first`;
        await stream.sendError(condition, { text });
        throw new StreamError(condition, text);
      }
      const result = await match.feature.accept!(
        { stream, state: { ...state }, signal },
        first,
      );
      done.add(match.feature);
      Object.assign(state, result.state);
      if (result.stream !== stream) {
        stream = result.stream;
        await checkRestarts(stream, ++restarts, maxRestarts);
        state.secure ||= stream.info.secure;
        restarted = true;
      }
    }
  }
}
