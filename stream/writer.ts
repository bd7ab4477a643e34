/**
 * Serializing elements to XMPP's restricted XML, escaping correctly.
 *
 * The writer emits whatever namespace declarations the element's resolved
 * names need, given the namespace context it is written into (for a stanza
 * inside a client stream, the default namespace `jabber:client` and the
 * `stream` prefix). It refuses what cannot be represented: invalid names and
 * characters XML 1.0 forbids.
 *
 * @module
 */

import { type Element, XML_NS } from "./element.ts";

/** The namespace context an element is written into. */
export interface SerializeOptions {
  /**
   * The default namespace in scope where the element is written.
   *
   * @default {""}
   */
  ns?: string;
  /**
   * Prefixes already declared where the element is written, namespace URI to
   * prefix (for example the stream namespace to `"stream"`).
   *
   * @default {{}}
   */
  prefixes?: Record<string, string>;
}

const NCNAME_START =
  "A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}";
const NCNAME_RE = new RegExp(
  `^[${NCNAME_START}][${NCNAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]*$`,
  "u",
);
const FORBIDDEN =
  // deno-lint-ignore no-control-regex -- finding control characters is the point
  /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const TEXT_ESCAPE = /[&<>\r]/;
const ATTR_ESCAPE = /[&<>"\t\n\r]/;

const validNames = new Set<string>();

function checkName(name: string, what: string): void {
  if (validNames.has(name)) return;
  if (!NCNAME_RE.test(name)) {
    throw new TypeError(`invalid XML ${what} name: ${JSON.stringify(name)}`);
  }
  if (validNames.size < 4096) validNames.add(name);
}

function checkChars(s: string): void {
  if (FORBIDDEN.test(s)) {
    throw new TypeError(
      "text holds a character XML 1.0 cannot represent (a control character, U+FFFE/U+FFFF or a lone surrogate)",
    );
  }
}

/**
 * Escape text content: `&`, `<`, `>` and `\r` (so it survives line-end
 * normalization).
 *
 * @example
 * ```ts
 * import { escapeText } from "./writer.ts";
 * console.log(escapeText("a < b & c")); // "a &lt; b &amp; c"
 * ```
 *
 * @param s The text.
 * @returns The escaped text.
 * @throws {TypeError} If `s` holds a character XML cannot represent.
 */
export function escapeText(s: string): string {
  checkChars(s);
  if (!TEXT_ESCAPE.test(s)) return s;
  return s.replace(
    /[&<>\r]/g,
    (c) =>
      c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&#13;",
  );
}

/**
 * Escape an attribute value for double quotes. Tabs and line ends become
 * character references so attribute normalization keeps them.
 *
 * @example
 * ```ts
 * import { escapeAttr } from "./writer.ts";
 * console.log(escapeAttr(`say "hi"`)); // "say &quot;hi&quot;"
 * ```
 *
 * @param s The value.
 * @returns The escaped value.
 * @throws {TypeError} If `s` holds a character XML cannot represent.
 */
export function escapeAttr(s: string): string {
  checkChars(s);
  if (!ATTR_ESCAPE.test(s)) return s;
  return s.replace(/[&<>"\t\n\r]/g, (c) => ATTR_REFS[c]);
}

const ATTR_REFS: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/**
 * Serialize an element (and its subtree) to a string.
 *
 * @example A stanza written into a client stream
 * ```ts
 * import { Element } from "./element.ts";
 * import { serialize } from "./writer.ts";
 *
 * const msg = new Element("message", "jabber:client", { to: "bob@example.org", "xml:lang": "en" }, [
 *   new Element("body", "jabber:client", {}, ["1 < 2"]),
 *   new Element("active", "http://jabber.org/protocol/chatstates"),
 * ]);
 * console.log(serialize(msg, { ns: "jabber:client" }));
 * // <message to="bob@example.org" xml:lang="en"><body>1 &lt; 2</body><active xmlns="http://jabber.org/protocol/chatstates"/></message>
 * ```
 *
 * @param el The element.
 * @param options The namespace context; see {@linkcode SerializeOptions}.
 * @returns The XML text.
 * @throws {TypeError} On an invalid name or a character XML cannot represent.
 */
export function serialize(el: Element, options: SerializeOptions = {}): string {
  return write(el, options.ns ?? "", options.prefixes ?? {});
}

function write(
  el: Element,
  defaultNs: string,
  prefixes: Record<string, string>,
): string {
  checkName(el.name, "element");
  let tag: string;
  let decls = "";
  let childNs = defaultNs;
  const prefix = el.ns === defaultNs ? undefined : prefixes[el.ns];
  if (prefix !== undefined) {
    tag = prefix + ":" + el.name;
  } else {
    tag = el.name;
    if (el.ns !== defaultNs) {
      decls = ` xmlns="${escapeAttr(el.ns)}"`;
      childNs = el.ns;
    }
  }
  let out = "<" + tag + decls;
  let scope = prefixes;
  let generated = 0;
  for (const key in el.attrs) {
    const value = el.attrs[key];
    if (typeof value !== "string") {
      throw new TypeError(`attribute ${key} of <${el.name}> must be a string`);
    }
    let name: string;
    if (key.charCodeAt(0) === 0x7b /* { */) {
      const close = key.indexOf("}");
      const uri = close > 1 ? key.slice(1, close) : "";
      const local = key.slice(close + 1);
      if (close < 0 || uri === "") {
        throw new TypeError(
          `attribute key ${JSON.stringify(key)} must be {namespace}local`,
        );
      }
      checkName(local, "attribute");
      if (uri === XML_NS) {
        name = "xml:" + local;
      } else {
        let p = scope[uri];
        if (p === undefined) {
          do p = "ns" + generated++; while (Object.values(scope).includes(p));
          if (scope === prefixes) scope = { ...prefixes };
          scope[uri] = p;
          out += ` xmlns:${p}="${escapeAttr(uri)}"`;
        }
        name = p + ":" + local;
      }
    } else if (key.startsWith("xml:")) {
      checkName(key.slice(4), "attribute");
      name = key;
    } else {
      if (key === "xmlns" || key.startsWith("xmlns:")) {
        throw new TypeError(
          "namespace declarations are not attributes: set the element's ns instead",
        );
      }
      checkName(key, "attribute");
      name = key;
    }
    out += " " + name + '="' + escapeAttr(value) + '"';
  }
  const children = el.children;
  if (children.length === 0) return out + "/>";
  out += ">";
  for (const child of children) {
    out += typeof child === "string"
      ? escapeText(child)
      : write(child, childNs, scope);
  }
  return out + "</" + tag + ">";
}
