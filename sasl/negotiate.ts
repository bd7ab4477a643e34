/**
 * SASL over an XML stream (RFC 6120 §6), both sides.
 *
 * - {@linkcode authenticate} (client): picks the strongest mechanism both
 *   sides allow from the features the caller read, runs the exchange,
 *   verifies the server where the mechanism can (a SCRAM `<success/>`
 *   without the right server signature is an error, never a login),
 *   restarts the stream and reads the new features.
 * - {@linkcode acceptAuth} (server): offers the mechanisms this connection
 *   allows, handles `<auth/>`, `<response/>` and `<abort/>`, limits the
 *   attempts and the size of what the client sends, and restarts the
 *   stream after success.
 *
 * PLAIN is never sent over, offered on, or accepted from a stream whose
 * `info.secure` is false. The `-PLUS` mechanisms need a
 * {@linkcode ChannelBindingSource}; EXTERNAL needs a client certificate
 * check on the server and an explicit request on the client.
 *
 * @module
 */

import type { ConnectionInfo } from "../stream/duplex.ts";
import { Element } from "../stream/element.ts";
import { StreamError } from "../stream/stream_error.ts";
import type { XmlStream } from "../stream/xml_stream.ts";
import {
  type ChannelBinding,
  type ChannelBindingSource,
  checkChannelBinding,
} from "./channel_binding.ts";
import type { CredentialStore } from "./credentials.ts";
import { ExternalClient, ExternalServer } from "./external.ts";
import {
  channelBindingFeature,
  mechanismsFeature,
  offeredChannelBindings,
  offeredMechanisms,
} from "./feature.ts";
import {
  type ClientMechanism,
  type Identity,
  isMechanismName,
  type MechanismName,
  type ServerMechanism,
  type ServerStep,
} from "./mechanism.ts";
import { PlainClient, PlainServer } from "./plain.ts";
import {
  isSaslFailureCondition,
  SASL_NS,
  SaslError,
  type SaslFailureCondition,
} from "./sasl_error.ts";
import type { ScramCache } from "./scram_cache.ts";
import { ScramClient, type ScramClientKeys } from "./scram_client.ts";
import type { ScramHash } from "./scram_keys.ts";
import { ScramServer } from "./scram_server.ts";
import { decodeBase64, encodeBase64 } from "./_bytes.ts";

/** What a client allows by default, strongest first. EXTERNAL only on request. */
export const DEFAULT_CLIENT_MECHANISMS: readonly MechanismName[] = [
  "SCRAM-SHA-256-PLUS",
  "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
];

/**
 * What a server offers by default, in this order, where the connection
 * allows it: `-PLUS` with channel binding data, PLAIN over TLS, EXTERNAL
 * with an authenticated client certificate.
 */
export const DEFAULT_SERVER_MECHANISMS: readonly MechanismName[] = [
  "SCRAM-SHA-256-PLUS",
  "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
  "EXTERNAL",
];

/** Most challenges a client answers in one exchange. */
const MAX_ROUNDS = 8;

// ---------------------------------------------------------------------------
// Client

/** Options for {@linkcode authenticate}. */
export interface AuthenticateOptions {
  /** The user name (the localpart of the JID). Needed for SCRAM and PLAIN. */
  username?: string;
  /** The password, for SCRAM and PLAIN. */
  password?: string;
  /**
   * SCRAM keys derived earlier (instead of, or besides, the password); used
   * when the server's salt and iteration count match.
   *
   * @default {[]}
   */
  credentials?: ScramClientKeys[];
  /**
   * The mechanisms this client allows, in order of preference. The first
   * one the server offers and this connection allows is used.
   *
   * @default {DEFAULT_CLIENT_MECHANISMS}
   */
  mechanisms?: readonly string[];
  /** The authorization identity to request, if any. */
  authzid?: string;
  /**
   * Where channel binding data comes from. Without it (or when it returns
   * `null`) the `-PLUS` mechanisms are not used and SCRAM sends `n`.
   */
  channelBinding?: ChannelBindingSource;
  /** A cache of SCRAM keys across logins; see {@linkcode ScramCache}. */
  cache?: ScramCache;
  /**
   * The lowest SCRAM iteration count accepted from the server.
   *
   * @default {4096}
   */
  minIterations?: number;
  /**
   * The highest SCRAM iteration count accepted from the server.
   *
   * @default {1000000}
   */
  maxIterations?: number;
  /**
   * The longest base64 text accepted in one `<challenge/>` or `<success/>`.
   *
   * @default {16384}
   */
  maxDataLength?: number;
  /**
   * Abort the exchange. The stream is then in an unknown state: close it.
   */
  signal?: AbortSignal;
}

