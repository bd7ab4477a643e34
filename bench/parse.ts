/**
 * Parse throughput: our {@linkcode XmlParser} against xmpp.js's ltx-based
 * parser (`@xmpp/xml`) and saxes (`xmlns: true`).
 *
 * One input, an XMPP client stream holding 100,000 `<message/>` stanzas, is
 * cut into 16 KiB chunks and fed to each parser in the same run: bytes to
 * ours (it decodes UTF-8 itself), pre-decoded strings to the others. Every
 * parser builds an element object per stanza. After warm-up, each parser runs
 * several interleaved rounds; the median round counts.
 *
 * Run with `deno task bench:parse` (`BENCH_ROUNDS` overrides the number of
 * timed rounds). The last line printed is `ratio_vs_ltx: <ours / ltx
 * stanzas per second>`.
 *
 * @module
 */

// deno-lint-ignore no-import-prefix -- test/bench-only dependency
import { Parser as LtxParser } from "npm:@xmpp/xml@0.14";
// deno-lint-ignore no-import-prefix -- test/bench-only dependency
import { SaxesParser } from "npm:saxes@6";
import { Element, XML_NS } from "../stream/element.ts";

const STANZAS = 100_000;
const CHUNK = 16 * 1024;
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

function envNumber(name: string, fallback: number): number {
  try {
    const v = Deno.env.get(name);
    return v ? Number(v) : fallback;
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------------------
// Input

const BODIES = [
  "Wherefore art thou, Romeo? &amp; why dost thou linger?",
  "Neither, fair saint, if either thee dislike.",
  "O, speak again, bright angel! &lt;3",
  "Ça va ? Très bien, merci — à bientôt 😀",
  "中文消息测试：你好，世界！",
  "He said &quot;hi&quot; &amp; left; she said &apos;bye&apos;.",
  "ok",
  "What light through yonder window breaks? It is the east, and Juliet is the sun. " +
  "Arise, fair sun, and kill the envious moon, who is already sick and pale with grief.",
  "Привет! Как дела? Ελληνικά κείμενα. עברית. العربية.",
  "See https://example.com/page?a=1&amp;b=2 for details",
];
const JIDS = [
  "juliet@example.com/balcony",
  "romeo@example.net/orchard",
  "nurse@example.com/chamber",
  "mercutio@example.org/street",
  "benvolio@example.net/square",
];

/** A small deterministic PRNG (LCG), so every run parses the same input. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function stanza(i: number, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const from = pick(JIDS);
  let to = pick(JIDS);
  if (to === from) to = JIDS[(JIDS.indexOf(from) + 1) % JIDS.length];
  const type = rnd() < 0.8 ? "chat" : rnd() < 0.5 ? "normal" : "groupchat";
  const lang = rnd() < 0.6 ? " xml:lang='en'" : "";
  const q = rnd() < 0.5 ? "'" : '"';
  let s =
    `<message from=${q}${from}${q} to=${q}${to}${q} type=${q}${type}${q} id=${q}m-${
      i.toString(36)
    }-${Math.floor(rnd() * 1e6)}${q}${lang}>`;
  s += `<body>${pick(BODIES)}</body>`;
  if (rnd() < 0.3) s += `<thread>thr-${Math.floor(rnd() * 1000)}</thread>`;
  if (rnd() < 0.8) {
    s += "<active xmlns='http://jabber.org/protocol/chatstates'/>";
  }
  if (rnd() < 0.3) s += "<request xmlns='urn:xmpp:receipts'/>";
  if (rnd() < 0.25) {
    s += `<origin-id xmlns='urn:xmpp:sid:0' id='oid-${i}'/>`;
  }
  if (rnd() < 0.1) {
    s +=
      `<delay xmlns='urn:xmpp:delay' from='example.com' stamp='2002-09-10T23:08:25Z'>Offline storage</delay>`;
  }
  if (rnd() < 0.05) {
    s +=
      "<x xmlns='jabber:x:oob'><url>https://example.com/f?x=1&amp;y=2</url><desc>A file</desc></x>";
  }
  if (rnd() < 0.05) {
    s +=
      "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>Hi <strong>there</strong>, <em>you</em>!</p></body></html>";
  }
  return s + "</message>";
}

function buildInput(): string {
  const rnd = lcg(6120);
  const parts = [
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
    "xmlns:stream='http://etherx.jabber.org/streams' from='example.com' " +
    "to='juliet@example.com' id='++TR84Sm6A3hnt3Q065SnAbbk3Y=' version='1.0' xml:lang='en'>",
  ];
  for (let i = 0; i < STANZAS; i++) parts.push(stanza(i, rnd));
  parts.push("</stream:stream>");
  return parts.join("");
}

// ---------------------------------------------------------------------------
// Runners: each feeds the whole input and builds one element per stanza.

interface RunResult {
  /** Complete depth-1 elements seen. */
  stanzas: number;
  /** Whether the root's end tag was seen. */
  closed: boolean;
  /** Sum of body text lengths plus attribute counts (validation rounds). */
  check: number;
}

type Runner = (validate: boolean) => RunResult;

interface OursModule {
  XmlParser: new () => {
    write(b: Uint8Array): { type: string; element?: Element }[];
    end(): { type: string; element?: Element }[];
  };
}

function checkOf(e: Element): number {
  return (e.getChild("body")?.text.length ?? 0) + Object.keys(e.attrs).length;
}

function oursRunner(mod: OursModule, chunks: Uint8Array[]): Runner {
  return (validate) => {
    const p = new mod.XmlParser();
    let stanzas = 0, check = 0, closed = false;
    const take = (events: { type: string; element?: Element }[]) => {
      for (const ev of events) {
        if (ev.type === "element") {
          stanzas++;
          if (validate) check += checkOf(ev.element!);
        } else if (ev.type === "close") closed = true;
      }
    };
    for (const c of chunks) take(p.write(c));
    take(p.end());
    return { stanzas, closed, check };
  };
}

function ltxRunner(chunks: string[]): Runner {
  return (validate) => {
    const p = new LtxParser();
    let stanzas = 0, check = 0, closed = false;
    let error: unknown;
    // deno-lint-ignore no-explicit-any
    p.on("element", (el: any) => {
      stanzas++;
      if (validate) {
        check += (el.getChildText("body")?.length ?? 0) +
          Object.keys(el.attrs).length;
      }
    });
    p.on("end", () => closed = true);
    p.on("error", (e: unknown) => error ??= e);
    for (const c of chunks) p.write(c);
    p.end();
    if (error) throw error;
    return { stanzas, closed, check };
  };
}

function saxesRunner(chunks: string[]): Runner {
  return (validate) => {
    const p = new SaxesParser({ xmlns: true });
    let stanzas = 0, check = 0, closed = false, depth = 0;
    const stack: Element[] = [];
    p.on("opentag", (tag) => {
      if (depth++ === 0) return; // the stream root
      const attrs: Record<string, string> = {};
      for (const a of Object.values(tag.attributes)) {
        if (a.uri === XMLNS_NS) continue;
        attrs[
          a.uri === ""
            ? a.local
            : a.uri === XML_NS
            ? `xml:${a.local}`
            : `{${a.uri}}${a.local}`
        ] = a.value;
      }
      const el = new Element(tag.local, tag.uri, attrs);
      if (stack.length > 0) stack[stack.length - 1].children.push(el);
      stack.push(el);
    });
    const onText = (t: string) => {
      if (stack.length > 0) stack[stack.length - 1].children.push(t);
    };
    p.on("text", onText);
    p.on("cdata", onText);
    p.on("closetag", () => {
      depth--;
      if (stack.length === 0) {
        closed = true;
        return;
      }
      const el = stack.pop()!;
      if (stack.length === 0) {
        stanzas++;
        if (validate) check += checkOf(el);
      }
    });
    for (const c of chunks) p.write(c);
    p.close();
    return { stanzas, closed, check };
  };
}

/**
 * Not a parser: the least work that yields the same element objects, with no
 * validation, no namespaces and no entity decoding. It bounds how fast any
 * parser building these objects can be, so the ratios above can be read
 * against it.
 */
function skeletonRunner(chunks: Uint8Array[]): Runner {
  return () => {
    const dec = new TextDecoder();
    const stack: Element[] = [];
    let carry = "", stanzas = 0, closed = false;
    for (const chunk of chunks) {
      const s = carry + dec.decode(chunk, { stream: true });
      carry = "";
      let i = 0;
      for (;;) {
        const lt = s.indexOf("<", i);
        if (lt === -1) break;
        const gt = s.indexOf(">", lt);
        if (gt === -1) {
          carry = s.slice(lt);
          break;
        }
        if (lt > i && stack.length > 1) {
          stack[stack.length - 1].children.push(s.slice(i, lt));
        }
        i = gt + 1;
        if (s.charCodeAt(lt + 1) === 0x3f) continue; // <?xml ...?>
        if (s.charCodeAt(lt + 1) === 0x2f) {
          const el = stack.pop();
          if (stack.length === 1) stanzas++;
          if (stack.length === 0 && el) closed = true;
          continue;
        }
        let e = lt + 1;
        for (; e < gt; e++) {
          const c = s.charCodeAt(e);
          if (c === 0x20 || c === 0x2f || c === 0x0a) break;
        }
        const el = new Element(s.slice(lt + 1, e), "", {}, []);
        for (let p = e;;) {
          const eq = s.indexOf("=", p);
          if (eq === -1 || eq > gt) break;
          const q = s[eq + 1];
          const end = s.indexOf(q, eq + 2);
          el.attrs[s.slice(p + 1, eq)] = s.slice(eq + 2, end);
          p = end + 1;
        }
        if (stack.length > 1) stack[stack.length - 1].children.push(el);
        if (s.charCodeAt(gt - 1) !== 0x2f) stack.push(el);
        else if (stack.length === 1) stanzas++;
      }
    }
    return { stanzas, closed, check: 0 };
  };
}

// ---------------------------------------------------------------------------
// Main

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", {
    minimumFractionDigits: d,
    maximumFractionDigits: d,
  });

