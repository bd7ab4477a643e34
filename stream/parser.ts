/**
 * A strict, streaming, namespace-aware parser for XMPP's restricted XML
 * (RFC 6120 §11).
 *
 * Feed it bytes in any chunking; it yields the stream's root start tag, each
 * complete child of the root (a stanza or other top-level element, with its
 * whole subtree), text directly inside the root, and the root's end tag.
 *
 * What it refuses, and with which {@linkcode StreamError} condition:
 * - `restricted-xml`: comments, processing instructions (other than a leading
 *   XML declaration), DTDs, and entity references other than the five
 *   predefined ones and character references;
 * - `unsupported-encoding`: bytes that are not UTF-8, or an XML declaration
 *   naming another encoding;
 * - `not-well-formed`: anything else XML 1.0 or Namespaces in XML 1.0 forbid
 *   (bad names, unbound prefixes, duplicate attributes, characters XML does
 *   not allow, mismatched tags, `]]>` in text, ...);
 * - `policy-violation`: a configured limit was exceeded.
 *
 * Memory stays bounded: no construct is buffered past `maxStanzaBytes`, and
 * the work per input byte is constant however the peer chunks its input.
 *
 * @module
 */

import { Element, XML_NS } from "./element.ts";
import { StreamError } from "./stream_error.ts";
import { Utf8Decoder } from "./_parser_utf8.ts";

/** The namespace bound to the `xmlns` prefix; never a real namespace. */
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

/** Limits that bound what a peer can make the parser hold. */
export interface ParserLimits {
  /**
   * The largest top-level element (stanza), in UTF-8 bytes, counted from its
   * `<` to the end of its end tag. Also bounds the stream header.
   *
   * @default {262144} (256 KiB, as ejabberd uses)
   */
  maxStanzaBytes?: number;
  /**
   * The deepest element nesting, counting the stream root as depth 1.
   *
   * @default {64}
   */
  maxDepth?: number;
  /**
   * The most attributes (namespace declarations included) on one element.
   *
   * @default {64}
   */
  maxAttributes?: number;
}

/** Options for {@linkcode XmlParser}. */
export type ParserOptions = ParserLimits;

/** One thing the parser found; see {@linkcode XmlParser.write}. */
export type ParseEvent =
  | {
    /** The root (stream header) start tag. */
    type: "open";
    /** The root element, with its attributes and no children. */
    element: Element;
    /** Namespace declarations on the root: prefix (`""` = default) to URI. */
    namespaces: Record<string, string>;
  }
  | {
    /** A complete child of the root, with its subtree. */
    type: "element";
    /** The element. */
    element: Element;
  }
  | {
    /** Text directly inside the root; may arrive split into pieces. */
    type: "text";
    /** The decoded text. */
    text: string;
  }
  | {
    /** The root's end tag. */
    type: "close";
  };

// Names (XML 1.0 fifth edition, production [4], [4a], [5]).
const NAME_START =
  ":A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}";
const NAME_CHAR = NAME_START + "\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040";
const WHOLE_NAME_RE = new RegExp(`^[${NAME_START}][${NAME_CHAR}]*$`, "u");
const ONLY_SPACE = /^[ \t\r\n]*$/;
const NON_ASCII_NAME_START = new RegExp(`^[${NAME_START}]$`, "u");
const NON_ASCII_NAME_CHAR = new RegExp(`^[${NAME_CHAR}]$`, "u");

/** ASCII name characters: 1 = may start a name, 2 = may continue one. */
const ASCII_NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[:A-Z_a-z]/.test(ch)) ASCII_NAME[c] = 1;
  else if (/[\-.0-9]/.test(ch)) ASCII_NAME[c] = 2;
}

/** `s.indexOf(search, from)`, or `s.length` when absent. */
function indexOrEnd(s: string, search: string, from: number): number {
  const i = s.indexOf(search, from);
  return i === -1 ? s.length : i;
}

/** Whether an attribute value `s[a, b)` holds anything beyond plain characters. */
function attrSpecial(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x26 || c === 0x3c || c >= 0xfffe) return true;
  }
  return false;
}

/** Where {@linkcode scanName} saw the first ':' of its name, or -1. */
let nameColon = -1;

/**
 * The end of the XML Name starting at `s[i]`: `i` itself if no name starts
 * there. A name running to the end of `s` may continue in the next chunk.
 */
function scanName(s: string, i: number): number {
  const len = s.length;
  let j = i;
  nameColon = -1;
  while (j < len) {
    const c = s.charCodeAt(j);
    if (c < 128) {
      const k = ASCII_NAME[c];
      if (k === 0 || (k === 2 && j === i)) break;
      if (c === 0x3a && nameColon === -1) nameColon = j;
      j++;
    } else {
      const cp = s.codePointAt(j)!;
      const ch = String.fromCodePoint(cp);
      if (!(j === i ? NON_ASCII_NAME_START : NON_ASCII_NAME_CHAR).test(ch)) {
        // A lone high surrogate at the end may pair with the next chunk.
        if (cp >= 0xd800 && cp <= 0xdbff && j + 1 === len) return len;
        break;
      }
      j += ch.length;
    }
  }
  return j;
}
const XML_DECL =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:'1\.[0-9]+'|"1\.[0-9]+")(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:'([A-Za-z][A-Za-z0-9._-]*)'|"([A-Za-z][A-Za-z0-9._-]*)"))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:'(?:yes|no)'|"(?:yes|no)"))?[ \t\r\n]*\?>$/;
/** A token ends at one of these; used to wait for more input cheaply. */
const NAME_END_CHARS = " \t\r\n=/>'\"<?";
/** Longest entity or character reference we wait for. */
const MAX_REF = 64;
/** Longest XML declaration we wait for. */
const MAX_DECL = 1024;