/** What {@linkcode authenticate} returns. */
export interface AuthenticateResult {
  /** The restarted stream. The one passed in can no longer be used. */
  stream: XmlStream;
  /** The features of the restarted stream (such as `<bind/>`). */
  features: Element;
  /** The mechanism used. */
  mechanism: MechanismName;
  /** The user name authenticated (absent for EXTERNAL). */
  username?: string;
  /** The authorization identity requested, if any. */
  authzid?: string;
}

/**
 * Log in: choose a mechanism from the offered `<mechanisms/>`, run the
 * exchange, restart the stream, read the new features.
 *
 * The choice is the first of `options.mechanisms` that the server offers
 * and this side can use: `-PLUS` needs channel binding data (of a type the
 * server lists, if it lists any, XEP-0440), SCRAM and PLAIN need a password
 * (or SCRAM keys), PLAIN needs `xs.info.secure`. A SCRAM client with
 * binding data talking to a server that offers no `-PLUS` sends the `y`
 * flag, so a server that does support binding detects the downgrade.
 *
 * @example Log in after TLS
 * ```ts
 * import type { XmlStream } from "../stream/xml_stream.ts";
 * import { authenticate } from "./negotiate.ts";
 *
 * export async function login(xs: XmlStream) {
 *   const features = await xs.readFeatures();
 *   const { stream, mechanism, features: next } = await authenticate(xs, features, {
 *     username: "alice",
 *     password: "secret",
 *     signal: AbortSignal.timeout(10_000),
 *   });
 *   console.log(`logged in with ${mechanism}`);
 *   return { stream, features: next };
 * }
 * ```
 *
 * @param xs The stream, with its features read and not yet authenticated.
 * @param features The `<stream:features/>` the server sent.
 * @param options Credentials, allowed mechanisms, channel binding, limits.
 * @returns The restarted stream, its features and who logged in.
 * @throws {SaslError} With origin `"remote"` when the server sent
 * `<failure/>` (condition and text as sent; the stream stays open for
 * another attempt). With origin `"local"` when this side refuses: no
 * usable mechanism (`invalid-mechanism`, or `encryption-required` when
 * only PLAIN is offered on an insecure stream), or a server that failed
 * verification or sent malformed data (the stream is then closed).
 * @throws {StreamError} When the server sends a stream error, closes the
 * stream, or sends something that is not SASL (`bad-format`).
 * @throws {TypeError} For missing or malformed options.
 */