async function main(): Promise<number> {
  const rounds = envNumber("BENCH_ROUNDS", 7);
  const text = buildInput();
  const bytes = new TextEncoder().encode(text);
  const byteChunks: Uint8Array[] = [];
  const strChunks: string[] = [];
  const dec = new TextDecoder();
  for (let i = 0; i < bytes.length; i += CHUNK) {
    const c = bytes.subarray(i, i + CHUNK);
    byteChunks.push(c);
    strChunks.push(dec.decode(c, { stream: true }));
  }
  strChunks.push(dec.decode());
  const mb = bytes.length / 1e6;
  console.log(
    `input: ${fmt(STANZAS)} stanzas, ${
      mb.toFixed(1)
    } MB UTF-8, ${byteChunks.length} chunks of ${
      CHUNK / 1024
    } KiB; ${rounds} timed rounds after warm-up (median)`,
  );

  const runners: { name: string; run: Runner }[] = [];
  let oursError: unknown;
  try {
    const mod = await import("../stream/parser.ts") as unknown as OursModule;
    runners.push({
      name: "ours (XmlParser, bytes)",
      run: oursRunner(mod, byteChunks),
    });
  } catch (e) {
    oursError = e;
    console.log(`ours: unavailable (${(e as Error).message.split("\n")[0]})`);
  }
  runners.push({ name: "@xmpp/xml 0.14 (ltx)", run: ltxRunner(strChunks) });
  runners.push({ name: "saxes 6 (xmlns)", run: saxesRunner(strChunks) });
  const skeleton = {
    name: "reference: no-check floor",
    run: skeletonRunner(byteChunks),
  };

  // Warm-up; the first round also validates what each parser saw.
  let reference: number | undefined;
  for (const r of runners) {
    const res = r.run(true);
    if (res.stanzas !== STANZAS || !res.closed) {
      throw new Error(
        `${r.name} saw ${res.stanzas} stanzas (closed: ${res.closed}), expected ${STANZAS}`,
      );
    }
    if (reference === undefined) reference = res.check;
    else if (res.check !== reference) {
      throw new Error(
        `${r.name} checksum ${res.check} differs from ${
          runners[0].name
        }'s ${reference}`,
      );
    }
    r.run(false);
  }

  if (skeleton.run(false).stanzas !== STANZAS) {
    throw new Error("the reference skeleton miscounted stanzas");
  }
  runners.push(skeleton);
  const times = runners.map(() => [] as number[]);
  for (let k = 0; k < rounds; k++) {
    runners.forEach((r, i) => {
      const t0 = performance.now();
      const res = r.run(false);
      const dt = (performance.now() - t0) / 1000;
      if (res.stanzas !== STANZAS || !res.closed) {
        throw new Error(`${r.name} saw ${res.stanzas} stanzas in round ${k}`);
      }
      times[i].push(dt);
    });
  }

  const rate = new Map<string, number>();
  runners.forEach((r, i) => {
    const med = median(times[i]);
    const best = Math.min(...times[i]);
    rate.set(r.name, STANZAS / med);
    console.log(
      `${r.name.padEnd(26)} ${fmt(STANZAS / med).padStart(9)} stanzas/s  ${
        (mb / med).toFixed(1).padStart(6)
      } MB/s  (median ${(med * 1000).toFixed(0)} ms, best ${
        (best * 1000).toFixed(0)
      } ms)`,
    );
  });
  if (oursError !== undefined) {
    console.log("ratio_vs_ltx: unavailable (stream/parser.ts did not load)");
    return 1;
  }
  const ours = rate.get(runners[0].name)!;
  const ltx = rate.get("@xmpp/xml 0.14 (ltx)")!;
  console.log(
    `floor_vs_ltx: ${
      (rate.get(skeleton.name)! / ltx).toFixed(2)
    } (bytes to element objects with no validation at all: the most any parser here could reach)`,
  );
  console.log(
    `ratio_vs_saxes: ${(ours / rate.get("saxes 6 (xmlns)")!).toFixed(2)}`,
  );
  console.log(
    `ratio_vs_ltx: ${(ours / rate.get("@xmpp/xml 0.14 (ltx)")!).toFixed(2)}`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main());
