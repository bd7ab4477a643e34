/**
 * Private helpers for the differential parser fuzz test
 * (`parser_fuzz_test.ts`): a seeded PRNG, a generator of random well-formed
 * restricted-XML documents and a set of byte-level and structure-aware
 * mutations.
 *
 * @module
 */

/** A small seeded PRNG (mulberry32); deterministic for a given seed. */
export class Rng {
  #s: number;

  /**
   * Make a generator.
   *
   * @param seed Any 32-bit integer.
   */
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /**
   * Draw a float.
   *
   * @returns A float in `[0, 1)`.
   */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * Draw an integer.
   *
   * @param n Exclusive upper bound.
   * @returns An integer in `[0, n)`.
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * Flip a biased coin.
   *
   * @param p Probability of `true`.
   * @returns `true` with probability `p`.
   */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /**
   * Pick an item.
   *
   * @param items A non-empty list.
   * @returns One of `items`, uniformly.
   */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/**
 * Mix a run seed and a case index into a per-case seed, so any single case
 * can be replayed on its own.
 *
 * @param seed The run seed.
 * @param index The case index.
 * @returns A 32-bit seed.
 */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const NAME_START_ASCII =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
const NAME_START_OTHER = [
  "é",
  "À",
  "ø",
  "ß",
  "Ω",
  "ж",
  "\u037F",
  "\u200C",
  "\u2070",
  "\u2C00",
  "\u3001",
  "中",
  "ア",
  "\uF900",
  "\uFDF0",
  "\uFFFD",
  "\u{10000}",
  "\u{1F600}",
  "\u{1D4B3}",
  "\u{EFFFF}",
];
const NAME_CHAR_EXTRA = [
  "-",
  ".",
  "0",
  "7",
  "9",
  "\u00B7",
  "\u0300",
  "\u036F",
  "\u203F",
  "\u2040",
];
const NAMESPACES = [
  "jabber:client",
  "jabber:server",
  "http://etherx.jabber.org/streams",
  "urn:ietf:params:xml:ns:xmpp-stanzas",
  "urn:xmpp:delay",
  "urn:x",
  "u",
  "urn:é:中:\u{1F600}",
  "http://example.com/ns?a=1&amp;b=2",
  "urn:a&#x9;b",
  "urn:tab\there",
  "urn:&quot;q&apos;",
];
const PLAIN = [
  "a",
  "hello",
  "Wherefore art thou",
  "x y",
  "0123",
  "-_.:/@?=",
  "jid@example.com/res",
  " ",
  "  ",
];
const MULTIBYTE = [
  "é",
  "ß",
  "\u00A0",
  "\u0085",
  "\u2028",
  "中文",
  "€",
  "\uFFFD",
  "\uFEFF",
  "\u{1F600}",
  "\u{10000}",
  "\u{10FFFD}",
  "\u007F",
  "\uD7FF",
  "\uE000",
];
const ENTITIES = ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;"];
const WS = [" ", " ", " ", "\t", "\n", "\r\n", "\r", "  ", " \n "];
const LITERAL_WS = ["\t", "\n", "\r", "\r\n", "\r\r\n", " \t\r\n"];
const CHARREF_CPS = [
  9,
  10,
  13,
  32,
  34,
  38,
  39,
  60,
  62,
  0x41,
  0x5d,
  0x7f,
  0x80,
  0x85,
  0xa0,
  0xe9,
  0x2028,
  0xd7ff,
  0xe000,
  0xfffd,
  0x10000,
  0x1f600,
  0x10ffff,
];

function charRef(rng: Rng): string {
  let cp: number;
  if (rng.chance(0.6)) cp = rng.pick(CHARREF_CPS);
  else {
    const r = rng.int(4);
    cp = r === 0
      ? 0x20 + rng.int(0x5f)
      : r === 1
      ? 0xa0 + rng.int(0xd800 - 0xa0)
      : r === 2
      ? 0xe000 + rng.int(0xfffe - 0xe000)
      : 0x10000 + rng.int(0x100000);
  }
  const zeros = rng.chance(0.1) ? "0".repeat(1 + rng.int(4)) : "";
  if (rng.chance(0.5)) return `&#${zeros}${cp};`;
  let hex = cp.toString(16);
  if (rng.chance(0.4)) hex = hex.toUpperCase();
  return `&#x${zeros}${hex};`;
}

function ncname(rng: Rng): string {
  let s = rng.chance(0.85)
    ? rng.pick([...NAME_START_ASCII])
    : rng.pick(NAME_START_OTHER);
  const n = rng.int(rng.chance(0.8) ? 6 : 14);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    s += r < 0.7
      ? rng.pick([...NAME_START_ASCII])
      : r < 0.9
      ? rng.pick(NAME_CHAR_EXTRA)
      : rng.pick(NAME_START_OTHER);
  }
  if (rng.chance(0.002)) s += "long_name-".repeat(1 + rng.int(100));
  // Prefixes and names starting with "xml" are reserved; keep clear of them.
  if (/^xml/i.test(s)) s = "n" + s;
  return s;
}