export async function authenticate(
  xs: XmlStream,
  features: Element,
  options: AuthenticateOptions,
): Promise<AuthenticateResult> {
  const prefs = checkMechanismList(
    options.mechanisms ?? DEFAULT_CLIENT_MECHANISMS,
  );
  const hasSecret = options.password !== undefined ||
    (options.credentials?.length ?? 0) > 0;
  if (hasSecret && typeof options.username !== "string") {
    throw new TypeError("username is needed with a password or credentials");
  }
  const maxData = positiveInteger(
    options.maxDataLength ?? 16384,
    "maxDataLength",
  );
  const offered = offeredMechanisms(features);
  if (offered.length === 0) {
    throw new SaslError(
      "invalid-mechanism",
      "the server offers no SASL mechanisms on this stream (is TLS negotiated? is the stream already authenticated?)",
    );
  }
  const wantsPlus = prefs.some((m) => m.endsWith("-PLUS"));
  let binding: ChannelBinding | null = null;
  if (options.channelBinding && wantsPlus) {
    const b = await options.channelBinding(xs.info);
    binding = b === null ? null : checkChannelBinding(b);
  }
  const cbTypes = offeredChannelBindings(features);
  const plusUsable = binding !== null &&
    (cbTypes === null || cbTypes.includes(binding.type));
  const serverOffersPlus = offered.some((m) => m.endsWith("-PLUS"));

  const skipped: string[] = [];
  let chosen: MechanismName | null = null;
  for (const name of prefs) {
    if (!offered.includes(name)) continue;
    if (name === "EXTERNAL") {
      chosen = name;
      break;
    }
    if (!hasSecret) {
      skipped.push(`${name} (no password)`);
      continue;
    }
    if (name === "PLAIN") {
      if (options.password === undefined) {
        skipped.push("PLAIN (no password)");
        continue;
      }
      if (!xs.info.secure) {
        skipped.push("PLAIN (the stream is not secure)");
        continue;
      }
    }
    if (name.endsWith("-PLUS") && !plusUsable) {
      skipped.push(
        `${name} (${
          binding === null
            ? "no channel binding data"
            : `the server does not list ${binding.type}`
        })`,
      );
      continue;
    }
    chosen = name;
    break;
  }
  if (chosen === null) {
    const onlyPlainInsecure = skipped.length > 0 &&
      skipped.every((s) => s.includes("not secure"));
    throw new SaslError(
      onlyPlainInsecure ? "encryption-required" : "invalid-mechanism",
      onlyPlainInsecure
        ? "the server offers only PLAIN and the stream is not secure: refusing to send the password in the clear"
        : `no usable mechanism: the server offers ${
          offered.join(" ")
        }; this client allows ${prefs.join(" ")}${
          skipped.length ? `; skipped ${skipped.join(", ")}` : ""
        }`,
    );
  }

  const mech = clientMechanism(chosen, options, {
    binding: chosen.endsWith("-PLUS") ? binding : null,
    bindingSupported: binding !== null && wantsPlus && !serverOffersPlus,
  });
  await runClient(xs, mech, maxData, options.signal);
  const stream = await xs.restart(undefined, { signal: options.signal });
  const next = await stream.readFeatures({ signal: options.signal });
  const result: AuthenticateResult = {
    stream,
    features: next,
    mechanism: chosen,
  };
  if (chosen !== "EXTERNAL") result.username = options.username;
  if (options.authzid !== undefined) result.authzid = options.authzid;
  return result;
}

function clientMechanism(
  name: MechanismName,
  options: AuthenticateOptions,
  cb: { binding: ChannelBinding | null; bindingSupported: boolean },
): ClientMechanism {
  if (name === "EXTERNAL") {
    return new ExternalClient({ authzid: options.authzid });
  }
  if (name === "PLAIN") {
    return new PlainClient({
      username: options.username!,
      password: options.password!,
      authzid: options.authzid,
    });
  }
  const hash: ScramHash = name.startsWith("SCRAM-SHA-256")
    ? "SHA-256"
    : "SHA-1";
  return new ScramClient(hash, {
    username: options.username!,
    password: options.password,
    keys: options.credentials,
    authzid: options.authzid,
    binding: cb.binding ?? undefined,
    bindingSupported: cb.bindingSupported,
    cache: options.cache,
    minIterations: options.minIterations,
    maxIterations: options.maxIterations,
  });
}