// Where the parser is between chunks.
const S_TEXT = 0; // content, prolog or epilog
const S_TAG = 1; // inside a start tag, see #tagState
const S_CDATA = 2; // inside a CDATA section

// Where inside a start tag.
const T_NAME = 0; // reading the element name
const T_SPACE = 1; // after the name or a value: S, '>', '/>' or (after S) a name
const T_ATTR = 2; // reading an attribute name
const T_EQ = 3; // after an attribute name: S, '='
const T_QUOTE = 4; // after '=': S, quote
const T_VALUE = 5; // inside a quoted value
const T_SLASH = 6; // after '/': '>'

// What a start tag's attributes need (see #openElement).
const K_PLAIN = 0; // names as written: none prefixed but xml:, no declarations
const K_DEFAULT = 1; // as K_PLAIN, plus one default namespace declaration
const K_GENERAL = 2; // anything else

interface Frame {
  /** The element. */
  el: Element;
  /** Its name as written, to match the end tag. */
  qname: string;
  /** The default namespace in scope inside it. */
  ns: string;
  /** Prefixes in scope inside it (`xml` is implicit), or null for none. */
  prefixes: Record<string, string> | null;
}

/**
 * Recently seen attribute names, as property keys: reusing one spares the
 * engine from hashing and looking up a fresh copy on every store.
 */
const NAME_CACHE: string[] = new Array(256).fill("");

/** The attribute name `s[a, b)`, from NAME_CACHE when it is there. */
function attrName(s: string, a: number, b: number): string {
  const len = b - a;
  if (len > 24) return s.slice(a, b);
  const h = (s.charCodeAt(a) * 7 + s.charCodeAt(b - 1) + len) & 255;
  const cached = NAME_CACHE[h];
  if (cached.length === len && s.startsWith(cached, a)) return cached;
  // Using the name as a key turns it into the engine's own copy (with no
  // prototype, `__proto__` is an ordinary key too).
  const o = Object.create(null) as Record<string, number>;
  o[s.slice(a, b)] = 0;
  return NAME_CACHE[h] = Object.keys(o)[0];
}

/** Whether an attribute name is a namespace declaration. */
function isDeclaration(name: string): boolean {
  return name.charCodeAt(0) === 0x78 && name.startsWith("xmlns") &&
    (name.length === 5 || name.charCodeAt(5) === 0x3a);
}

/** Whether `name`, with its first ':' at `colon`, is a valid `xml:` name. */
function isXmlAttr(name: string, colon: number): boolean {
  return colon === 3 && name.charCodeAt(0) === 0x78 &&
    name.charCodeAt(1) === 0x6d && name.charCodeAt(2) === 0x6c &&
    name.length > 4 && name.indexOf(":", 4) === -1 &&
    isNameStart(name.codePointAt(4)!);
}

