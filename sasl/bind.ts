/**
 * Resource binding (RFC 6120 §7), both sides: after SASL and the stream
 * restart, the client asks for a resource (or lets the server pick one)
 * and learns its full JID.
 *
 * - {@linkcode bind} (client): sends the bind request, returns the full
 *   JID the server assigned.
 * - {@linkcode acceptBind} (server): offers `<bind/>`, answers one bind
 *   request with a full JID; a requested resource is checked (length,
 *   characters) and can be overridden; a conflict with an existing session
 *   is decided by a callback; a random resource is generated when none is
 *   requested.
 *
 * Resources are prepared as a simplified RFC 7622 OpaqueString: non-ASCII
 * spaces mapped to U+0020, NFC, then control characters, unassigned code
 * points and lone surrogates refused, 1 to 1023 bytes of UTF-8.
 *
 * @module
 */

import { Element } from "../stream/element.ts";
import { StreamError } from "../stream/stream_error.ts";
import type { XmlStream } from "../stream/xml_stream.ts";

/** The resource binding namespace. */
export const BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind";
/** The stanza error namespace (RFC 6120 §8.3). */
export const STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** The longest resourcepart and localpart (RFC 7622 §3), in bytes. */
const MAX_PART = 1023;
const encoder = new TextEncoder();

/**
 * The `<bind/>` stream feature.
 *
 * @example
 * ```ts
 * import { bindFeature } from "./bind.ts";
 * import { serialize } from "../stream/writer.ts";
 * console.log(serialize(bindFeature())); // <bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/>
 * ```
 *
 * @returns The feature element.
 */
export function bindFeature(): Element {
  return new Element("bind", BIND_NS);
}

/**
 * A bind request the server refused (an `<iq type='error'/>`), or a bind
 * result this side could not use.
 *
 * @example
 * ```ts
 * import { BindError } from "./bind.ts";
 * const e = new BindError("conflict", "resource in use", { origin: "remote" });
 * console.log(e.condition, e.origin); // "conflict" "remote"
 * ```
 */
export class BindError extends Error {
  /** The stanza error condition, such as `conflict` or `bad-request`. */
  readonly condition: string;
  /** `"remote"` for an error the server sent, `"local"` for ours. */
  readonly origin: "local" | "remote";
  /** The error's `<text/>`, if any. */
  readonly text?: string;

  /**
   * Make a bind error.
   *
   * @param condition The stanza error condition.
   * @param message What went wrong.
   * @param options Origin and the peer's text.
   */
  constructor(
    condition: string,
    message?: string,
    options: { origin?: "local" | "remote"; text?: string } = {},
  ) {
    const origin = options.origin ?? "local";
    const detail = message ?? options.text;
    super(
      `${
        origin === "remote" ? "the server refused to bind" : "binding failed"
      } <${condition}/>${detail ? `: ${detail}` : ""}`,
    );
    this.name = "BindError";
    this.condition = condition;
    this.origin = origin;
    this.text = options.text;
  }
}

/**
 * Prepare a resourcepart (simplified RFC 7622 OpaqueString; see the module
 * documentation).
 *
 * @example
 * ```ts
 * import { prepareResource } from "./bind.ts";
 * console.log(prepareResource("laptop\u00A0one")); // "laptop one"
 * console.log(prepareResource("\u0065\u0301")); // "\u00E9" (NFC)
 * ```
 *
 * @param resource The resource.
 * @param maxBytes The longest allowed, in bytes of UTF-8.
 * @returns The prepared resource.
 * @throws {TypeError} If it is empty, too long, or holds a control
 * character, an unassigned code point or a lone surrogate.
 */