async function runClient(
  xs: XmlStream,
  mech: ClientMechanism,
  maxData: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const initial = await mech.start();
  await xs.send(
    new Element(
      "auth",
      SASL_NS,
      { mechanism: mech.name },
      dataChildren(initial, true),
    ),
  );
  let rounds = 0;
  for (;;) {
    const el = await xs.read({ signal });
    if (el === null) {
      await xs.close();
      throw new StreamError(
        "connection-timeout",
        "the server closed the stream during authentication",
        { origin: "remote" },
      );
    }
    if (el.ns === SASL_NS && el.name === "failure") throw readFailure(el);
    if (
      el.ns !== SASL_NS || (el.name !== "challenge" && el.name !== "success")
    ) {
      const text =
        `expected <challenge/>, <success/> or <failure/>, got <${el.name}> in ${el.ns}`;
      await xs.sendError("bad-format", { text });
      throw new StreamError("bad-format", text);
    }
    try {
      if (el.name === "challenge") {
        if (++rounds > MAX_ROUNDS) {
          throw new SaslError(
            "malformed-request",
            `more than ${MAX_ROUNDS} challenges`,
          );
        }
        const data = readData(el, maxData, false) ?? new Uint8Array();
        const response = await mech.challenge(data);
        await xs.send(
          new Element("response", SASL_NS, {}, dataChildren(response, false)),
        );
        continue;
      }
      await mech.success(readData(el, maxData, true));
      return;
    } catch (e) {
      if (!(e instanceof SaslError)) throw e;
      // Our side refuses the server: tell it, and never go on.
      if (el.name === "challenge") {
        try {
          await xs.send(new Element("abort", SASL_NS));
        } catch { /* closing anyway */ }
      }
      await xs.close();
      throw e;
    }
  }
}

/**
 * The children carrying SASL data: base64, `=` for empty data where the
 * element distinguishes empty from absent, nothing for absent.
 */
function dataChildren(data: Uint8Array | null, markEmpty: boolean): string[] {
  if (data === null) return [];
  if (data.length === 0) return markEmpty ? ["="] : [];
  return [encodeBase64(data)];
}

/**
 * Decode an element's SASL data: `null` for none (empty text, where
 * `nullable`), empty for `=`, else strict base64 (surrounding XML
 * whitespace ignored).
 */
function readData(
  el: Element,
  maxLength: number,
  nullable: boolean,
): Uint8Array | null {
  if (el.elements.length > 0) {
    throw new SaslError(
      "malformed-request",
      `<${el.name}/> has child elements`,
    );
  }
  const text = el.text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (text.length > maxLength) {
    throw new SaslError(
      "malformed-request",
      `<${el.name}/> data longer than ${maxLength} characters`,
    );
  }
  if (text === "") return nullable ? null : new Uint8Array();
  if (text === "=") return new Uint8Array();
  const data = decodeBase64(text);
  if (data === null) {
    throw new SaslError(
      "incorrect-encoding",
      `<${el.name}/> data is not base64`,
    );
  }
  return data;
}

/** A received `<failure/>` as a SaslError. */
function readFailure(el: Element): SaslError {
  let condition: SaslFailureCondition = "not-authorized";
  let text: string | undefined;
  for (const c of el.elements) {
    if (c.ns !== SASL_NS) continue;
    if (c.name === "text") text = c.text.slice(0, 1024);
    else if (isSaslFailureCondition(c.name)) condition = c.name;
  }
  return new SaslError(condition, undefined, { origin: "remote", text });
}

// ---------------------------------------------------------------------------
// Server