function attrValue(rng: Rng, quote: string): string {
  let s = rng.chance(0.005)
    ? "long value &amp; ".repeat(1 + rng.int(1000))
    : "";
  const n = rng.int(rng.chance(0.7) ? 3 : 8);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.35) s += rng.pick(PLAIN);
    else if (r < 0.5) s += rng.pick(MULTIBYTE);
    else if (r < 0.62) s += rng.pick(ENTITIES);
    else if (r < 0.74) s += charRef(rng);
    else if (r < 0.86) s += rng.pick(LITERAL_WS);
    else s += rng.pick([">", "'", '"', "]]>", "/", "="]);
  }
  return s.replaceAll(quote, quote === "'" ? "&apos;" : "&quot;");
}

function textRun(rng: Rng): string {
  // Now and then a long run, to cross any internal buffer sizes.
  let s = rng.chance(0.01) ? "long text é ".repeat(1 + rng.int(2000)) : "";
  const n = 1 + rng.int(rng.chance(0.7) ? 3 : 10);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.35) s += rng.pick(PLAIN);
    else if (r < 0.5) s += rng.pick(MULTIBYTE);
    else if (r < 0.62) s += rng.pick(ENTITIES);
    else if (r < 0.72) s += charRef(rng);
    else if (r < 0.86) s += rng.pick(LITERAL_WS);
    else s += rng.pick([">", "]", "]]", "'", '"', "/", "=", "?", "!"]);
  }
  return s.replaceAll("]]>", "]]&gt;");
}

function cdata(rng: Rng): string {
  let s = "";
  const n = rng.int(5);
  for (let i = 0; i < n; i++) {
    s += rng.pick([
      "x",
      "<b>",
      "&amp;",
      "&",
      "<",
      "]",
      "]]",
      ">",
      "<!--",
      "<?pi?>",
      "\r\n",
      "\r",
      "\t",
      "é",
      "\u{1F600}",
      " ",
    ]);
  }
  return `<![CDATA[${s.replaceAll("]]>", "]] >")}]]>`;
}

/** A generated document with offsets of places suited to mutations. */
export interface GeneratedDoc {
  /** The document text. */
  text: string;
  /** Offset right after the XML declaration (0 without one). */
  prolog: number;
  /** Offset right after the root's end tag. */
  afterRoot: number;
  /** Offsets inside elements where character data or markup may go. */
  content: number[];
  /** Offsets in start tags after the last attribute, before `>` or `/>`. */
  tagEnds: number[];
  /** Offsets right after an attribute value's opening quote. */
  attrValues: number[];
  /** Whole attribute specifications (`name='value'`), with their tags' end offsets. */
  attrs: { text: string; tagEnd: number }[];
  /** Start offset and length of the name in each end tag. */
  endTagNames: { start: number; length: number }[];
}

