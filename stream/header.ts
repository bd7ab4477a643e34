/**
 * XMPP stream headers (RFC 6120 §4.7): writing the opening
 * `<stream:stream>` tag and checking the one the peer sent.
 *
 * @module
 */

import type { Element } from "./element.ts";
import { StreamError } from "./stream_error.ts";
import { escapeAttr } from "./writer.ts";

/** The stream namespace, bound to the `stream` prefix. */
export const STREAMS_NS = "http://etherx.jabber.org/streams";
/** The content namespace of client-to-server streams. */
export const CLIENT_NS = "jabber:client";
/** The content namespace of server-to-server streams. */
export const SERVER_NS = "jabber:server";

/** The attributes of a stream header. */
export interface StreamHeader {
  /** The content namespace: `jabber:client` or `jabber:server`. */
  ns: string;
  /** The `to` attribute. */
  to?: string;
  /** The `from` attribute. */
  from?: string;
  /** The stream id (set by the receiving entity). */
  id?: string;
  /** The `version` attribute; `"1.0"` for every stream this toolkit opens. */
  version?: string;
  /** The `xml:lang` attribute. */
  lang?: string;
}

/**
 * The opening tag of a stream, with the XML declaration.
 *
 * @example
 * ```ts
 * import { openingTag } from "./header.ts";
 * console.log(openingTag({ ns: "jabber:client", to: "example.org", version: "1.0" }));
 * // <?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="example.org" version="1.0">
 * ```
 *
 * @param header The header's attributes.
 * @returns The XML text to send.
 */
export function openingTag(header: StreamHeader): string {
  let out = `<?xml version='1.0'?><stream:stream xmlns="${
    escapeAttr(header.ns)
  }" xmlns:stream="${STREAMS_NS}"`;
  if (header.to !== undefined) out += ` to="${escapeAttr(header.to)}"`;
  if (header.from !== undefined) out += ` from="${escapeAttr(header.from)}"`;
  if (header.id !== undefined) out += ` id="${escapeAttr(header.id)}"`;
  if (header.version !== undefined) {
    out += ` version="${escapeAttr(header.version)}"`;
  }
  if (header.lang !== undefined) {
    out += ` xml:lang="${escapeAttr(header.lang)}"`;
  }
  return out + ">";
}

/** The closing tag of a stream. */
export const CLOSING_TAG = "</stream:stream>";

/**
 * Check a received stream header and read its attributes.
 *
 * @example
 * ```ts
 * import { Element } from "./element.ts";
 * import { readHeader } from "./header.ts";
 *
 * const root = new Element("stream", "http://etherx.jabber.org/streams", { version: "1.0", from: "example.org", id: "x1" });
 * console.log(readHeader(root, { "": "jabber:client" }, "jabber:client").id); // "x1"
 * ```
 *
 * @param root The root element from the parser's `open` event.
 * @param namespaces The namespace declarations on it.
 * @param expectedNs The content namespace this side expects.
 * @returns The header.
 * @throws {StreamError} `invalid-namespace` for a wrong stream or content
 * namespace, `unsupported-version` for a version other than 1.x.
 */
export function readHeader(
  root: Element,
  namespaces: Record<string, string>,
  expectedNs: string,
): StreamHeader {
  if (root.name !== "stream" || root.ns !== STREAMS_NS) {
    throw new StreamError(
      "invalid-namespace",
      `expected <stream> in ${STREAMS_NS}, got <${root.name}> in ${
        root.ns || "no namespace"
      }`,
    );
  }
  const contentNs = namespaces[""];
  if (contentNs !== expectedNs) {
    throw new StreamError(
      "invalid-namespace",
      `expected content namespace ${expectedNs}, got ${contentNs ?? "none"}`,
    );
  }
  const version = root.attrs.version;
  const m = version === undefined ? null : /^(\d+)\.(\d+)$/.exec(version);
  if (m === null || Number(m[1]) !== 1) {
    throw new StreamError(
      "unsupported-version",
      `stream version ${
        version ?? "(none, pre-1.0)"
      } is not supported; this toolkit speaks 1.0`,
    );
  }
  return {
    ns: contentNs,
    to: root.attrs.to,
    from: root.attrs.from,
    id: root.attrs.id,
    version,
    lang: root.attrs["xml:lang"],
  };
}
