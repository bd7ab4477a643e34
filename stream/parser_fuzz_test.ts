/**
 * Differential fuzz test of {@linkcode XmlParser} against saxes.
 *
 * Random well-formed restricted-XML documents (and mutations of them) go
 * through saxes (`xmlns: true`, XML 1.0) and through our parser, fed in random
 * chunks. Both must accept or both reject, except that a document saxes
 * accepts must be rejected by ours when it holds a comment, a processing
 * instruction or a DTD (`restricted-xml`) or declares an encoding other than
 * UTF-8 (`unsupported-encoding`), or starts with a BOM: RFC 6120 §11.6 says
 * U+FEFF is always a zero width no-break space, never a byte order mark, so
 * it is text before the root (`not-well-formed`). An XML declaration with a
 * version other than 1.0 may be either accepted or rejected. Documents both
 * accept must give identical trees.
 *
 * Environment: `FUZZ_CASES` (default 20000), `FUZZ_SEED` (default random,
 * printed), `FUZZ_ONLY` (replay one case index of that seed, verbosely).
 *
 * @module
 */

import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test/bench-only dependency
import { SaxesParser } from "npm:saxes@6";
import { type ParseEvent, XmlParser } from "./parser.ts";
import { Element } from "./element.ts";
import { StreamError } from "./stream_error.ts";
import { caseSeed, generateDocument, makeInput, Rng } from "./_fuzz_gen.ts";

const XMLNS_NS = "http://www.w3.org/2000/xmlns/";
const XML_NS = "http://www.w3.org/XML/1998/namespace";
/** XML 1.0 (5th ed.) NameStartChar without ':'. */
const NAME_START =
  /^[A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}]/u;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Canonical trees

/** A canonical element: name, ns, sorted attributes, merged text. */
interface CElem {
  name: string;
  ns: string;
  attrs: [string, string][];
  children: (CElem | string)[];
}

function pushText(children: (CElem | string)[], text: string): void {
  if (text === "") return;
  const last = children.length - 1;
  if (last >= 0 && typeof children[last] === "string") {
    children[last] += text;
  } else children.push(text);
}

function sortAttrs(attrs: [string, string][]): [string, string][] {
  return attrs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function attrKey(uri: string, local: string): string {
  return uri === ""
    ? local
    : uri === XML_NS
    ? `xml:${local}`
    : `{${uri}}${local}`;
}

/** Trim namespace URIs as saxes does (for documents where it matters). */
function trimNs(e: CElem): CElem {
  return {
    name: e.name,
    ns: e.ns.trim(),
    attrs: sortAttrs(
      e.attrs.map((
        [k, v],
      ) => [k.replace(/^\{([^}]*)\}/, (_, u) => `{${u.trim()}}`), v]),
    ),
    children: e.children.map((c) => typeof c === "string" ? c : trimNs(c)),
  };
}

/** Render a canonical tree (compact, for comparison and reports). */
function show(e: CElem | string): string {
  return JSON.stringify(e);
}

function truncate(s: string, n = 400): string {
  return s.length > n ? s.slice(0, n) + `…(+${s.length - n})` : s;
}

/** Describe the first difference between two canonical trees. */
function diff(a: CElem, b: CElem, path = ""): { kind: string; text: string } {
  const here = `${path}/${a.name}`;
  if (a.name !== b.name) {
    return {
      kind: "name",
      text: `${path}: saxes <${a.name}> vs ours <${b.name}>`,
    };
  }
  if (a.ns !== b.ns) {
    return {
      kind: "ns",
      text: `${here}: ns saxes ${JSON.stringify(a.ns)} vs ours ${
        JSON.stringify(b.ns)
      }`,
    };
  }
  const aa = JSON.stringify(a.attrs), ba = JSON.stringify(b.attrs);
  if (aa !== ba) {
    const keysA = a.attrs.map((x) => x[0]).join(","),
      keysB = b.attrs.map((x) => x[0]).join(",");
    return {
      kind: keysA === keysB ? "attr-value" : "attr-keys",
      text: `${here}: attrs saxes ${aa} vs ours ${ba}`,
    };
  }
  const n = Math.min(a.children.length, b.children.length);
  for (let i = 0; i < n; i++) {
    const x = a.children[i], y = b.children[i];
    if (typeof x === "string" || typeof y === "string") {
      if (x !== y) {
        return {
          kind: typeof x === typeof y ? "text" : "structure",
          text: `${here}[child ${i}]: saxes ${truncate(show(x), 150)} vs ours ${
            truncate(show(y), 150)
          }`,
        };
      }
    } else {
      const d = diff(x, y, here);
      if (d.kind !== "") return d;
    }
  }
  if (a.children.length !== b.children.length) {
    return {
      kind: "structure",
      text:
        `${here}: ${a.children.length} children (saxes) vs ${b.children.length} (ours); extra: ${
          truncate(show((a.children[n] ?? b.children[n])!), 150)
        }`,
    };
  }
  return { kind: "", text: "" };
}