/** Set an attribute, `__proto__` included, as an own property. */
function setAttr(attrs: Record<string, string>, key: string, value: string) {
  if (key === "__proto__") {
    Object.defineProperty(attrs, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    attrs[key] = value;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function hasAny(s: string, from: number, chars: string): boolean {
  for (let i = from; i < s.length; i++) {
    if (chars.includes(s[i])) return true;
  }
  return false;
}

/** Whether `b[from, to)` holds a C0 control character other than TAB, LF, CR. */
function controlIn(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
  }
  return false;
}

/**
 * Whether UTF-8 bytes hold a C0 control character XML forbids (all but TAB,
 * LF, CR). Such a byte never occurs inside a multi-byte sequence. Reads four
 * bytes at a time: `(x - 0x20202020) & ~x & 0x80808080` is nonzero exactly
 * when some byte of `x` is below 0x20; only then are its bytes looked at.
 */
function hasControl(b: Uint8Array): boolean {
  const len = b.length;
  if (len < 32) return controlIn(b, 0, len);
  const head = (4 - (b.byteOffset & 3)) & 3;
  if (controlIn(b, 0, head)) return true;
  const nw = (len - head) >> 2;
  const w = new Uint32Array(b.buffer, b.byteOffset + head, nw);
  let i = 0;
  for (; i + 4 <= nw; i += 4) {
    const x0 = w[i], x1 = w[i + 1], x2 = w[i + 2], x3 = w[i + 3];
    if (
      (((x0 - 0x20202020) & ~x0) | ((x1 - 0x20202020) & ~x1) |
        ((x2 - 0x20202020) & ~x2) | ((x3 - 0x20202020) & ~x3)) & 0x80808080
    ) {
      const at = head + i * 4;
      if (controlIn(b, at, at + 16)) return true;
    }
  }
  for (; i < nw; i++) {
    const x = w[i];
    if ((x - 0x20202020) & ~x & 0x80808080) {
      const at = head + i * 4;
      if (controlIn(b, at, at + 4)) return true;
    }
  }
  return controlIn(b, head + nw * 4, len);
}

/** UTF-8 length of `s[a, b)`. */
function utf8Length(s: string, a: number, b: number): number {
  let n = b - a;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c < 0x800 ? 1 : (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return n;
}

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff);
}

function malformed(message: string): StreamError {
  return new StreamError("not-well-formed", message);
}

/**
 * Decode the references in `raw` (which holds at least one `&`).
 * Every `&` must start a complete reference.
 */
function decodeRefs(raw: string): string {
  let out = "";
  let last = 0;
  let amp = raw.indexOf("&");
  while (amp !== -1) {
    const semi = raw.indexOf(";", amp + 1);
    if (semi === -1) {
      throw malformed("'&' must start a reference such as &amp;");
    }
    out += raw.slice(last, amp) + decodeRef(raw.slice(amp + 1, semi));
    last = semi + 1;
    amp = raw.indexOf("&", last);
  }
  return out + raw.slice(last);
}

/** Decode the body of one reference (between `&` and `;`). */
function decodeRef(body: string): string {
  if (body.charCodeAt(0) === 0x23 /* # */) {
    let cp: number;
    if (body[1] === "x") {
      if (!/^#x[0-9A-Fa-f]+$/.test(body)) {
        throw malformed(`bad character reference &${body};`);
      }
      cp = parseInt(body.slice(2), 16);
    } else {
      if (!/^#[0-9]+$/.test(body)) {
        throw malformed(`bad character reference &${body};`);
      }
      cp = parseInt(body.slice(1), 10);
    }
    if (!isXmlChar(cp)) {
      throw malformed(`&${body}; refers to a character XML forbids`);
    }
    return String.fromCodePoint(cp);
  }
  switch (body) {
    case "amp":
      return "&";
    case "lt":
      return "<";
    case "gt":
      return ">";
    case "quot":
      return '"';
    case "apos":
      return "'";
  }
  if (WHOLE_NAME_RE.test(body)) {
    throw new StreamError(
      "restricted-xml",
      `entity reference &${body}; is not allowed: XMPP permits only &lt; &gt; &amp; &quot; &apos; and character references`,
    );
  }
  throw malformed(`bad reference &${body};`);
}

/**
 * A streaming parser for XMPP's restricted XML.
 *
 * @example Parsing a stream header and a stanza split across chunks
 * ```ts
 * import { XmlParser } from "./parser.ts";
 *
 * const enc = new TextEncoder();
 * const p = new XmlParser();
 * const events = [
 *   ...p.write(enc.encode("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><mess")),
 *   ...p.write(enc.encode("age to='a@b'><body>hi &amp; bye</body></message>")),
 * ];
 * console.log(events.map((e) => e.type)); // ["open", "element"]
 * ```
 *
 * @example Refusing a comment
 * ```ts
 * import { XmlParser } from "./parser.ts";
 * import { StreamError } from "./stream_error.ts";
 *
 * try {
 *   new XmlParser().write(new TextEncoder().encode("<a><!-- hi --></a>"));
 * } catch (e) {
 *   console.log((e as StreamError).condition); // "restricted-xml"
 * }
 * ```
 */
export class XmlParser {
  readonly #maxStanza: number;
  readonly #maxDepth: number;
  readonly #maxAttrs: number;
  readonly #decoder = new Utf8Decoder();

  #state = S_TEXT;
  /** Unconsumed input from the previous chunk: a partial token. */
  #carry = "";
  /** When set, the carry cannot progress until one of these chars arrives. */
  #waitFor: string | null = null;
  #stack: Frame[] = [];
  #rootSeen = false;
  #rootClosed = false;
  #started = false;
  #failed: StreamError | null = null;
  #events: ParseEvent[] = [];

  // The start tag being read.
  #tagState = T_NAME;
  #tagName = "";
  #tagAttrs: string[] = [];
  #tagSpace = false;
  #attrName = "";
  #quote = "";
  #value = "";

  // Where the next '&', '<', tab, LF, CR and "]]>" are in the current input
  // (its length if none; -1 if not looked for yet). Native searches instead
  // of a JavaScript loop over every character.
  #amp = -1;
  #lt = -1;
  #tab = -1;
  #lf = -1;
  #cr = -1;
  #cdEnd = -1;

  // Stanza size accounting.
  #inStanza = false;
  #stanzaBytes = 0;
  #stanzaFrom = 0; // index in the current input where counting resumes
  #ascii = true;

  /**
   * Make a parser.
   *
   * @param options Limits; see {@linkcode ParserLimits} for defaults.
   */
  constructor(options: ParserOptions = {}) {
    this.#maxStanza = options.maxStanzaBytes ?? 262144;
    this.#maxDepth = options.maxDepth ?? 64;
    this.#maxAttrs = options.maxAttributes ?? 64;
    for (
      const [k, v] of Object.entries({
        maxStanzaBytes: this.#maxStanza,
        maxDepth: this.#maxDepth,
        maxAttributes: this.#maxAttrs,
      })
    ) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`${k} must be a positive integer, got ${v}`);
      }
    }
  }

  /**
   * Whether input has been taken in that has not yet come out as an event:
   * a partial token, an unfinished element below the root, or a pending
   * start tag. Used to detect bytes injected before a stream restart.
   */
  get buffered(): boolean {
    // A held-back line end between elements is whitespace, not data.
    return (this.#carry.length > 0 && !ONLY_SPACE.test(this.#carry)) ||
      this.#stack.length > 1 || this.#state !== S_TEXT;
  }

  /** The depth of open elements, the root counting as 1. */
  get depth(): number {
    return this.#stack.length;
  }

  /**
   * Parse the next chunk.
   *
   * @param chunk Bytes of the stream, split anywhere.
   * @returns The events completed by this chunk, in order.
   * @throws {StreamError} On input XMPP's restricted XML does not allow. The
   * parser is then unusable: every later call throws the same error.
   */
  write(chunk: Uint8Array): ParseEvent[] {
    if (this.#failed) throw this.#failed;
    let str: string;
    try {
      str = this.#decoder.decode(chunk);
    } catch (cause) {
      throw this.#fail(
        new StreamError("unsupported-encoding", "input is not valid UTF-8", {
          cause,
        }),
      );
    }
    const ascii = this.#decoder.ascii;
    // No character XML forbids may appear anywhere, so one pass over the new
    // input spares the per-token checks. The control characters are single
    // bytes in UTF-8, so look for them there, four bytes at a time.
    if (
      hasControl(chunk) ||
      (!ascii && (str.indexOf("\uFFFE") !== -1 || str.indexOf("\uFFFF") !== -1))
    ) {
      throw this.#fail(malformed("input holds a character XML forbids"));
    }
    return this.#feed(str, ascii);
  }

  /**
   * Signal the end of input.
   *
   * @returns The last events.
   * @throws {StreamError} `not-well-formed` if the document is incomplete.
   */
  end(): ParseEvent[] {
    if (this.#failed) throw this.#failed;
    if (this.#decoder.pending) {
      throw this.#fail(
        new StreamError(
          "unsupported-encoding",
          "input ends inside a UTF-8 sequence",
        ),
      );
    }
    const events: ParseEvent[] = [];
    if (!this.#rootClosed) {
      throw this.#fail(
        malformed(
          this.#rootSeen
            ? `input ended inside <${this.#stack.at(-1)?.qname ?? "?"}>`
            : "input ended before the root element",
        ),
      );
    }
    if (this.#carry) {
      throw this.#fail(malformed("input ended inside markup"));
    }
    return events;
  }

  #fail(e: StreamError): StreamError {
    this.#failed = e;
    this.#stack = [];
    this.#carry = "";
    return e;
  }

  /** Parse new input `str`, already checked for forbidden characters. */
  #feed(str: string, ascii: boolean): ParseEvent[] {
    const carry = this.#carry;
    const s = carry ? carry + str : str;
    this.#ascii = ascii && (carry.length === 0 || this.#ascii);
    if (this.#waitFor !== null) {
      if (!hasAny(s, carry.length, this.#waitFor)) {
        this.#carry = s;
        this.#checkPending(s.length);
        return [];
      }
      this.#waitFor = null;
    }
    this.#carry = "";
    this.#events = [];
    this.#stanzaFrom = 0;
    this.#amp =
      this.#lt =
      this.#tab =
      this.#lf =
      this.#cr =
      this.#cdEnd =
        -1;
    try {
      this.#run(s);
      if (this.#inStanza) {
        this.#stanzaBytes += this.#bytes(
          s,
          this.#stanzaFrom,
          s.length - this.#carry.length,
        );
      }
      this.#checkPending(this.#carry.length);
    } catch (e) {
      if (e instanceof StreamError) throw this.#fail(e);
      throw e;
    }
    this.#ascii = true;
    for (let i = 0; i < this.#carry.length; i++) {
      if (this.#carry.charCodeAt(i) >= 0x80) this.#ascii = false;
    }
    const events = this.#events;
    this.#events = [];
    return events;
  }

  /** Bound what waits in the carry. */
  #checkPending(pending: number): void {
    const used = this.#inStanza ? this.#stanzaBytes : 0;
    if (used + pending > this.#maxStanza) throw this.#fail(this.#tooBig());
  }

  #tooBig(): StreamError {
    return new StreamError(
      "policy-violation",
      `${
        this.#rootSeen ? "stanza" : "stream header"
      } larger than ${this.#maxStanza} bytes`,
    );
  }

  #bytes(s: string, a: number, b: number): number {
    return this.#ascii ? b - a : utf8Length(s, a, b);
  }

  /** Cheap bound while inside a stanza: characters never exceed bytes. */
  #checkSize(s: string, pos: number): void {
    if (
      this.#inStanza &&
      this.#stanzaBytes + (pos - this.#stanzaFrom) > this.#maxStanza
    ) {
      // Counting characters undercounts, so this is surely over the limit.
      throw this.#tooBig();
    }
    void s;
  }

  #run(s: string): void {
    const len = s.length;
    let i = 0;
    while (i < len) {
      if (this.#state === S_TAG) {
        i = this.#startTag(s, i);
        if (i < 0) return;
        continue;
      }
      if (this.#state === S_CDATA) {
        i = this.#cdata(s, i);
        if (i < 0) return;
        continue;
      }
      // Text.
      // The '<' cursor may already be past i (attribute values use it).
      let lt = this.#lt;
      if (lt < i) this.#lt = lt = indexOrEnd(s, "<", i);
      if (lt > i) {
        const kept = this.#text(s, i, lt, lt === len);
        if (kept > 0) {
          this.#carry = s.slice(lt - kept);
          return;
        }
      }
      if (lt === len) return;
      i = lt;
      if (i + 1 >= len) {
        this.#carry = "<";
        return;
      }
      const c = s.charCodeAt(i + 1);
      if (c === 0x2f /* / */) {
        const gt = s.indexOf(">", i + 2);
        if (gt === -1) {
          this.#carry = s.slice(i);
          this.#waitFor = ">";
          return;
        }
        this.#endTag(s, i, gt);
        i = gt + 1;
      } else if (c === 0x21 /* ! */) {
        const r = this.#bang(s, i);
        if (r < 0) return;
        i = r;
      } else if (c === 0x3f /* ? */) {
        const r = this.#pi(s, i);
        if (r < 0) return;
        i = r;
      } else {
        if (this.#rootClosed) {
          throw malformed("only one root element is allowed");
        }
        this.#started = true;
        if (this.#stack.length <= 1) {
          // A stanza (or the stream header) begins: count its bytes.
          this.#inStanza = true;
          this.#stanzaBytes = 0;
          this.#stanzaFrom = i;
        }
        const end = this.#wholeTag(s, i);
        if (end > 0) {
          i = end;
        } else {
          // The tag runs past this chunk: read it resumably.
          this.#tagState = T_NAME;
          this.#tagAttrs = [];
          this.#tagSpace = false;
          this.#state = S_TAG;
          i = this.#startTag(s, i + 1);
          if (i < 0) return;
        }
      }
    }
  }

  /**
   * A run of text `s[a, b)`. Returns how many trailing characters must wait
   * for the next chunk (a partial reference, `]`, or `\r`).
   */
  #text(s: string, a: number, b: number, atEnd: boolean): number {
    const depth = this.#stack.length;
    if (depth === 0) {
      const run = s.slice(a, b);
      if (!ONLY_SPACE.test(run)) {
        throw malformed(
          this.#rootClosed
            ? "text after the root element"
            : "text before the root element",
        );
      }
      this.#started = true;
      return 0;
    }
    let kept = 0;
    if (atEnd) {
      // Hold back what the next chunk may complete.
      const amp = s.lastIndexOf("&", b - 1);
      if (amp >= a && s.indexOf(";", amp) === -1) {
        kept = b - amp;
        if (kept > MAX_REF) {
          throw malformed("reference too long or missing ';'");
        }
      } else {
        let k = b;
        while (k > a && k > b - 2 && s.charCodeAt(k - 1) === 0x5d /* ] */) k--;
        if (k === b && s.charCodeAt(b - 1) === 0x0d) k--;
        kept = b - k;
      }
      b -= kept;
      if (b <= a) return kept;
    }
    let run = s.slice(a, b);
    if (this.#amp < a) this.#amp = indexOrEnd(s, "&", a);
    if (this.#cr < a) this.#cr = indexOrEnd(s, "\r", a);
    if (this.#cdEnd < a) this.#cdEnd = indexOrEnd(s, "]]>", a);
    if (this.#amp < b || this.#cr < b || this.#cdEnd < b) {
      if (run.includes("]]>")) {
        throw malformed("']]>' is not allowed in text");
      }
      if (run.includes("\r")) run = run.replace(/\r\n?/g, "\n");
      if (run.includes("&")) run = decodeRefs(run);
    }
    this.#checkSize(s, b);
    if (depth === 1) {
      this.#events.push({ type: "text", text: run });
    } else {
      const children = this.#stack[depth - 1].el.children;
      const n = children.length;
      if (n > 0 && typeof children[n - 1] === "string") {
        children[n - 1] += run;
      } else {
        children.push(run);
      }
    }
    return kept;
  }

  /** `<!`: a CDATA section or a forbidden declaration. */
  #bang(s: string, i: number): number {
    const rest = s.slice(i, i + 9);
    if (rest.startsWith("<!--")) {
      throw new StreamError(
        "restricted-xml",
        "comments are not allowed in XMPP",
      );
    }
    if (rest.startsWith("<![CDATA[")) {
      if (this.#stack.length === 0) {
        throw malformed("CDATA outside the root element");
      }
      this.#state = S_CDATA;
      return i + 9;
    }
    if (rest === "<!DOCTYPE") {
      throw new StreamError(
        "restricted-xml",
        "document type declarations are not allowed in XMPP",
      );
    }
    if (
      rest.length < 9 &&
      ("<!--".startsWith(rest) || "<![CDATA[".startsWith(rest) ||
        "<!DOCTYPE".startsWith(rest))
    ) {
      this.#carry = rest;
      return -1;
    }
    throw malformed(`unexpected markup '${rest}'`);
  }

  /** `<?`: the XML declaration at the very start, else forbidden. */
  #pi(s: string, i: number): number {
    const atStart = !this.#started && i === 0;
    if (atStart) {
      const end = s.indexOf("?>", i);
      if (end === -1) {
        if (s.length - i > MAX_DECL) {
          throw malformed("XML declaration too long");
        }
        if (s.length - i >= 6 && !/^<\?xml[ \t\r\n]/.test(s.slice(i, i + 6))) {
          throw new StreamError(
            "restricted-xml",
            "processing instructions are not allowed in XMPP",
          );
        }
        this.#carry = s.slice(i);
        this.#waitFor = ">";
        return -1;
      }
      const decl = s.slice(i, end + 2);
      if (/^<\?xml[ \t\r\n?]/.test(decl)) {
        const m = XML_DECL.exec(decl);
        if (m === null) throw malformed(`bad XML declaration ${decl}`);
        const enc = m[1] ?? m[2];
        if (enc !== undefined && enc.toLowerCase() !== "utf-8") {
          throw new StreamError(
            "unsupported-encoding",
            `XMPP uses only UTF-8, not ${enc}`,
          );
        }
        this.#started = true;
        return end + 2;
      }
    }
    throw new StreamError(
      "restricted-xml",
      "processing instructions are not allowed in XMPP",
    );
  }

  #cdata(s: string, i: number): number {
    const end = s.indexOf("]]>", i);
    let b = end === -1 ? Math.max(i, s.length - 2) : end;
    if (end === -1 && b > i && s.charCodeAt(b - 1) === 0x0d) b--;
    if (b > i) {
      let run = s.slice(i, b);
      if (run.includes("\r")) run = run.replace(/\r\n?/g, "\n");
      this.#checkSize(s, b);
      const depth = this.#stack.length;
      if (depth === 1) {
        this.#events.push({ type: "text", text: run });
      } else {
        const children = this.#stack[depth - 1].el.children;
        const n = children.length;
        if (n > 0 && typeof children[n - 1] === "string") {
          children[n - 1] += run;
        } else {
          children.push(run);
        }
      }
    }
    if (end === -1) {
      this.#carry = s.slice(b);
      return -1;
    }
    this.#state = S_TEXT;
    return end + 3;
  }

  /** Whether the attribute value `s[a, b)` needs more than a copy. */
  #attrSpecialAt(s: string, a: number, b: number): boolean {
    if (this.#amp < a) this.#amp = indexOrEnd(s, "&", a);
    if (this.#lt < a) this.#lt = indexOrEnd(s, "<", a);
    if (this.#tab < a) this.#tab = indexOrEnd(s, "\t", a);
    if (this.#lf < a) this.#lf = indexOrEnd(s, "\n", a);
    if (this.#cr < a) this.#cr = indexOrEnd(s, "\r", a);
    return this.#amp < b || this.#lt < b || this.#tab < b || this.#lf < b ||
      this.#cr < b;
  }

  /**
   * The fast path: read a start tag that lies whole in `s`, starting at the
   * `<` at `lt`. Returns the index after it, or -1 (having changed nothing)
   * if the tag runs past the end of `s`.
   */
  #wholeTag(s: string, lt: number): number {
    const len = s.length;
    let i = lt + 1;
    let e = scanName(s, i);
    if (e >= len) return -1;
    if (e === i) {
      throw malformed(`bad element name at '${s.slice(i, i + 10)}'`);
    }
    const qname = s.slice(i, e);
    const raw: string[] = [];
    // What the attributes need; see #openElement.
    let kind = K_PLAIN;
    let declAt = -1;
    i = e;
    for (;;) {
      let c = s.charCodeAt(i);
      const spaced = c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
      while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
        c = s.charCodeAt(++i);
      }
      if (i >= len) return -1;
      if (c === 0x3e /* > */ || c === 0x2f /* / */) {
        if (c === 0x2f) {
          if (i + 1 >= len) return -1;
          if (s.charCodeAt(i + 1) !== 0x3e) {
            throw malformed(`expected '>' after '/' in <${qname}>`);
          }
          i++;
        }
        this.#tagName = qname;
        this.#tagAttrs = raw;
        this.#openElement(s, i, c === 0x2f, kind, declAt);
        return i + 1;
      }
      if (!spaced) {
        throw malformed(`expected whitespace, '>' or '/>' in <${qname}>`);
      }
      e = scanName(s, i);
      if (e >= len) return -1;
      if (e === i) {
        throw malformed(
          `bad attribute name in <${qname}> at '${s.slice(i, i + 10)}'`,
        );
      }
      const name = attrName(s, i, e);
      if (kind !== K_GENERAL) {
        if (nameColon !== -1) {
          if (!isXmlAttr(name, nameColon - i)) kind = K_GENERAL;
        } else if (name.length === 5 && name === "xmlns") {
          if (kind === K_PLAIN) {
            kind = K_DEFAULT;
            declAt = raw.length;
          } else kind = K_GENERAL; // a second one: let the general path say so
        }
      }
      i = e;
      c = s.charCodeAt(i);
      while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
        c = s.charCodeAt(++i);
      }
      if (i >= len) return -1;
      if (c !== 0x3d /* = */) {
        throw malformed(`expected '=' after attribute ${name} in <${qname}>`);
      }
      c = s.charCodeAt(++i);
      while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
        c = s.charCodeAt(++i);
      }
      if (i >= len) return -1;
      if (c !== 0x22 && c !== 0x27) {
        throw malformed(
          `attribute ${name} in <${qname}> needs a quoted value`,
        );
      }
      const close = s.indexOf(c === 0x22 ? '"' : "'", i + 1);
      if (close === -1) return -1;
      let value = s.slice(i + 1, close);
      if (this.#attrSpecialAt(s, i + 1, close)) value = this.#attrValue(value);
      if (raw.length >= this.#maxAttrs * 2) {
        throw new StreamError(
          "policy-violation",
          `more than ${this.#maxAttrs} attributes on <${qname}>`,
        );
      }
      raw.push(name, value);
      i = close + 1;
    }
  }

  /**
   * Continue a start tag at `i` (just after `<`, or wherever the last chunk
   * stopped). Returns the index after the tag, or -1 if the input ran out.
   */
  #startTag(s: string, i: number): number {
    const len = s.length;
    for (;;) {
      switch (this.#tagState) {
        case T_NAME: {
          const e = scanName(s, i);
          if (e === len) return this.#wait(s, i);
          if (e === i) {
            throw malformed(`bad element name at '${s.slice(i, i + 10)}'`);
          }
          this.#tagName = s.slice(i, e);
          this.#tagState = T_SPACE;
          this.#tagSpace = false;
          i = e;
          break;
        }
        case T_SPACE: {
          while (i < len && isSpace(s.charCodeAt(i))) {
            i++;
            this.#tagSpace = true;
          }
          if (i === len) return this.#wait(s, i);
          const c = s.charCodeAt(i);
          if (c === 0x3e /* > */) {
            this.#openElement(s, i, false, K_GENERAL, -1);
            this.#state = S_TEXT;
            return i + 1;
          }
          if (c === 0x2f /* / */) {
            this.#tagState = T_SLASH;
            i++;
            break;
          }
          if (!this.#tagSpace) {
            throw malformed(
              `expected whitespace, '>' or '/>' in <${this.#tagName}>`,
            );
          }
          this.#tagState = T_ATTR;
          break;
        }
        case T_ATTR: {
          const e = scanName(s, i);
          if (e === len) return this.#wait(s, i);
          if (e === i) {
            throw malformed(
              `bad attribute name in <${this.#tagName}> at '${
                s.slice(i, i + 10)
              }'`,
            );
          }
          this.#attrName = s.slice(i, e);
          this.#tagState = T_EQ;
          i = e;
          break;
        }
        case T_EQ: {
          while (i < len && isSpace(s.charCodeAt(i))) i++;
          if (i === len) return this.#wait(s, i);
          if (s.charCodeAt(i) !== 0x3d /* = */) {
            throw malformed(
              `expected '=' after attribute ${this.#attrName} in <${this.#tagName}>`,
            );
          }
          this.#tagState = T_QUOTE;
          i++;
          break;
        }
        case T_QUOTE: {
          while (i < len && isSpace(s.charCodeAt(i))) i++;
          if (i === len) return this.#wait(s, i);
          const q = s[i];
          if (q !== '"' && q !== "'") {
            throw malformed(
              `attribute ${this.#attrName} in <${this.#tagName}> needs a quoted value`,
            );
          }
          this.#quote = q;
          this.#value = "";
          this.#tagState = T_VALUE;
          i++;
          break;
        }
        case T_VALUE: {
          const e = s.indexOf(this.#quote, i);
          if (e === -1) {
            // Keep the raw piece; a reference may be split, so decode later.
            this.#value += s.slice(i);
            this.#checkSize(s, len);
            if (this.#value.length > this.#maxStanza) throw this.#tooBig();
            this.#waitFor = this.#quote;
            return -1;
          }
          let raw: string;
          if (this.#value === "") {
            raw = s.slice(i, e);
            if (attrSpecial(s, i, e)) raw = this.#attrValue(raw);
          } else {
            raw = this.#value + s.slice(i, e);
            this.#value = "";
            if (attrSpecial(raw, 0, raw.length)) raw = this.#attrValue(raw);
          }
          if (this.#tagAttrs.length >= this.#maxAttrs * 2) {
            throw new StreamError(
              "policy-violation",
              `more than ${this.#maxAttrs} attributes on <${this.#tagName}>`,
            );
          }
          this.#tagAttrs.push(this.#attrName, raw);
          this.#tagState = T_SPACE;
          this.#tagSpace = false;
          i = e + 1;
          break;
        }
        case T_SLASH: {
          if (i === len) return this.#wait(s, i);
          if (s.charCodeAt(i) !== 0x3e) {
            throw malformed(`expected '>' after '/' in <${this.#tagName}>`);
          }
          this.#openElement(s, i, true, K_GENERAL, -1);
          this.#state = S_TEXT;
          return i + 1;
        }
      }
    }
  }

  /** Keep `s[from..]` for the next chunk; wait for a token end to re-scan. */
  #wait(s: string, from: number): number {
    this.#carry = s.slice(from);
    if (this.#carry.length > 0) this.#waitFor = NAME_END_CHARS;
    return -1;
  }

  #attrValue(raw: string): string {
    if (raw.includes("<")) {
      throw malformed("'<' is not allowed in an attribute value");
    }
    raw = raw.replace(/\r\n|[\t\n\r]/g, " ");
    return raw.includes("&") ? decodeRefs(raw) : raw;
  }

  /** The start tag ended at `s[gt]`: resolve names and open the element. */
  #openElement(
    s: string,
    gt: number,
    empty: boolean,
    kind: number,
    declAt: number,
  ): void {
    const stack = this.#stack;
    const depth = stack.length;
    if (depth >= this.#maxDepth) {
      throw new StreamError(
        "policy-violation",
        `elements nested deeper than ${this.#maxDepth}`,
      );
    }
    const parent = depth > 0 ? stack[depth - 1] : undefined;
    let defaultNs = parent === undefined ? "" : parent.ns;
    const parentPrefixes = parent === undefined ? null : parent.prefixes;
    let prefixes = parentPrefixes;
    const raw = this.#tagAttrs;
    const n = raw.length;
    const qname = this.#tagName;
    const attrs: Record<string, string> = {};
    let declared: Record<string, string> | null = null;

    // Common case: no namespace declarations, and no prefixed attributes but
    // xml: ones (whose prefix is fixed), so names are keys as written.
    if (kind === K_DEFAULT && depth > 0) {
      // Only a default namespace declaration at raw[declAt].
      const uri = raw[declAt + 1];
      checkDeclaration("", uri);
      defaultNs = uri;
      for (let k = 0; k < n; k += 2) {
        if (k === declAt) continue;
        const name = raw[k];
        for (let j = 0; j < k; j += 2) {
          if (raw[j] === name) {
            throw malformed(`duplicate attribute ${name} on <${qname}>`);
          }
        }
        setAttr(attrs, name, raw[k + 1]);
      }
    } else if (kind === K_PLAIN) {
      for (let k = 0; k < n; k += 2) {
        const name = raw[k];
        for (let j = 0; j < k; j += 2) {
          if (raw[j] === name) {
            throw malformed(`duplicate attribute ${name} on <${qname}>`);
          }
        }
        setAttr(attrs, name, raw[k + 1]);
      }
    } else {
      // Namespace declarations first: they apply to this element's names.
      for (let k = 0; k < n; k += 2) {
        const name = raw[k];
        if (!isDeclaration(name)) continue;
        const prefix = name.length === 5 ? "" : name.slice(6);
        const uri = raw[k + 1];
        if (name.length === 6) {
          throw malformed("xmlns: is not a valid declaration");
        }
        checkDeclaration(prefix, uri);
        declared ??= Object.create(null) as Record<string, string>;
        if (prefix in declared) {
          throw malformed(`duplicate attribute ${name} on <${qname}>`);
        }
        declared[prefix] = uri;
        if (prefix === "") {
          defaultNs = uri;
        } else if (prefix !== "xml") {
          if (prefixes === parentPrefixes) {
            prefixes = Object.assign(Object.create(null), parentPrefixes);
          }
          prefixes![prefix] = uri;
        }
      }
      const keys: string[] = [];
      for (let k = 0; k < n; k += 2) {
        const name = raw[k];
        if (isDeclaration(name)) continue;
        let key = name;
        const c = name.indexOf(":");
        if (c !== -1) {
          checkQName(name, c);
          const prefix = name.slice(0, c);
          if (prefix !== "xml") {
            const uri = prefixes?.[prefix];
            if (uri === undefined) {
              throw malformed(
                `prefix ${prefix} of attribute ${name} is not declared`,
              );
            }
            key = `{${uri}}${name.slice(c + 1)}`;
          }
        }
        if (keys.includes(key)) {
          throw malformed(`duplicate attribute ${name} on <${qname}>`);
        }
        keys.push(key);
        setAttr(attrs, key, raw[k + 1]);
      }
    }

    let local = qname;
    let ns = defaultNs;
    const colon = qname.indexOf(":");
    if (colon !== -1) {
      checkQName(qname, colon);
      const prefix = qname.slice(0, colon);
      local = qname.slice(colon + 1);
      const uri = prefix === "xml" ? XML_NS : prefixes?.[prefix];
      if (uri === undefined) {
        throw malformed(`prefix ${prefix} of <${qname}> is not declared`);
      }
      ns = uri;
    }
    const el = new Element(local, ns, attrs, []);
    this.#tagAttrs = [];
    const frame: Frame = { el, qname, ns: defaultNs, prefixes };
    if (depth === 0) {
      this.#rootSeen = true;
      this.#inStanza = false;
      this.#stanzaBytes = 0;
      this.#events.push({
        type: "open",
        element: el,
        namespaces: declared ?? Object.create(null),
      });
      if (empty) {
        this.#rootClosed = true;
        this.#events.push({ type: "close" });
      } else {
        stack.push(frame);
      }
      return;
    }
    if (depth > 1) stack[depth - 1].el.children.push(el);
    if (empty) {
      if (depth === 1) this.#stanzaDone(el, s, gt + 1);
    } else {
      stack.push(frame);
    }
    this.#checkSize(s, gt + 1);
  }

  #endTag(s: string, lt: number, gt: number): void {
    const stack = this.#stack;
    const top = stack.at(-1);
    let e = gt;
    while (e > lt + 2 && isSpace(s.charCodeAt(e - 1))) e--;
    const name = s.slice(lt + 2, e);
    if (top === undefined) {
      throw malformed(`end tag </${name}> without a start tag`);
    }
    if (name !== top.qname) {
      throw malformed(`end tag </${name}> does not match <${top.qname}>`);
    }
    stack.pop();
    const depth = stack.length;
    if (depth === 0) {
      this.#rootClosed = true;
      this.#events.push({ type: "close" });
    } else if (depth === 1) {
      this.#stanzaDone(top.el, s, gt + 1);
    }
  }

  #stanzaDone(el: Element, s: string, end: number): void {
    // A UTF-16 code unit never takes more than 3 UTF-8 bytes, so the exact
    // count is only needed when that bound could pass the limit.
    const from = this.#stanzaFrom;
    if (this.#stanzaBytes + 3 * (end - from) > this.#maxStanza) {
      const size = this.#stanzaBytes + this.#bytes(s, from, end);
      if (size > this.#maxStanza) throw this.#tooBig();
    }
    this.#inStanza = false;
    this.#stanzaBytes = 0;
    this.#events.push({ type: "element", element: el });
  }
}

