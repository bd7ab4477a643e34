/**
 * A small, namespace-resolved XML element: the unit the parser produces and
 * the writer consumes.
 *
 * Names are resolved, never prefixed: an element has a local `name` and the
 * namespace URI `ns` it belongs to. Attribute keys are:
 * - the local name for attributes in no namespace (`to`, `type`, `id`);
 * - `xml:`-prefixed for the XML namespace (`xml:lang`);
 * - `{uri}local` (James Clark notation) for any other namespace.
 *
 * Namespace declarations (`xmlns`, `xmlns:p`) are not attributes: the writer
 * emits whatever declarations the resolved names need.
 *
 * @module
 */

/** The XML namespace bound to the `xml` prefix. */
export const XML_NS = "http://www.w3.org/XML/1998/namespace";

/** A child of an element: another element or a run of text. */
export type Node = Element | string;

/**
 * A namespace-resolved XML element.
 *
 * @example Building and querying an element
 * ```ts
 * import { Element } from "./element.ts";
 *
 * const msg = new Element("message", "jabber:client", { to: "bob@example.org" }, [
 *   new Element("body", "jabber:client", {}, ["hi"]),
 * ]);
 * console.log(msg.getChild("body")?.text); // "hi"
 * ```
 */
export class Element {
  /** Local name, without prefix. */
  name: string;
  /** Namespace URI (`""` for no namespace). */
  ns: string;
  /** Attributes; see the module docs for how keys are formed. */
  attrs: Record<string, string>;
  /** Child elements and text, in document order. */
  children: Node[];

  /**
   * Make an element.
   *
   * @param name Local name.
   * @param ns Namespace URI.
   * @param attrs Attributes (no `xmlns` declarations).
   * @param children Child elements and text.
   */
  constructor(
    name: string,
    ns: string,
    attrs: Record<string, string> = {},
    children: Node[] = [],
  ) {
    this.name = name;
    this.ns = ns;
    this.attrs = attrs;
    this.children = children;
  }

  /**
   * The concatenated direct text children (not descendants).
   *
   * @example
   * ```ts
   * import { Element } from "./element.ts";
   * console.log(new Element("body", "jabber:client", {}, ["a", "b"]).text); // "ab"
   * ```
   */
  get text(): string {
    let out = "";
    for (const c of this.children) if (typeof c === "string") out += c;
    return out;
  }

  /**
   * The child elements, without text.
   *
   * @example
   * ```ts
   * import { Element } from "./element.ts";
   * const e = new Element("a", "x", {}, ["t", new Element("b", "x")]);
   * console.log(e.elements.length); // 1
   * ```
   */
  get elements(): Element[] {
    const out: Element[] = [];
    for (const c of this.children) if (typeof c !== "string") out.push(c);
    return out;
  }

  /**
   * The first child element with this name, in `ns` if given, else in this
   * element's own namespace.
   *
   * @example
   * ```ts
   * import { Element } from "./element.ts";
   * const f = new Element("features", "http://etherx.jabber.org/streams", {}, [
   *   new Element("starttls", "urn:ietf:params:xml:ns:xmpp-tls"),
   * ]);
   * console.log(f.getChild("starttls", "urn:ietf:params:xml:ns:xmpp-tls") !== undefined); // true
   * ```
   *
   * @param name Local name to find.
   * @param ns Namespace to match; defaults to this element's namespace.
   * @returns The child, or `undefined`.
   */
  getChild(name: string, ns: string = this.ns): Element | undefined {
    for (const c of this.children) {
      if (typeof c !== "string" && c.name === name && c.ns === ns) return c;
    }
    return undefined;
  }

  /**
   * Every child element with this name (and namespace, default this
   * element's).
   *
   * @example
   * ```ts
   * import { Element } from "./element.ts";
   * const q = new Element("query", "jabber:iq:roster", {}, [
   *   new Element("item", "jabber:iq:roster", { jid: "a@b" }),
   *   new Element("item", "jabber:iq:roster", { jid: "c@d" }),
   * ]);
   * console.log(q.getChildren("item").length); // 2
   * ```
   *
   * @param name Local name to find.
   * @param ns Namespace to match; defaults to this element's namespace.
   * @returns The matching children, possibly none.
   */
  getChildren(name: string, ns: string = this.ns): Element[] {
    const out: Element[] = [];
    for (const c of this.children) {
      if (typeof c !== "string" && c.name === name && c.ns === ns) out.push(c);
    }
    return out;
  }

  /**
   * Whether this element has the given name and namespace.
   *
   * @example
   * ```ts
   * import { Element } from "./element.ts";
   * console.log(new Element("proceed", "urn:ietf:params:xml:ns:xmpp-tls").is("proceed", "urn:ietf:params:xml:ns:xmpp-tls")); // true
   * ```
   *
   * @param name Local name.
   * @param ns Namespace URI; when omitted only the name is compared.
   * @returns `true` on a match.
   */
  is(name: string, ns?: string): boolean {
    return this.name === name && (ns === undefined || this.ns === ns);
  }
}