// ---------------------------------------------------------------------------
// saxes side

type SaxesOutcome =
  | {
    ok: true;
    tree: CElem;
    /** Restricted constructs seen: "comment", "pi", "doctype". */
    restricted: string[];
    encoding?: string;
    version?: string;
    bom: boolean;
    nsTrim: boolean;
  }
  | { ok: false; error: string; invalidUtf8: boolean; nsTrim?: boolean };

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });
const lossyDecoder = new TextDecoder("utf-8");
const displayDecoder = new TextDecoder("utf-8", {
  fatal: true,
  ignoreBOM: true,
});

function saxesText(text: string, bom: boolean): SaxesOutcome {
  const p = new SaxesParser({
    xmlns: true,
    position: false,
    forceXMLVersion: true,
    defaultXMLVersion: "1.0",
  });
  const stack: CElem[] = [];
  let root: CElem | undefined;
  const restricted: string[] = [];
  let encoding: string | undefined, version: string | undefined;
  p.on("xmldecl", (d) => {
    encoding = d.encoding;
    version = d.version;
  });
  // saxes does not check that a QName's local part is an NCName (`a:9b`).
  let lenient: string | undefined;
  // saxes trims (String.prototype.trim) namespace declaration values; XML
  // does not. Such documents are judged leniently.
  let nsTrim = false;
  p.on("attribute", (a) => {
    if (
      (a.name === "xmlns" || a.name.startsWith("xmlns:")) &&
      a.value !== a.value.trim()
    ) nsTrim = true;
  });
  p.on("opentag", (tag) => {
    if (tag.prefix !== "" && !NAME_START.test(tag.local)) lenient ??= tag.name;
    const attrs: [string, string][] = [];
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix !== "" && !NAME_START.test(a.local)) lenient ??= a.name;
      if (a.uri === XMLNS_NS) continue;
      attrs.push([attrKey(a.uri, a.local), a.value]);
    }
    const e: CElem = {
      name: tag.local,
      ns: tag.uri,
      attrs: sortAttrs(attrs),
      children: [],
    };
    if (stack.length > 0) stack[stack.length - 1].children.push(e);
    stack.push(e);
  });
  const onText = (t: string) => {
    if (stack.length > 0) pushText(stack[stack.length - 1].children, t);
  };
  p.on("text", onText);
  p.on("cdata", onText);
  p.on("closetag", () => {
    const e = stack.pop()!;
    if (stack.length === 0) root = e;
  });
  p.on("comment", () => restricted.push("comment"));
  p.on("processinginstruction", () => restricted.push("pi"));
  p.on("doctype", () => restricted.push("doctype"));
  try {
    p.write(text);
    p.close();
  } catch (e) {
    return {
      ok: false,
      error: (e as Error).message,
      invalidUtf8: false,
      nsTrim,
    };
  }
  if (!root) {
    return { ok: false, error: "no root (saxes accepted)", invalidUtf8: false };
  }
  if (lenient !== undefined) {
    return {
      ok: false,
      error: `qname local part is not an ncname: ${
        JSON.stringify(lenient)
      } (saxes accepts it; the harness rejects it)`,
      invalidUtf8: false,
    };
  }
  return { ok: true, tree: root, restricted, encoding, version, bom, nsTrim };
}