/** Options for {@linkcode acceptAuth} and {@linkcode authFeatures}. */
export interface AcceptAuthOptions {
  /** Where SCRAM and PLAIN credentials are looked up. */
  store: CredentialStore;
  /**
   * The mechanisms to offer, in this order, where the connection allows
   * them.
   *
   * @default {DEFAULT_SERVER_MECHANISMS}
   */
  mechanisms?: readonly string[];
  /**
   * Where this connection's channel binding data comes from. Without it
   * (or when it returns `null`) the `-PLUS` mechanisms are not offered.
   */
  channelBinding?: ChannelBindingSource;
  /**
   * Who the TLS layer authenticated with a client certificate, or `null`.
   * Without it (or when it returns `null`) EXTERNAL is not offered.
   */
  externalIdentity?: (
    info: ConnectionInfo,
  ) => string | null | Promise<string | null>;
  /**
   * Whether an authenticated user may act as the authzid it requested.
   *
   * @default {the authzid is the user name or its bare JID at this server}
   */
  authorize?: (identity: Identity) => boolean | Promise<boolean>;
  /**
   * Failed exchanges (including aborts) allowed; the last one is followed
   * by a `policy-violation` stream error (RFC 6120 §6.4.5).
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * The longest base64 text accepted in one `<auth/>` or `<response/>`;
   * longer gets `malformed-request`.
   *
   * @default {16384}
   */
  maxResponseLength?: number;
  /**
   * Send `<stream:features/>` with the SASL features (and
   * `extraFeatures`) first. `false` when the caller sent them already (see
   * {@linkcode authFeatures}).
   *
   * @default {true}
   */
  sendFeatures?: boolean;
  /**
   * The client's first SASL element, when the caller already read it (as the
   * stream-feature negotiation loop does); it is handled before reading on.
   */
  first?: Element;
  /**
   * More features to send with the SASL ones.
   *
   * @default {[]}
   */
  extraFeatures?: Element[];
  /** Abort waiting for the client. The stream is then in an unknown state. */
  signal?: AbortSignal;
}

/** What {@linkcode acceptAuth} returns. */
export interface AcceptAuthResult {
  /** The restarted stream; send it the post-authentication features. */
  stream: XmlStream;
  /** The authenticated user name. */
  username: string;
  /** The authorization identity the client requested, if any. */
  authzid?: string;
  /** The mechanism used. */
  mechanism: MechanismName;
}

interface Offer {
  mechanisms: MechanismName[];
  binding: ChannelBinding | null;
  identity: string | null;
  plainRefused: boolean;
}

async function offer(
  info: ConnectionInfo,
  options: AcceptAuthOptions,
): Promise<Offer> {
  if (typeof options?.store?.scram !== "function") {
    throw new TypeError("store must be a CredentialStore");
  }
  const wanted = checkMechanismList(
    options.mechanisms ?? DEFAULT_SERVER_MECHANISMS,
  );
  let binding: ChannelBinding | null = null;
  if (options.channelBinding && wanted.some((m) => m.endsWith("-PLUS"))) {
    const b = await options.channelBinding(info);
    binding = b === null ? null : checkChannelBinding(b);
  }
  let identity: string | null = null;
  if (options.externalIdentity && wanted.includes("EXTERNAL")) {
    identity = await options.externalIdentity(info);
    if (identity !== null && (typeof identity !== "string" || !identity)) {
      throw new TypeError(
        "externalIdentity must return a non-empty string or null",
      );
    }
  }
  const mechanisms = wanted.filter((m) =>
    m.endsWith("-PLUS")
      ? binding !== null
      : m === "PLAIN"
      ? info.secure
      : m === "EXTERNAL"
      ? identity !== null
      : true
  );
  return {
    mechanisms,
    binding,
    identity,
    plainRefused: wanted.includes("PLAIN") && !info.secure,
  };
}

/**
 * The SASL stream features a server offers on this connection: the
 * `<mechanisms/>` (filtered as {@linkcode acceptAuth} filters them) and,
 * with channel binding data, the XEP-0440 `<sasl-channel-binding/>`. For
 * servers that send the features themselves (`sendFeatures: false`).
 *
 * @example
 * ```ts
 * import { authFeatures } from "./negotiate.ts";
 * import { MemoryCredentialStore } from "./credentials.ts";
 * import { serialize } from "../stream/writer.ts";
 *
 * const features = await authFeatures({ transport: "tls", secure: true }, {
 *   store: new MemoryCredentialStore(),
 * });
 * console.log(features.map((f) => serialize(f)).join(""));
 * // <mechanisms …><mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>
 * ```
 *
 * @param info The connection (for `secure`, channel binding, certificate).
 * @param options As for {@linkcode acceptAuth}.
 * @returns The feature elements.
 * @throws {SaslError} `encryption-required` or `invalid-mechanism` when no
 * mechanism can be offered on this connection.
 * @throws {TypeError} For malformed options.
 */