interface GenState {
  rng: Rng;
  out: string;
  doc: GeneratedDoc;
  budget: number;
}

/** Append a text run, escaping a `]]>` formed across the join. */
function appendText(st: GenState, run: string): void {
  const tail = st.out.slice(-2);
  st.out += (tail + run).replaceAll("]]>", "]]&gt;").slice(tail.length);
}

function genElement(
  st: GenState,
  scope: ReadonlyMap<string, string>,
  depth: number,
  isRoot: boolean,
): void {
  const { rng } = st;
  st.budget--;
  const local = ncname(rng);
  const nsScope = new Map(scope);
  const specs: string[] = [];
  if (rng.chance(0.25)) {
    const uri = rng.chance(0.2) ? "" : rng.pick(NAMESPACES);
    specs.push(`xmlns=${uri}`);
  }
  const declared = new Set<string>();
  const nDecl = rng.chance(0.3) ? 1 + rng.int(3) : 0;
  for (let i = 0; i < nDecl; i++) {
    const prefix = scope.size > 0 && rng.chance(0.4)
      ? rng.pick([...scope.keys()])
      : ncname(rng);
    if (declared.has(prefix)) continue;
    declared.add(prefix);
    let uri = rng.pick(NAMESPACES);
    if (uri === "") uri = "urn:x";
    nsScope.set(prefix, uri);
    specs.push(`xmlns:${prefix}=${uri}`);
  }
  const prefix = nsScope.size > 0 && rng.chance(0.35)
    ? rng.pick([...nsScope.keys()])
    : "";
  const qname = prefix ? `${prefix}:${local}` : local;
  const expanded = new Set<string>();
  const nAttrs = rng.chance(0.3) ? 0 : 1 + rng.int(rng.chance(0.8) ? 3 : 8);
  for (let i = 0; i < nAttrs; i++) {
    const r = rng.next();
    let name: string;
    let key: string;
    if (r < 0.12) {
      const l = rng.pick(["lang", "lang", "space", "base", "id"]);
      name = `xml:${l}`;
      key = name;
    } else if (r < 0.35 && nsScope.size > 0) {
      const p = rng.pick([...nsScope.keys()]);
      const l = ncname(rng);
      name = `${p}:${l}`;
      key = `{${decodeRefs(nsScope.get(p)!)}}${l}`;
    } else {
      name = rng.chance(0.5)
        ? rng.pick(["to", "from", "id", "type", "version", "a", "b"])
        : ncname(rng);
      key = name;
    }
    if (expanded.has(key)) continue;
    expanded.add(key);
    specs.push(`${name}=\0`);
  }
  // Shuffle declarations among attributes.
  for (let i = specs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [specs[i], specs[j]] = [specs[j], specs[i]];
  }
  st.out += `<${qname}`;
  for (const spec of specs) {
    st.out += rng.pick(WS);
    const eq = spec.indexOf("=");
    const name = spec.slice(0, eq);
    const q = rng.chance(0.5) ? "'" : '"';
    const raw = spec.slice(eq + 1);
    const value = raw === "\0" ? attrValue(rng, q) : raw.replaceAll(q, "");
    const start = st.out.length;
    st.out += name +
      (rng.chance(0.85) ? "=" : rng.pick([" = ", "\t=\n", "=\r\n"])) + q;
    st.doc.attrValues.push(st.out.length);
    st.out += value + q;
    st.doc.attrs.push({ text: st.out.slice(start), tagEnd: -1 });
  }
  for (const a of st.doc.attrs) if (a.tagEnd === -1) a.tagEnd = st.out.length;
  if (rng.chance(0.15)) st.out += rng.pick(WS);
  st.doc.tagEnds.push(st.out.length);
  const leaf = st.budget <= 0 || depth >= 7 ||
    rng.chance(isRoot ? 0.04 : 0.25 + depth * 0.1);
  if (leaf && rng.chance(0.6)) {
    st.out += "/>";
    return;
  }
  st.out += ">";
  st.doc.content.push(st.out.length);
  if (!leaf) {
    const n = rng.int(isRoot ? 9 : 5);
    for (let i = 0; i < n && st.budget > 0; i++) {
      const r = rng.next();
      if (r < 0.55) genElement(st, nsScope, depth + 1, false);
      else if (r < 0.9) appendText(st, textRun(rng));
      else st.out += cdata(rng);
      st.doc.content.push(st.out.length);
    }
  } else if (rng.chance(0.7)) {
    if (rng.chance(0.85)) appendText(st, textRun(rng));
    else st.out += cdata(rng);
    st.doc.content.push(st.out.length);
  }
  st.out += "</";
  st.doc.endTagNames.push({ start: st.out.length, length: qname.length });
  st.out += qname + (rng.chance(0.1) ? rng.pick(WS) : "") + ">";
}