function runSaxes(bytes: Uint8Array): SaxesOutcome {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  let text: string;
  try {
    text = fatalDecoder.decode(bytes);
  } catch {
    return { ok: false, error: "invalid UTF-8", invalidUtf8: true };
  }
  return saxesText(text, bom);
}

// ---------------------------------------------------------------------------
// our side

type OursOutcome =
  | {
    ok: true;
    tree: CElem;
    /** open + element + close events seen after each write. */
    progress: number[];
  }
  | { ok: false; condition: string; message: string }
  | { crash: string }
  | { protocol: string };

function fromElement(e: unknown, path: string): CElem {
  if (!(e instanceof Element)) {
    throw new ProtocolError(`${path}: not an Element`);
  }
  const attrs = sortAttrs(Object.entries(e.attrs));
  for (const [, v] of attrs) {
    if (typeof v !== "string") {
      throw new ProtocolError(`${path}: non-string attribute`);
    }
  }
  const out: CElem = { name: e.name, ns: e.ns, attrs, children: [] };
  for (const c of e.children) {
    if (typeof c === "string") pushText(out.children, c);
    else out.children.push(fromElement(c, `${path}/${e.name}`));
  }
  return out;
}

class ProtocolError extends Error {}

interface Feed {
  /** Chunk sizes; 0-size writes allowed. */
  chunks: number[];
  /** Overwrite each chunk's buffer right after writing it. */
  scribble: boolean;
}

function runOurs(bytes: Uint8Array, feed: Feed): OursOutcome {
  let root: CElem | undefined;
  let closed = false;
  let marks = 0;
  const progress: number[] = [];
  const onEvents = (events: ParseEvent[]) => {
    if (!Array.isArray(events)) {
      throw new ProtocolError("write/end did not return an array");
    }
    for (const ev of events) {
      if (closed) throw new ProtocolError(`"${ev.type}" event after "close"`);
      switch (ev.type) {
        case "open":
          if (root) throw new ProtocolError("second open event");
          if (!(ev.element instanceof Element)) {
            throw new ProtocolError("open: not an Element");
          }
          if (ev.element.children.length !== 0) {
            throw new ProtocolError("open element has children");
          }
          root = fromElement(ev.element, "");
          marks++;
          break;
        case "element":
          if (!root) throw new ProtocolError("element event before open");
          root.children.push(fromElement(ev.element, `/${root.name}`));
          marks++;
          break;
        case "text":
          if (!root) throw new ProtocolError("text event before open");
          if (typeof ev.text !== "string") {
            throw new ProtocolError("text: not a string");
          }
          pushText(root.children, ev.text);
          break;
        case "close":
          if (!root) throw new ProtocolError("close event before open");
          closed = true;
          marks++;
          break;
        default:
          throw new ProtocolError(`unknown event ${JSON.stringify(ev)}`);
      }
    }
  };
  try {
    const p = new XmlParser();
    let o = 0;
    for (const size of feed.chunks) {
      const chunk = bytes.slice(o, o + size);
      o += size;
      onEvents(p.write(chunk));
      progress.push(marks);
      if (feed.scribble) chunk.fill(0x3f);
    }
    onEvents(p.end());
  } catch (e) {
    if (e instanceof StreamError) {
      return { ok: false, condition: e.condition, message: e.message };
    }
    if (e instanceof ProtocolError) return { protocol: e.message };
    const err = e as Error;
    return { crash: `${err?.name}: ${err?.message}\n${err?.stack ?? ""}` };
  }
  if (!root || !closed) {
    return {
      protocol: "accepted (end() returned) without open and close events",
    };
  }
  return { ok: true, tree: root, progress };
}

/**
 * Feed saxes the same chunks (decoded as a stream) and count, after each
 * write, the root start tag, the depth-1 elements and the root end tag seen:
 * saxes reports each as soon as its `>` arrives.
 */