export async function authFeatures(
  info: ConnectionInfo,
  options: AcceptAuthOptions,
): Promise<Element[]> {
  return featuresOf(await offer(info, options));
}

function featuresOf(o: Offer): Element[] {
  if (o.mechanisms.length === 0) {
    throw new SaslError(
      o.plainRefused ? "encryption-required" : "invalid-mechanism",
      o.plainRefused
        ? "no mechanism to offer: PLAIN needs a secure stream"
        : "no mechanism to offer on this connection",
    );
  }
  const out = [mechanismsFeature(o.mechanisms)];
  if (o.binding !== null) out.push(channelBindingFeature([o.binding.type]));
  return out;
}

/**
 * Authenticate a client: offer the mechanisms, run exchanges until one
 * succeeds (or the attempts run out), send `<success/>` and restart the
 * stream.
 *
 * @example A server's login step
 * ```ts
 * import type { XmlStream } from "../stream/xml_stream.ts";
 * import { MemoryCredentialStore } from "./credentials.ts";
 * import { acceptAuth } from "./negotiate.ts";
 *
 * const store = new MemoryCredentialStore();
 * await store.setPassword("alice", "secret");
 *
 * export async function login(xs: XmlStream) {
 *   const { stream, username } = await acceptAuth(xs, { store });
 *   console.log(`${username} logged in`);
 *   return stream; // send it the <bind/> features next
 * }
 * ```
 *
 * @param xs The stream (secure, for PLAIN), before any features were sent
 * unless `sendFeatures` is `false`.
 * @param options Store, mechanisms, channel binding, limits.
 * @returns The restarted stream and who logged in.
 * @throws {StreamError} `policy-violation` after `maxAttempts` failures,
 * `not-authorized` when the client sends anything but SASL (both sent to
 * the client, and the stream closed); or what the stream throws.
 * @throws {SaslError} Before anything is sent, when no mechanism can be
 * offered on this connection.
 * @throws {TypeError} For malformed options.
 */