function decodeRefs(s: string): string {
  return s.replace(/[\t\n\r]/g, " ").replace(
    /&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g,
    (_, r) => {
      if (r[0] === "#") {
        return String.fromCodePoint(
          r[1] === "x" ? parseInt(r.slice(2), 16) : parseInt(r.slice(1), 10),
        );
      }
      return { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[r as string]!;
    },
  );
}

/**
 * Generate a random well-formed, namespace-valid restricted-XML document: an
 * optional XML declaration, one root (sometimes an XMPP stream header) with
 * nested children, attributes, text, references and CDATA sections.
 *
 * @param rng The random source.
 * @returns The document and the offsets mutations use.
 */
export function generateDocument(rng: Rng): GeneratedDoc {
  const doc: GeneratedDoc = {
    text: "",
    prolog: 0,
    afterRoot: 0,
    content: [],
    tagEnds: [],
    attrValues: [],
    attrs: [],
    endTagNames: [],
  };
  const st: GenState = { rng, out: "", doc, budget: 4 + rng.int(40) };
  const r = rng.next();
  if (r < 0.2) st.out += "<?xml version='1.0'?>";
  else if (r < 0.4) st.out += "<?xml version='1.0' encoding='UTF-8'?>";
  else if (r < 0.45) st.out += '<?xml version="1.0" encoding="utf-8" ?>';
  else if (r < 0.48) {
    st.out += "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>";
  }
  doc.prolog = st.out.length;
  if (rng.chance(0.2)) st.out += rng.pick(WS);
  if (rng.chance(0.3)) {
    // An XMPP stream header as the root.
    const sp = rng.chance(0.8) ? "stream" : ncname(rng);
    st.out +=
      `<${sp}:stream xmlns='jabber:client' xmlns:${sp}='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>`;
    doc.tagEnds.push(st.out.length - 1);
    doc.content.push(st.out.length);
    const n = rng.int(6);
    for (let i = 0; i < n; i++) {
      if (rng.chance(0.3)) st.out += rng.pick(WS);
      else {
        st.budget = 3 + rng.int(12);
        genElement(
          st,
          new Map([[sp, "http://etherx.jabber.org/streams"]]),
          1,
          false,
        );
      }
      doc.content.push(st.out.length);
    }
    st.out += "</";
    doc.endTagNames.push({ start: st.out.length, length: sp.length + 7 });
    st.out += `${sp}:stream>`;
  } else {
    genElement(st, new Map(), 0, true);
  }
  doc.afterRoot = st.out.length;
  if (rng.chance(0.2)) st.out += rng.pick(WS);
  doc.text = st.out;
  return doc;
}

const enc = new TextEncoder();

function insertAt(s: string, at: number, what: string): string {
  return s.slice(0, at) + what + s.slice(at);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

type StructMutation = (rng: Rng, d: GeneratedDoc) => string | Uint8Array;

const ANYWHERE = (rng: Rng, d: GeneratedDoc): number =>
  rng.chance(0.7) && d.content.length > 0
    ? rng.pick(d.content)
    : rng.int(d.text.length + 1);
const TOP = (rng: Rng, d: GeneratedDoc): number =>
  rng.pick([d.prolog, d.afterRoot, d.text.length]);
const CONTENT_OR_TOP = (rng: Rng, d: GeneratedDoc): number =>
  rng.chance(0.7) && d.content.length > 0 ? rng.pick(d.content) : TOP(rng, d);
const VALUE_OR_CONTENT = (rng: Rng, d: GeneratedDoc): number =>
  rng.chance(0.4) && d.attrValues.length > 0
    ? rng.pick(d.attrValues)
    : ANYWHERE(rng, d);
const CONTENT = (rng: Rng, d: GeneratedDoc): number =>
  d.content.length > 0 ? rng.pick(d.content) : TOP(rng, d);
const TAG_END = (rng: Rng, d: GeneratedDoc): number => rng.pick(d.tagEnds);

/** Structure-aware mutations, by name. */
const STRUCT: Record<string, StructMutation> = {
  comment: (rng, d) =>
    insertAt(
      d.text,
      CONTENT_OR_TOP(rng, d),
      `<!--${rng.pick(["x", "", " c ", "a\nb", "-x", "<a>&amp;", "a--b"])}-->`,
    ),
  pi: (rng, d) =>
    insertAt(
      d.text,
      CONTENT_OR_TOP(rng, d),
      rng.pick([
        "<?pi x?>",
        "<?pi?>",
        "<?xml-stylesheet href='a.xsl'?>",
        "<?t  a b ?>",
        "<?xmlfoo?>",
        "<?pi x",
      ]),
    ),
  doctype: (rng, d) =>
    insertAt(
      d.text,
      rng.chance(0.85) ? d.prolog : ANYWHERE(rng, d),
      rng.pick([
        "<!DOCTYPE r>",
        "<!DOCTYPE stream:stream>",
        "<!DOCTYPE r SYSTEM 'r.dtd'>",
        "<!DOCTYPE r [<!ELEMENT r ANY>]>",
        "<!DOCTYPE r [<!ENTITY e 'x'>]>",
        "<!doctype r>",
      ]),
    ),
  undefinedEntity: (rng, d) =>
    insertAt(
      d.text,
      VALUE_OR_CONTENT(rng, d),
      rng.pick(["&foo;", "&nbsp;", "&Amp;", "&lt", "&#x41", "& ", "&#;"]),
    ),
  unboundPrefix: (rng, d) =>
    rng.chance(0.5) ? insertAt(d.text, TAG_END(rng, d), " zz:a='1'") : insertAt(
      d.text,
      CONTENT_OR_TOP(rng, d),
      rng.pick(["<zz:e/>", "<zz:e></zz:e>", "<e zz:a=''/>"]),
    ),
  duplicateAttribute: (rng, d) => {
    if (d.attrs.length > 0 && rng.chance(0.6)) {
      const a = rng.pick(d.attrs);
      return insertAt(d.text, a.tagEnd, " " + a.text);
    }
    return insertAt(
      d.text,
      TAG_END(rng, d),
      rng.pick([
        " d='1' d='2'",
        " xmlns:d1='urn:dup' xmlns:d2='urn:dup' d1:x='1' d2:x='2'",
        " xmlns:p='a' xmlns:p='b'",
        " xmlns='a' xmlns='b'",
        " xml:lang='en' xml:lang='de'",
      ]),
    );
  },
  ltInAttribute: (rng, d) =>
    d.attrValues.length > 0
      ? insertAt(d.text, rng.pick(d.attrValues), rng.pick(["<", "a<b", "&"]))
      : insertAt(d.text, TAG_END(rng, d), " a='<'"),
  cdataEndInText: (rng, d) => insertAt(d.text, CONTENT(rng, d), "]]>"),
  forbiddenChar: (rng, d) =>
    insertAt(
      d.text,
      rng.chance(0.8) ? VALUE_OR_CONTENT(rng, d) : rng.int(d.text.length + 1),
      rng.pick([
        "\u0000",
        "\u0001",
        "\u0008",
        "\u000B",
        "\u000C",
        "\u001F",
        "\uFFFE",
        "\uFFFF",
        "\u{1FFFE}",
        "\u007F",
        "\u0085",
      ]),
    ),
  invalidUtf8: (rng, d) => {
    const b = enc.encode(d.text);
    const multi: number[] = [];
    for (let i = 0; i < b.length; i++) if (b[i] >= 0xc0) multi.push(i);
    if (multi.length > 0 && rng.chance(0.4)) {
      // Truncate a multibyte sequence: drop one or more continuation bytes.
      const i = rng.pick(multi);
      const len = b[i] >= 0xf0 ? 4 : b[i] >= 0xe0 ? 3 : 2;
      const drop = 1 + rng.int(len - 1);
      return concat(b.slice(0, i + len - drop), b.slice(i + len));
    }
    const bad = rng.pick([
      [0xff],
      [0xfe],
      [0x80],
      [0xc0, 0x80],
      [0xc1, 0xbf],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
    ]);
    const at = enc.encode(d.text.slice(0, VALUE_OR_CONTENT(rng, d))).length;
    return concat(b.slice(0, at), new Uint8Array(bad), b.slice(at));
  },
  surrogateRef: (rng, d) =>
    insertAt(
      d.text,
      VALUE_OR_CONTENT(rng, d),
      rng.pick(["&#xD800;", "&#55296;", "&#xDFFF;", "&#xdbff;", "&#57343;"]),
    ),
  badCharRef: (rng, d) =>
    insertAt(
      d.text,
      VALUE_OR_CONTENT(rng, d),
      rng.pick([
        "&#0;",
        "&#x0;",
        "&#1;",
        "&#x1F;",
        "&#x110000;",
        "&#xFFFE;",
        "&#65535;",
        "&#99999999999;",
        "&#X41;",
        "&#x-41;",
        "&# 65;",
        "&#x1G;",
      ]),
    ),
  mismatchedEnd: (rng, d) => {
    if (d.endTagNames.length === 0) return d.text.slice(0, -2) + "></x>";
    const t = rng.pick(d.endTagNames);
    const name = d.text.slice(t.start, t.start + t.length);
    const other = rng.pick([
      name + "x",
      name.slice(1) || "q",
      name.toUpperCase() === name ? name.toLowerCase() : name.toUpperCase(),
      name.includes(":") ? name.slice(name.indexOf(":") + 1) : "p:" + name,
    ]);
    return d.text.slice(0, t.start) + other +
      d.text.slice(t.start + t.length);
  },
  encodingDecl: (rng, d) =>
    rng.pick([
      "<?xml version='1.0' encoding='ISO-8859-1'?>",
      "<?xml version='1.0' encoding='UTF-16'?>",
      "<?xml version='1.0' encoding='US-ASCII'?>",
      "<?xml version='1.0' encoding='latin1'?>",
      "<?xml version='1.0' encoding='Utf-8'?>",
      "<?xml version='1.0' encoding=''?>",
      "<?xml version='1.0' encoding='UTF 8'?>",
    ]) + d.text.slice(d.prolog),
  xmlDecl: (rng, d) =>
    rng.pick([
      "<?xml version='1.1'?>",
      "<?xml version='2.0'?>",
      "<?xml version='1.0' standalone='no'?>",
      "<?xml version='1.0' standalone='maybe'?>",
      "<?xml encoding='UTF-8'?>",
      "<?xml version='1.0'encoding='UTF-8'?>",
      "<?xml version=\"1.0'?>",
      "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>",
      "<?xml standalone='yes' version='1.0'?>",
      "<?xml version = '1.0' ?>",
      "<?xml\tversion='1.0'?>",
      " <?xml version='1.0'?>",
      "<?XML version='1.0'?>",
    ]) + d.text.slice(d.prolog),
  bom: (_rng, d) =>
    concat(new Uint8Array([0xef, 0xbb, 0xbf]), enc.encode(d.text)),
  misplacedXmlDecl: (rng, d) =>
    insertAt(d.text, CONTENT_OR_TOP(rng, d), "<?xml version='1.0'?>"),
  textOutsideRoot: (rng, d) =>
    insertAt(
      d.text,
      rng.pick([d.prolog, d.afterRoot]),
      rng.pick(["x", "&amp;", "&#32;", "<![CDATA[ ]]>", " \n", "\u00A0"]),
    ),
  secondRoot: (rng, d) =>
    insertAt(d.text, d.afterRoot, rng.pick(["<b/>", "<r></r>", "</r>"])),
  truncate: (rng, d) => d.text.slice(0, rng.int(d.text.length)),
  undeclarePrefix: (rng, d) =>
    insertAt(d.text, TAG_END(rng, d), rng.pick([" xmlns:p=''", ' xmlns:p=""'])),
  reservedNamespace: (rng, d) =>
    insertAt(
      d.text,
      TAG_END(rng, d),
      rng.pick([
        " xmlns:xml='urn:x'",
        " xmlns:xml='http://www.w3.org/XML/1998/namespace'",
        " xmlns:xmlns='urn:x'",
        " xmlns:p='http://www.w3.org/2000/xmlns/'",
        " xmlns:p='http://www.w3.org/XML/1998/namespace'",
        " xmlns='http://www.w3.org/XML/1998/namespace'",
        " xmlns='http://www.w3.org/2000/xmlns/'",
        " xmlns:a:b='urn:x'",
        " xmlns:='urn:x'",
        " xml:lang='x' xmlns:xml='http://www.w3.org/XML/1998/namespace'",
      ]),
    ),
  badName: (rng, d) =>
    insertAt(
      d.text,
      CONTENT_OR_TOP(rng, d),
      rng.pick([
        "<1a/>",
        "<-a/>",
        "<.a/>",
        "<a:b:c xmlns:a='u'/>",
        "<:a/>",
        "<a:/>",
        "<a\u00D7b/>",
        "<a\u037Eb/>",
        "<\u00B7a/>",
        "<a\u00B7b/>",
        "<a\u0300/>",
        "<\u0300a/>",
        "<\u{F0000}/>",
        "<a\u2000/>",
        "<e \u00B7a='1'/>",
        "<e a\u00D7='1'/>",
        "<e 1a='1'/>",
        "<a:9b xmlns:a='u'/>",
        "<xmlns:a/>",
        "<xml:a/>",
        "<e xmlns:a='u' a:xmlns='1'/>",
        "<e xmlns:a='u' xmlns='1' a:xmlns='1'/>",
        "<a:-b xmlns:a='u'></a:-b>",
        "<e a:.x='1' xmlns:a='u'/>",
        "<e xmlns:9='u'/>",
        "<e xmlns:a='u' a:\u00B7x='1'/>",
      ]),
    ),
  attributeSyntax: (rng, d) =>
    insertAt(
      d.text,
      TAG_END(rng, d),
      rng.pick([
        "a='1'",
        " a=1",
        " a",
        " a=",
        " a='1",
        " a='1'b='2'",
        " ='1'",
        " a=='1'",
        " / ",
        " a='1'/",
      ]),
    ),
  strayMarkup: (rng, d) =>
    insertAt(
      d.text,
      CONTENT_OR_TOP(rng, d),
      rng.pick([
        "<",
        "< a/>",
        "</>",
        "<>",
        "<a",
        "<a/",
        "<![CDATA[x",
        "<![cdata[x]]>",
        "<![CDATA [x]]>",
        "<!x>",
        "</ a>",
        "<!-x-->",
        "<a></a>",
        "<?>",
      ]),
    ),
  benignText: (rng, d) =>
    insertAt(
      d.text,
      rng.chance(0.8) ? CONTENT(rng, d) : TOP(rng, d),
      rng.pick([
        " ",
        "\r\n",
        "\r",
        ">",
        "]]",
        "&#93;]>",
        "x\r\n\ry",
        "<![CDATA[]]>",
        "<e/>",
        "<e\t/>",
        "\u{10FFFF}",
      ]),
    ),
};

/** The names of the structure-aware mutations. */
export const STRUCT_MUTATIONS: readonly string[] = Object.keys(STRUCT);

const INTERESTING = [...enc.encode("<>&;'\"/=!?[]-:# \t\r\nax0xmlns")];

function byteMutate(rng: Rng, input: Uint8Array): Uint8Array {
  let b = input;
  const ops = 1 + rng.int(3);
  for (let k = 0; k < ops; k++) {
    const at = rng.int(b.length + 1);
    const len = 1 + rng.int(rng.chance(0.8) ? 4 : 16);
    const end = Math.min(b.length, at + len);
    switch (rng.int(6)) {
      case 0: // delete a range
        b = concat(b.slice(0, at), b.slice(end));
        break;
      case 1: { // insert random bytes
        const ins = new Uint8Array(len);
        for (let i = 0; i < len; i++) {
          ins[i] = rng.chance(0.8) ? rng.pick(INTERESTING) : rng.int(256);
        }
        b = concat(b.slice(0, at), ins, b.slice(at));
        break;
      }
      case 2: { // replace a range
        const rep = b.slice(at, end);
        for (let i = 0; i < rep.length; i++) {
          rep[i] = rng.chance(0.7) ? rng.pick(INTERESTING) : rng.int(256);
        }
        b = concat(b.slice(0, at), rep, b.slice(end));
        break;
      }
      case 3: { // duplicate a range elsewhere
        const to = rng.int(b.length + 1);
        b = concat(b.slice(0, to), b.slice(at, end), b.slice(to));
        break;
      }
      case 4: { // flip a bit
        if (b.length === 0) break;
        const i = rng.int(b.length);
        b = b.slice();
        b[i] ^= 1 << rng.int(8);
        break;
      }
      default: { // swap adjacent bytes
        if (b.length < 2) break;
        const i = rng.int(b.length - 1);
        b = b.slice();
        [b[i], b[i + 1]] = [b[i + 1], b[i]];
      }
    }
  }
  return b;
}

/** One fuzz input and how it was made. */
export interface FuzzInput {
  /** The bytes to parse. */
  bytes: Uint8Array;
  /** The mutation applied: `none`, a structure-aware name, `bytes` or `name+bytes`. */
  mutation: string;
}

/**
 * Make one fuzz input: a generated document, left as is or mutated with a
 * structure-aware mutation, byte-level edits, or both.
 *
 * @param rng The random source.
 * @returns The input bytes and the mutation label.
 */
export function makeInput(rng: Rng): FuzzInput {
  const doc = generateDocument(rng);
  const r = rng.next();
  if (r < 0.36) return { bytes: enc.encode(doc.text), mutation: "none" };
  if (r < 0.56) {
    return {
      bytes: byteMutate(rng, enc.encode(doc.text)),
      mutation: "bytes",
    };
  }
  const name = rng.pick(STRUCT_MUTATIONS);
  const m = STRUCT[name](rng, doc);
  let bytes = typeof m === "string" ? enc.encode(m) : m;
  let mutation = name;
  if (r > 0.95) {
    bytes = byteMutate(rng, bytes);
    mutation += "+bytes";
  }
  return { bytes, mutation };
}