function saxesProgress(bytes: Uint8Array, chunks: number[]): number[] {
  const p = new SaxesParser({
    xmlns: true,
    position: false,
    forceXMLVersion: true,
    defaultXMLVersion: "1.0",
  });
  const dec = new TextDecoder("utf-8", { fatal: true });
  let depth = 0, marks = 0;
  p.on("opentag", () => {
    if (depth++ === 0) marks++;
  });
  p.on("closetag", () => {
    if (--depth <= 1) marks++;
  });
  const out: number[] = [];
  let o = 0;
  for (const size of chunks) {
    p.write(dec.decode(bytes.subarray(o, o + size), { stream: true }));
    o += size;
    out.push(marks);
  }
  return out;
}

/** Judge a case: outcomes, then (when both accept) event timeliness. */
function fullJudge(
  c: Case,
  s: SaxesOutcome,
  o: OursOutcome = runOurs(c.bytes, c.feed),
): Verdict {
  const v = judge(s, o);
  return v.bucket === "accepted-both" ? lateness(c, o) ?? v : v;
}

/** A late-events verdict, if ours reported something later than saxes. */
function lateness(c: Case, o: OursOutcome): Verdict | undefined {
  if (!("ok" in o) || !o.ok) return undefined;
  const sp = saxesProgress(c.bytes, c.feed.chunks);
  let at = 0;
  for (let k = 0; k < sp.length; k++) {
    if (o.progress[k] < sp[k]) {
      return {
        bucket: "disagreement",
        kind: "late-events",
        signature: "late-events: open/element/close not emitted by the write " +
          "that completed it",
        detail: `after write #${k} (input bytes 0..${
          at + c.feed.chunks[k]
        }) saxes had reported ${sp[k]} open/element/close events, ours ${
          o.progress[k]
        }`,
      };
    }
    at += c.feed.chunks[k];
  }
  return undefined;
}

function chunkPlan(rng: Rng, len: number): Feed {
  const scribble = rng.chance(0.25);
  const r = rng.next();
  if (r < 0.15) return { chunks: [len], scribble };
  if (r < 0.25) return { chunks: new Array(len).fill(1), scribble };
  const max = rng.pick([2, 3, 5, 8, 16, 64, 256]);
  const chunks: number[] = [];
  for (let left = len; left > 0;) {
    if (rng.chance(0.03)) chunks.push(0);
    const s = Math.min(left, 1 + rng.int(max));
    chunks.push(s);
    left -= s;
  }
  return { chunks, scribble };
}

const WHOLE = (len: number): Feed => ({ chunks: [len], scribble: false });
const BYTEWISE = (len: number): Feed => ({
  chunks: new Array(len).fill(1),
  scribble: false,
});

// ---------------------------------------------------------------------------
// Judging

type Bucket =
  | "accepted-both"
  | "rejected-both"
  | "restricted-xml exception"
  | "encoding exception"
  | "bom rejected"
  | "version rejected"
  | "saxes ns-trim quirk"
  | "disagreement";

interface Verdict {
  bucket: Bucket;
  /** For disagreements: coarse kind, and a finer signature for grouping. */
  kind?: string;
  signature?: string;
  detail?: string;
}

/** Reduce an error message to its fixed words, for grouping. */
function gist(msg: string): string {
  return msg
    .replace(/^stream error <[^>]*>: ?/, "")
    .replace(/^\d+:\d+: /, "")
    .replace(/"[^"]*"|'[^']*'|<[^>]*>|`[^`]*`/g, " ")
    .replace(/: .*$/s, "")
    .split(/\s+/)
    .map((w) => w.replace(/[.,;:]+$/, ""))
    .filter((w) => /^[a-z][a-z-]*$/.test(w))
    .join(" ")
    .slice(0, 70);
}

function oursShow(o: OursOutcome): string {
  if ("crash" in o) return `CRASH ${truncate(o.crash, 600)}`;
  if ("protocol" in o) return `EVENT PROTOCOL VIOLATION: ${o.protocol}`;
  if (o.ok) return `accept ${truncate(show(o.tree))}`;
  return `reject <${o.condition}> ${JSON.stringify(o.message)}`;
}