export function prepareResource(
  resource: string,
  maxBytes: number = MAX_PART,
): string {
  if (typeof resource !== "string") {
    throw new TypeError("resource must be a string");
  }
  if (/\p{Cs}/u.test(resource)) {
    throw new TypeError("resource holds a lone surrogate");
  }
  const out = resource
    .replace(/[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g, " ")
    .normalize("NFC");
  if (out.length === 0) throw new TypeError("resource must not be empty");
  const bad = /[\p{Cc}\p{Cn}]/u.exec(out);
  if (bad) {
    throw new TypeError(
      `resource holds a forbidden character (U+${
        bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
      })`,
    );
  }
  if (encoder.encode(out).length > maxBytes) {
    throw new TypeError(`resource is longer than ${maxBytes} bytes`);
  }
  return out;
}

/** Options for {@linkcode bind}. */
export interface BindOptions {
  /**
   * The resource to ask for. The server may assign another one.
   *
   * @default {none: the server picks one}
   */
  resource?: string;
  /** Abort waiting for the answer. The stream is then in an unknown state. */
  signal?: AbortSignal;
}

/**
 * Bind a resource: send the request and return the full JID the server
 * assigned.
 *
 * @example
 * ```ts
 * import type { XmlStream } from "../stream/xml_stream.ts";
 * import { bind } from "./bind.ts";
 *
 * export async function online(xs: XmlStream) {
 *   const jid = await bind(xs, { resource: "laptop" });
 *   console.log(`bound as ${jid}`); // alice@example.org/laptop
 *   return jid;
 * }
 * ```
 *
 * @param xs An authenticated stream whose features offered `<bind/>`.
 * @param options The resource to ask for; an abort signal.
 * @returns The full JID.
 * @throws {BindError} When the server answers with an error (origin
 * `"remote"`, its condition, such as `conflict` or `bad-request`), or
 * with a result without a usable JID (origin `"local"`).
 * @throws {StreamError} When the server sends a stream error, closes the
 * stream, or sends something other than the answer (`bad-format`).
 * @throws {TypeError} If the resource is not valid.
 */
export async function bind(
  xs: XmlStream,
  options: BindOptions = {},
): Promise<string> {
  const resource = options.resource === undefined
    ? undefined
    : prepareResource(options.resource);
  const id = `bind-${crypto.randomUUID()}`;
  const ns = xs.header.ns;
  await xs.send(
    new Element("iq", ns, { type: "set", id }, [
      new Element(
        "bind",
        BIND_NS,
        {},
        resource === undefined
          ? []
          : [new Element("resource", BIND_NS, {}, [resource])],
      ),
    ]),
  );
  const el = await xs.read({ signal: options.signal });
  if (el === null) {
    await xs.close();
    throw new StreamError(
      "connection-timeout",
      "the server closed the stream instead of binding a resource",
      { origin: "remote" },
    );
  }
  if (el.name !== "iq" || el.ns !== ns || el.attrs.id !== id) {
    const text =
      `expected the answer to the bind request, got <${el.name}> in ${el.ns}`;
    await xs.sendError("bad-format", { text });
    throw new StreamError("bad-format", text);
  }
  if (el.attrs.type === "error") {
    const { condition, text } = stanzaError(el);
    throw new BindError(condition, undefined, { origin: "remote", text });
  }
  if (el.attrs.type !== "result") {
    const text = `bind answer of type ${JSON.stringify(el.attrs.type)}`;
    await xs.sendError("bad-format", { text });
    throw new StreamError("bad-format", text);
  }
  const jid = el.getChild("bind", BIND_NS)?.getChild("jid", BIND_NS)?.text;
  if (jid === undefined || !isFullJid(jid)) {
    throw new BindError(
      "undefined-condition",
      `the server's bind result holds no valid full JID: ${
        JSON.stringify(jid?.slice(0, 100))
      }`,
    );
  }
  return jid;
}

/** `local@domain/resource` within RFC 7622's lengths. */
function isFullJid(jid: string): boolean {
  const slash = jid.indexOf("/");
  if (slash <= 0) return false;
  const bare = jid.slice(0, slash);
  const at = bare.indexOf("@");
  const local = at < 0 ? "" : bare.slice(0, at);
  const domain = bare.slice(at + 1);
  const res = jid.slice(slash + 1);
  const bytes = (s: string) => encoder.encode(s).length;
  return domain.length > 0 && bytes(domain) <= MAX_PART &&
    (at < 0 || (local.length > 0 && bytes(local) <= MAX_PART)) &&
    res.length > 0 && bytes(res) <= MAX_PART && !/[\p{Cc}]/u.test(jid) &&
    !/[\s@/]/.test(domain);
}

function stanzaError(iq: Element): { condition: string; text?: string } {
  const error = iq.getChild("error", iq.ns);
  let condition = "undefined-condition";
  let text: string | undefined;
  for (const c of error?.elements ?? []) {
    if (c.ns !== STANZAS_NS) continue;
    if (c.name === "text") text = c.text.slice(0, 1024);
    else condition = c.name.slice(0, 64);
  }
  return { condition, text };
}

/** What {@linkcode AcceptBindOptions.conflict} decides. */
export type ConflictDecision = "accept" | "refuse" | "rename";

/** Options for {@linkcode acceptBind}. */
export interface AcceptBindOptions {
  /** The domain of the JID. */
  domain: string;
  /** The authenticated user name, the localpart of the JID. */
  username: string;
  /**
   * `"client"`: use the resource the client asks for (when valid);
   * `"server"`: always assign a random one (RFC 6120 §7.6.2.2 lets the
   * server override).
   *
   * @default {"client"}
   */
  resourcePolicy?: "client" | "server";
  /**
   * Called with the full JID about to be bound: `"accept"` binds it (the
   * caller ends any older session with that JID, RFC 6120 §7.7.2.2),
   * `"refuse"` answers `<conflict/>` (the client may retry), `"rename"`
   * assigns a random resource instead.
   *
   * @default {() => "accept"}
   */
  conflict?: (
    fullJid: string,
  ) => ConflictDecision | Promise<ConflictDecision>;
  /**
   * The longest resource accepted from the client, in bytes (at most 1023).
   *
   * @default {1023}
   */
  maxResourceLength?: number;
  /**
   * Refused bind requests allowed; the last one is followed by a
   * `policy-violation` stream error.
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * Send `<stream:features/>` with `<bind/>` (and `extraFeatures`) first.
   *
   * @default {true}
   */
  sendFeatures?: boolean;
  /**
   * The client's first bind request, when the caller already read it (as the
   * stream-feature negotiation loop does); it is handled before reading on.
   */
  first?: Element;
  /**
   * More features to send with `<bind/>`.
   *
   * @default {[]}
   */
  extraFeatures?: Element[];
  /** Abort waiting for the client. The stream is then in an unknown state. */
  signal?: AbortSignal;
}

/**
 * Answer the client's bind request with a full JID.
 *
 * @example
 * ```ts
 * import type { XmlStream } from "../stream/xml_stream.ts";
 * import { acceptBind } from "./bind.ts";
 *
 * const sessions = new Set<string>();
 * export async function bindSession(xs: XmlStream, username: string) {
 *   const jid = await acceptBind(xs, {
 *     domain: "example.org",
 *     username,
 *     conflict: (full) => sessions.has(full) ? "rename" : "accept",
 *   });
 *   sessions.add(jid);
 *   return jid;
 * }
 * ```
 *
 * @param xs The authenticated (restarted) stream.
 * @param options Domain, user, resource policy, conflicts, limits.
 * @returns The full JID bound.
 * @throws {StreamError} `not-authorized` when the client sends anything
 * but a bind request, `policy-violation` after `maxAttempts` refusals (both
 * sent to the client, and the stream closed); or what the stream throws.
 * @throws {TypeError} For a malformed domain or user name.
 * @throws {RangeError} For malformed limits.
 */
export async function acceptBind(
  xs: XmlStream,
  options: AcceptBindOptions,
): Promise<string> {
  const { domain, username } = options ?? {};
  if (typeof domain !== "string" || !domain || /[\s@/]/.test(domain)) {
    throw new TypeError("domain must be a non-empty domain name");
  }
  if (
    typeof username !== "string" || !username || /[\s@/"&'<>:]/.test(username)
  ) {
    throw new TypeError("username must be a valid JID localpart");
  }
  const maxLength = options.maxResourceLength ?? MAX_PART;
  if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_PART) {
    throw new RangeError(
      `maxResourceLength must be an integer from 1 to ${MAX_PART}, got ${maxLength}`,
    );
  }
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(
      `maxAttempts must be a positive integer, got ${maxAttempts}`,
    );
  }
  if (options.sendFeatures ?? true) {
    await xs.sendFeatures([bindFeature(), ...(options.extraFeatures ?? [])]);
  }
  const ns = xs.header.ns;
  const conflict = options.conflict ?? (() => "accept" as const);
  let attempts = 0;
  const refuse = async (
    iq: Element,
    type: string,
    condition: string,
    text: string,
  ) => {
    await xs.send(
      new Element("iq", ns, { type: "error", id: iq.attrs.id }, [
        new Element("error", ns, { type }, [
          new Element(condition, STANZAS_NS),
          new Element("text", STANZAS_NS, { "xml:lang": "en" }, [text]),
        ]),
      ]),
    );
    if (++attempts >= maxAttempts) {
      const msg = `${attempts} refused bind requests`;
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
        "the client closed the stream before binding a resource",
        { origin: "remote" },
      );
    }
    const request = el.name === "iq" && el.ns === ns
      ? el.getChild("bind", BIND_NS)
      : undefined;
    if (request === undefined || typeof el.attrs.id !== "string") {
      const text = `<${el.name}/> before resource binding`;
      await xs.sendError("not-authorized", { text });
      throw new StreamError("not-authorized", text);
    }
    if (el.attrs.type !== "set") {
      await refuse(el, "modify", "bad-request", "bind with type='set'");
      continue;
    }
    const requested = request.getChild("resource", BIND_NS);
    let resource: string | null = null;
    if (requested !== undefined && options.resourcePolicy !== "server") {
      try {
        resource = prepareResource(requested.text, maxLength);
      } catch (e) {
        await refuse(el, "modify", "bad-request", (e as Error).message);
        continue;
      }
    }
    let jid = `${username}@${domain}/${resource ?? randomResource()}`;
    let decision = await conflict(jid);
    for (let i = 0; decision === "rename" && i < 4; i++) {
      jid = `${username}@${domain}/${randomResource()}`;
      decision = await conflict(jid);
    }
    if (decision !== "accept") {
      await refuse(el, "cancel", "conflict", "that resource is in use");
      continue;
    }
    await xs.send(
      new Element("iq", ns, { type: "result", id: el.attrs.id }, [
        new Element("bind", BIND_NS, {}, [
          new Element("jid", BIND_NS, {}, [jid]),
        ]),
      ]),
    );
    return jid;
  }
}

/** 16 characters of base64url: 96 random bits. */
function randomResource(): string {
  return crypto.getRandomValues(new Uint8Array(12)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}