export async function acceptAuth(
  xs: XmlStream,
  options: AcceptAuthOptions,
): Promise<AcceptAuthResult> {
  const o = await offer(xs.info, options);
  const features = featuresOf(o);
  const maxAttempts = positiveInteger(options.maxAttempts ?? 3, "maxAttempts");
  const maxLength = positiveInteger(
    options.maxResponseLength ?? 16384,
    "maxResponseLength",
  );
  if (options.sendFeatures ?? true) {
    await xs.sendFeatures([...features, ...(options.extraFeatures ?? [])]);
  }
  const domain = xs.header.from?.toLowerCase();
  const authorize = options.authorize ??
    ((id: Identity) =>
      id.authzid === undefined || id.authzid === id.username ||
      (domain !== undefined &&
        id.authzid.toLowerCase() === `${id.username}@${domain}`));
  const plusOffered = o.mechanisms.some((m) => m.endsWith("-PLUS"));

  let attempts = 0;
  let mech: ServerMechanism | null = null;
  const fail = async (condition: SaslFailureCondition, text?: string) => {
    mech = null;
    const children = [new Element(condition, SASL_NS)];
    if (text) {
      children.push(new Element("text", SASL_NS, { "xml:lang": "en" }, [text]));
    }
    await xs.send(new Element("failure", SASL_NS, {}, children));
    if (++attempts >= maxAttempts) {
      const msg = `${attempts} failed authentication attempts`;
      await xs.sendError("policy-violation", { text: msg });
      throw new StreamError("policy-violation", msg);
    }
  };

  let first = options.first;
  for (;;) {
    const el = first ?? await xs.read({ signal: options.signal });
    first = undefined;
    if (el === null) {
      await xs.close();
      throw new StreamError(
        "connection-timeout",
        "the client closed the stream before authenticating",
        { origin: "remote" },
      );
    }
    if (el.ns !== SASL_NS) {
      const text = `<${el.name}/> before authentication (RFC 6120 §6.4)`;
      await xs.sendError("not-authorized", { text });
      throw new StreamError("not-authorized", text);
    }
    let step: ServerStep;
    try {
      if (el.name === "auth") {
        if (mech !== null) {
          throw new SaslError(
            "malformed-request",
            "<auth/> during an exchange",
          );
        }
        const name = el.attrs.mechanism ?? "";
        if (!(o.mechanisms as string[]).includes(name)) {
          throw name === "PLAIN" && o.plainRefused
            ? new SaslError(
              "encryption-required",
              "PLAIN needs a secure stream",
            )
            : new SaslError(
              "invalid-mechanism",
              `${name.slice(0, 20) || "(none)"} is not offered`,
            );
        }
        const data = readData(el, maxLength, true);
        mech = serverMechanism(name as MechanismName, options.store, o, {
          authorize,
          plusOffered,
        });
        step = await mech.step(data);
      } else if (el.name === "response") {
        if (mech === null) {
          throw new SaslError(
            "malformed-request",
            "<response/> without <auth/>",
          );
        }
        step = await mech.step(readData(el, maxLength, false));
      } else if (el.name === "abort") {
        throw new SaslError("aborted");
      } else {
        throw new SaslError("malformed-request", `unexpected <${el.name}/>`);
      }
    } catch (e) {
      if (!(e instanceof SaslError)) throw e;
      await fail(e.condition, e.text);
      continue;
    }
    if ("challenge" in step) {
      await xs.send(
        new Element(
          "challenge",
          SASL_NS,
          {},
          dataChildren(step.challenge, false),
        ),
      );
    } else if ("failure" in step) {
      await fail(step.failure, step.text);
    } else {
      await xs.send(
        new Element(
          "success",
          SASL_NS,
          {},
          dataChildren(step.additionalData, true),
        ),
      );
      const name = (mech as ServerMechanism | null)!.name as MechanismName;
      const stream = await xs.restart(undefined, { signal: options.signal });
      const result: AcceptAuthResult = {
        stream,
        username: step.success.username,
        mechanism: name,
      };
      if (step.success.authzid !== undefined) {
        result.authzid = step.success.authzid;
      }
      return result;
    }
  }
}

function serverMechanism(
  name: MechanismName,
  store: CredentialStore,
  o: Offer,
  policy: {
    authorize: (identity: Identity) => boolean | Promise<boolean>;
    plusOffered: boolean;
  },
): ServerMechanism {
  if (name === "PLAIN") {
    return new PlainServer({ store, authorize: policy.authorize });
  }
  if (name === "EXTERNAL") {
    return new ExternalServer({
      identity: o.identity,
      authorize: policy.authorize,
    });
  }
  const plus = name.endsWith("-PLUS");
  return new ScramServer(
    name.startsWith("SCRAM-SHA-256") ? "SHA-256" : "SHA-1",
    {
      store,
      plus,
      binding: o.binding,
      plusOffered: policy.plusOffered,
      authorize: policy.authorize,
    },
  );
}

// ---------------------------------------------------------------------------

function checkMechanismList(list: readonly string[]): MechanismName[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError("mechanisms must be a non-empty list");
  }
  for (const m of list) {
    if (!isMechanismName(m)) {
      throw new TypeError(
        `unknown mechanism ${
          JSON.stringify(m)
        }; known: SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, EXTERNAL`,
      );
    }
  }
  return [...new Set(list)] as MechanismName[];
}

function positiveInteger(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${what} must be a positive integer, got ${n}`);
  }
  return n;
}