function saxesShow(s: SaxesOutcome): string {
  if (!s.ok) return `reject ${JSON.stringify(s.error)}`;
  const extra = [
    s.restricted.length ? `restricted=${s.restricted.join(",")}` : "",
    s.encoding !== undefined ? `encoding=${s.encoding}` : "",
    s.version !== undefined && s.version !== "1.0"
      ? `version=${s.version}`
      : "",
    s.bom ? "bom" : "",
  ].filter(Boolean).join(" ");
  return `accept${extra ? ` [${extra}]` : ""} ${truncate(show(s.tree))}`;
}

function judge(s: SaxesOutcome, o: OursOutcome): Verdict {
  if ("crash" in o) {
    const first = o.crash.split("\n")[0];
    return {
      bucket: "disagreement",
      kind: "crash",
      signature: `crash: ${first.replace(/\d+/g, "N").slice(0, 80)}`,
    };
  }
  if ("protocol" in o) {
    return {
      bucket: "disagreement",
      kind: "event-protocol",
      signature: `event-protocol: ${
        o.protocol.replace(/\d+/g, "N").slice(0, 60)
      }`,
    };
  }
  if (s.nsTrim && s.ok !== o.ok) return { bucket: "saxes ns-trim quirk" };
  if (!s.ok) {
    if (!o.ok) return { bucket: "rejected-both" };
    return {
      bucket: "disagreement",
      kind: "false-accept",
      signature: `false-accept: saxes says "${gist(s.error)}"`,
    };
  }
  const nonUtf8 = s.encoding !== undefined && !/^utf-8$/i.test(s.encoding);
  const allowed = new Map<string, Bucket>();
  if (s.restricted.length > 0) {
    allowed.set("restricted-xml", "restricted-xml exception");
  }
  if (nonUtf8) allowed.set("unsupported-encoding", "encoding exception");
  if (s.bom) allowed.set("not-well-formed", "bom rejected");
  const oddVersion = s.version !== undefined && s.version !== "1.0";
  if (o.ok) {
    if (s.bom) {
      return {
        bucket: "disagreement",
        kind: "bom-accepted",
        signature: "bom-accepted: U+FEFF before the root must be refused",
      };
    }
    if (s.restricted.length > 0) {
      return {
        bucket: "disagreement",
        kind: "restricted-accepted",
        signature: `restricted-accepted: ${
          [...new Set(s.restricted)].join("+")
        }`,
      };
    }
    if (nonUtf8) {
      return {
        bucket: "disagreement",
        kind: "encoding-accepted",
        signature: `encoding-accepted: encoding='${s.encoding}'`,
      };
    }
    const d = s.nsTrim
      ? diff(trimNs(s.tree), trimNs(o.tree))
      : diff(s.tree, o.tree);
    if (d.kind === "") return { bucket: "accepted-both" };
    return {
      bucket: "disagreement",
      kind: "tree-mismatch",
      signature: `tree-mismatch: ${d.kind}`,
      detail: d.text,
    };
  }
  const b = allowed.get(o.condition);
  if (b) return { bucket: b };
  if (oddVersion) return { bucket: "version rejected" };
  if (s.bom) {
    return {
      bucket: "disagreement",
      kind: "bom-rejected",
      signature: `bom-rejected: leading BOM -> <${o.condition}> ${
        gist(o.message)
      } (RFC 6120 §11.6: U+FEFF is text, so <not-well-formed>)`,
    };
  }
  if (s.restricted.length > 0) {
    return {
      bucket: "disagreement",
      kind: "restricted-wrong-condition",
      signature: `restricted-wrong-condition: ${
        s.restricted.join("+")
      } -> <${o.condition}>`,
    };
  }
  return {
    bucket: "disagreement",
    kind: "false-reject",
    signature: `false-reject: <${o.condition}> ${gist(o.message)}`,
  };
}