function checkQName(qname: string, colon: number): void {
  if (
    colon === 0 || colon === qname.length - 1 ||
    qname.indexOf(":", colon + 1) !== -1 ||
    !isNameStart(qname.codePointAt(colon + 1)!)
  ) {
    throw malformed(`${qname} is not a valid qualified name`);
  }
}

/** Whether a character of an XML Name may also start one. */
function isNameStart(cp: number): boolean {
  if (cp < 128) return ASCII_NAME[cp] === 1;
  return NON_ASCII_NAME_START.test(String.fromCodePoint(cp));
}

function checkDeclaration(prefix: string, uri: string): void {
  if (prefix === "xmlns") {
    throw malformed("the xmlns prefix must not be declared");
  }
  if (prefix.includes(":")) {
    throw malformed(`xmlns:${prefix} is not a valid declaration`);
  }
  if (prefix === "xml") {
    if (uri !== XML_NS) {
      throw malformed(`the xml prefix must be bound to ${XML_NS}`);
    }
    return;
  }
  if (uri === XML_NS || uri === XMLNS_NS) {
    throw malformed(`${uri} must not be declared as a namespace`);
  }
  if (prefix !== "" && uri === "") {
    throw malformed(`xmlns:${prefix}="" cannot undeclare a prefix in XML 1.0`);
  }
  if (prefix !== "" && !isNameStart(prefix.codePointAt(0)!)) {
    throw malformed(`xmlns:${prefix} is not a valid declaration`);
  }
}