/** Shrink key: what must stay the same while shrinking. */
function shrinkKey(v: Verdict): string {
  if (v.kind === "crash") return "crash";
  if (v.kind === "event-protocol") return "event-protocol";
  return v.signature ?? v.bucket;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function shrink(
  input: Uint8Array,
  pred: (b: Uint8Array) => boolean,
  budget = 20000,
): Uint8Array {
  let cur = input;
  const cut = (from: number, to: number) =>
    concat(cur.slice(0, from), cur.slice(to));
  for (let round = 0; round < 3; round++) {
    const before = cur.length;
    // Markup-aware pass: drop whole tags and whole elements.
    for (let i = 0; i < cur.length && budget > 0; i++) {
      if (cur[i] !== 0x3c) continue; // "<"
      let gts = 0;
      for (let j = i + 1; j < cur.length && gts < 24 && budget > 0; j++) {
        if (cur[j] !== 0x3e) continue; // ">"
        gts++;
        budget--;
        const cand = cut(i, j + 1);
        if (pred(cand)) {
          cur = cand;
          i--;
          break;
        }
      }
    }
    // ddmin-style pass over byte ranges.
    let n = 2;
    while (cur.length >= 2 && budget > 0) {
      const size = Math.ceil(cur.length / n);
      let reduced = false;
      for (let i = 0; i < cur.length && budget > 0; i += size) {
        const cand = cut(i, i + size);
        budget--;
        if (pred(cand)) {
          cur = cand;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (n >= cur.length) break;
        n = Math.min(cur.length, n * 2);
      }
    }
    if (cur.length === before) break;
  }
  return cur;
}

/** JSON-escape bytes, showing invalid UTF-8 bytes as `\xNN`. */
function showBytes(bytes: Uint8Array): string {
  const esc = (t: string) =>
    JSON.stringify(t).replace(
      /[\u007F-\u009F\u00AD\u200B-\u200F\u2028\u2029\uFEFF\uFFF0-\uFFFF]/g,
      (ch) =>
        `\\u${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`,
    );
  try {
    return esc(displayDecoder.decode(bytes));
  } catch {
    let out = "";
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      const len = b < 0x80
        ? 1
        : b >= 0xc2 && b < 0xe0
        ? 2
        : b >= 0xe0 && b < 0xf0
        ? 3
        : b >= 0xf0 && b < 0xf5
        ? 4
        : 0;
      if (len > 0 && i + len <= bytes.length) {
        try {
          out += esc(displayDecoder.decode(bytes.subarray(i, i + len)))
            .slice(1, -1);
          i += len;
          continue;
        } catch { /* fall through */ }
      }
      out += `\\x${b.toString(16).toUpperCase().padStart(2, "0")}`;
      i++;
    }
    return `"${out}" (invalid UTF-8; \\xNN = raw byte)`;
  }
}

// ---------------------------------------------------------------------------
// The test

interface Case {
  index: number;
  mutation: string;
  bytes: Uint8Array;
  feed: Feed;
}

function makeCase(seed: number, index: number): Case {
  const rng = new Rng(caseSeed(seed, index));
  const { bytes, mutation } = makeInput(rng);
  return { index, mutation, bytes, feed: chunkPlan(rng, bytes.length) };
}

interface Disagreement {
  c: Case;
  verdict: Verdict;
  saxes: SaxesOutcome;
  ours: OursOutcome;
}

function report(
  seed: number,
  d: Disagreement,
  n: number,
  shrinkIt = true,
): string {
  const { c, verdict } = d;
  const lines = [
    `#${n} [${verdict.signature}]`,
    `  case ${c.index} (mutation: ${c.mutation}); replay: FUZZ_SEED=${seed} FUZZ_ONLY=${c.index}`,
    `  feed: ${c.feed.chunks.length} writes (${
      truncate(c.feed.chunks.join(","), 80)
    })${c.feed.scribble ? ", buffers overwritten after write" : ""}`,
    `  input (${c.bytes.length} bytes): ${truncate(showBytes(c.bytes), 1500)}`,
    `  saxes: ${saxesShow(d.saxes)}`,
    `  ours:  ${oursShow(d.ours)}`,
  ];
  if (verdict.detail) lines.push(`  diff:  ${verdict.detail}`);
  // Is it about chunking? Which deterministic feed reproduces it?
  const key = shrinkKey(verdict);
  const saxes = d.saxes;
  const repro = (feed: (len: number) => Feed) => (b: Uint8Array): boolean => {
    const s = b === c.bytes ? saxes : runSaxes(b);
    return shrinkKey(fullJudge({ ...c, bytes: b, feed: feed(b.length) }, s)) ===
      key;
  };
  const whole = repro(WHOLE)(c.bytes), bytewise = repro(BYTEWISE)(c.bytes);
  const unscribbled = c.feed.scribble
    ? repro(() => ({ chunks: c.feed.chunks, scribble: false }))(c.bytes)
    : true;
  lines.push(
    `  reproduces fed whole: ${whole}; fed byte by byte: ${bytewise}${
      c.feed.scribble ? `; same chunks without overwriting: ${unscribbled}` : ""
    }`,
  );
  if (shrinkIt && (whole || bytewise)) {
    const pred = repro(whole ? WHOLE : BYTEWISE);
    const small = shrink(c.bytes, pred);
    if (small.length < c.bytes.length) {
      const s = runSaxes(small);
      const feed = (whole ? WHOLE : BYTEWISE)(small.length);
      const o = runOurs(small, feed);
      const v = fullJudge({ ...c, bytes: small, feed }, s, o);
      lines.push(
        `  shrunk (${small.length} bytes, fed ${
          whole ? "whole" : "byte by byte"
        }): ${truncate(showBytes(small), 600)}`,
        `    saxes: ${saxesShow(s)}`,
        `    ours:  ${oursShow(o)}`,
      );
      if (v.detail) lines.push(`    diff:  ${v.detail}`);
    }
  }
  return lines.join("\n");
}

function table(counts: Map<string, number>, total?: number): string {
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) =>
    `    ${String(v).padStart(7)}${
      total ? ` (${(100 * v / total).toFixed(1)}%)` : ""
    }  ${k}`
  ).join("\n");
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

Deno.test("XmlParser vs saxes: differential fuzz", async (t) => {
  const seedEnv = env("FUZZ_SEED");
  const seed = seedEnv !== undefined
    ? Number(seedEnv) >>> 0
    : crypto.getRandomValues(new Uint32Array(1))[0];
  const cases = Number(env("FUZZ_CASES") ?? 20000);
  const only = env("FUZZ_ONLY");
  console.log(
    `fuzz seed: ${seed} (replay with FUZZ_SEED=${seed}); cases: ${
      only ?? cases
    }`,
  );

  if (only !== undefined) {
    await t.step(`replay case ${only}`, () => {
      const c = makeCase(seed, Number(only));
      const s = runSaxes(c.bytes);
      const o = runOurs(c.bytes, c.feed);
      const v = fullJudge(c, s, o);
      console.log(
        v.bucket === "disagreement"
          ? report(seed, { c, verdict: v, saxes: s, ours: o }, 1)
          : `${v.bucket}\n  input: ${showBytes(c.bytes)}\n  saxes: ${
            saxesShow(s)
          }\n  ours:  ${oursShow(o)}`,
      );
      assert.notEqual(v.bucket, "disagreement");
    });
    return;
  }

  await t.step(
    "generated documents are well-formed (saxes accepts them)",
    () => {
      let bad = 0;
      const examples: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const rng = new Rng(caseSeed(seed ^ 0x5eed, i));
        const bytes = new TextEncoder().encode(generateDocument(rng).text);
        const s = runSaxes(bytes);
        if (!s.ok || s.restricted.length > 0) {
          bad++;
          if (examples.length < 3) {
            examples.push(`${showBytes(bytes)}\n  -> ${saxesShow(s)}`);
          }
        }
      }
      assert.equal(
        bad,
        0,
        `generator made ${bad} bad documents:\n${examples.join("\n")}`,
      );
    },
  );

  await t.step(`${cases} cases agree`, () => {
    const start = performance.now();
    const buckets = new Map<string, number>();
    const kinds = new Map<string, number>();
    const signatures = new Map<string, number>();
    const conditions = new Map<string, number>();
    const encodingNotes = new Map<string, number>();
    const encodingExamples: string[] = [];
    const perMutation = new Map<string, Map<string, number>>();
    const bySignature = new Map<string, Disagreement[]>();
    let bytes = 0;
    for (let i = 0; i < cases; i++) {
      const c = makeCase(seed, i);
      bytes += c.bytes.length;
      const s = runSaxes(c.bytes);
      const o = runOurs(c.bytes, c.feed);
      const v = fullJudge(c, s, o);
      bump(buckets, v.bucket);
      const mut = c.mutation.replace("+bytes", "");
      if (!perMutation.has(mut)) perMutation.set(mut, new Map());
      bump(
        perMutation.get(mut)!,
        v.bucket === "rejected-both" && "condition" in o
          ? `rejected-both/${o.condition}`
          : v.bucket,
      );
      if (v.bucket === "rejected-both" && "condition" in o) {
        bump(conditions, o.condition);
        if (!s.ok && s.invalidUtf8) {
          // Invalid UTF-8 that is otherwise fine should be unsupported-encoding.
          const lossy = saxesText(lossyDecoder.decode(c.bytes), false);
          if (lossy.ok && lossy.restricted.length === 0) {
            bump(encodingNotes, `<${o.condition}>`);
            if (
              o.condition !== "unsupported-encoding" &&
              encodingExamples.length < 3
            ) {
              encodingExamples.push(
                `case ${i}, fed ${c.feed.chunks.length} writes: ${
                  truncate(showBytes(c.bytes), 300)
                }\n      ours: ${oursShow(o)}\n      fed whole: ${
                  oursShow(runOurs(c.bytes, WHOLE(c.bytes.length)))
                }`,
              );
            }
          }
        }
      }
      if (v.bucket === "disagreement") {
        bump(kinds, v.kind!);
        bump(signatures, v.signature!);
        const d = { c, verdict: v, saxes: s, ours: o };
        const list = bySignature.get(v.signature!) ?? [];
        if (list.length < 3) list.push(d);
        bySignature.set(v.signature!, list);
      }
    }
    const secs = (performance.now() - start) / 1000;
    const acc = buckets.get("accepted-both") ?? 0;
    const rej = buckets.get("rejected-both") ?? 0;
    const restr = buckets.get("restricted-xml exception") ?? 0;
    const dis = buckets.get("disagreement") ?? 0;
    const mutationLines = [...perMutation].sort().map(([m, b]) =>
      `    ${m.padEnd(20)} ${
        [...b].sort().map(([k, v]) => `${k.replace(" exception", "")}=${v}`)
          .join(" ")
      }`
    );
    console.log(
      [
        `fuzz: ${cases} cases, ${(bytes / 1e6).toFixed(1)} MB, ${
          secs.toFixed(1)
        } s`,
        `  outcomes:`,
        table(buckets, cases),
        `  our conditions when both reject:`,
        table(conditions),
        encodingNotes.size
          ? `  note: invalid UTF-8 in otherwise well-formed input was rejected as:\n${
            table(encodingNotes)
          }${encodingExamples.map((e) => `\n    e.g. ${e}`).join("")}`
          : "",
        `  by mutation:`,
        ...mutationLines,
      ].filter(Boolean).join("\n"),
    );
    if (dis > 0) {
      // The first example of each signature (shrunk), then up to two more.
      const lists = [...bySignature.values()];
      const printed = [
        ...lists.map((l) => ({ d: l[0], shrink: true })),
        ...lists.flatMap((l) => l.slice(1)).map((d) => ({ d, shrink: false })),
      ].slice(0, 20);
      console.log(
        [
          `\nDISAGREEMENTS: ${dis}`,
          `  by kind:`,
          table(kinds),
          `  by signature:`,
          table(signatures),
          "",
          ...printed.map((p, i) => report(seed, p.d, i + 1, p.shrink) + "\n"),
        ].join("\n"),
      );
    }
    assert.equal(
      dis,
      0,
      `${dis} disagreements between XmlParser and saxes (seed ${seed}); see the output above`,
    );
    assert.ok(acc >= 0.1 * cases, `only ${acc} inputs accepted by both`);
    assert.ok(rej >= 0.1 * cases, `only ${rej} inputs rejected by both`);
    assert.ok(
      restr >= 0.005 * cases,
      `only ${restr} restricted-xml exceptions`,
    );
  });
});
