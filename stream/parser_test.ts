import assert from "node:assert/strict";
import type { Element } from "./element.ts";
import { type ParseEvent, type ParserOptions, XmlParser } from "./parser.ts";
import { StreamError } from "./stream_error.ts";
import { Utf8Decoder } from "./_parser_utf8.ts";

const enc = new TextEncoder();
const HEAD =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

function parseChunks(
  chunks: Uint8Array[],
  options?: ParserOptions,
  end = false,
): ParseEvent[] {
  const p = new XmlParser(options);
  const out: ParseEvent[] = [];
  for (const c of chunks) out.push(...p.write(c));
  if (end) out.push(...p.end());
  return out;
}

function parse(xml: string, options?: ParserOptions): ParseEvent[] {
  return parseChunks([enc.encode(xml)], options);
}

function rejects(
  xml: string | Uint8Array,
  condition: string,
  options?: ParserOptions,
): StreamError {
  const bytes = typeof xml === "string" ? enc.encode(xml) : xml;
  try {
    const p = new XmlParser(options);
    p.write(bytes);
    p.end();
  } catch (e) {
    assert.ok(e instanceof StreamError, `not a StreamError: ${e}`);
    assert.equal(e.condition, condition, e.message);
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(xml)}`);
}

/** Events with text merged, as plain data, for comparison. */
function normalize(events: ParseEvent[]): unknown[] {
  const out: unknown[] = [];
  for (const e of events) {
    const last = out.at(-1) as { type: string; text: string } | undefined;
    if (e.type === "text" && last?.type === "text") last.text += e.text;
    else out.push(JSON.parse(JSON.stringify(e)));
  }
  return out;
}

Deno.test("parser: restricted XML constructs are rejected", async (t) => {
  const table: [string, string, string][] = [
    [
      "comment in a stanza",
      HEAD + "<message><!-- x --></message>",
      "restricted-xml",
    ],
    ["comment at stream level", HEAD + "<!-- x -->", "restricted-xml"],
    ["comment before the root", "<!-- x --><a/>", "restricted-xml"],
    [
      "processing instruction",
      HEAD + "<message><?php echo ?></message>",
      "restricted-xml",
    ],
    ["PI before the root", "<?foo bar?><a/>", "restricted-xml"],
    ["xml-stylesheet PI", "<?xml-stylesheet href='a'?><a/>", "restricted-xml"],
    ["DTD", "<!DOCTYPE stream [<!ENTITY x 'y'>]>" + HEAD, "restricted-xml"],
    ["DTD inside", HEAD + "<!DOCTYPE a>", "restricted-xml"],
    [
      "entity reference",
      HEAD + "<message><body>&xxe;</body></message>",
      "restricted-xml",
    ],
    [
      "entity reference in attribute",
      HEAD + "<message to='&xxe;'/>",
      "restricted-xml",
    ],
    [
      "XML declaration not first",
      " <?xml version='1.0'?><a/>",
      "restricted-xml",
    ],
    [
      "second XML declaration",
      "<?xml version='1.0'?>" + HEAD + "<?xml version='1.0'?>",
      "restricted-xml",
    ],
    [
      "encoding other than UTF-8",
      "<?xml version='1.0' encoding='ISO-8859-1'?><a/>",
      "unsupported-encoding",
    ],
    [
      "UTF-16 encoding",
      "<?xml version='1.0' encoding='UTF-16'?><a/>",
      "unsupported-encoding",
    ],
    [
      "control character",
      HEAD + "<message><body>\u0001</body></message>",
      "not-well-formed",
    ],
    [
      "U+FFFE",
      HEAD + "<message><body>\uFFFE</body></message>",
      "not-well-formed",
    ],
    [
      "forbidden char reference",
      HEAD + "<message><body>&#0;</body></message>",
      "not-well-formed",
    ],
    [
      "surrogate char reference",
      HEAD + "<message><body>&#xD800;</body></message>",
      "not-well-formed",
    ],
    [
      "control char in attribute",
      HEAD + "<message to='\u0002'/>",
      "not-well-formed",
    ],
    ["unbound prefix", HEAD + "<foo:bar/>", "not-well-formed"],
    [
      "unbound attribute prefix",
      HEAD + "<message foo:to='x'/>",
      "not-well-formed",
    ],
    [
      "duplicate attribute",
      HEAD + "<message to='a' to='b'/>",
      "not-well-formed",
    ],
    [
      "duplicate expanded attribute",
      HEAD + "<message xmlns:a='u' xmlns:b='u' a:x='1' b:x='2'/>",
      "not-well-formed",
    ],
    ["mismatched end tag", HEAD + "<message></iq>", "not-well-formed"],
    ["'<' in attribute", HEAD + "<message to='a<b'/>", "not-well-formed"],
    [
      "']]>' in text",
      HEAD + "<message><body>a]]>b</body></message>",
      "not-well-formed",
    ],
    [
      "bare '&'",
      HEAD + "<message><body>a & b</body></message>",
      "not-well-formed",
    ],
    ["unquoted attribute", HEAD + "<message to=a/>", "not-well-formed"],
    [
      "no space between attributes",
      HEAD + "<message to='a'id='b'/>",
      "not-well-formed",
    ],
    ["bad name", HEAD + "<1message/>", "not-well-formed"],
    ["text before root", "hello<a/>", "not-well-formed"],
    ["second root", "<a/><b/>", "not-well-formed"],
    ["xmlns prefix declared", "<a xmlns:xmlns='u'/>", "not-well-formed"],
    ["xml prefix rebound", "<a xmlns:xml='u'/>", "not-well-formed"],
    ["prefix undeclared", "<a xmlns:p=''/>", "not-well-formed"],
    ["CDATA outside root", "<![CDATA[x]]><a/>", "not-well-formed"],
    ["end tag without start", HEAD + "</message>", "not-well-formed"],
  ];
  for (const [name, xml, condition] of table) {
    await t.step(name, () => {
      rejects(xml, condition);
    });
  }
  await t.step("invalid UTF-8", () => {
    const bytes = new Uint8Array([...enc.encode(HEAD + "<a>"), 0xff, 0x3c]);
    rejects(bytes, "unsupported-encoding");
  });
  await t.step("overlong UTF-8", () => {
    const bytes = new Uint8Array([...enc.encode(HEAD + "<a>"), 0xc0, 0xbc]);
    rejects(bytes, "unsupported-encoding");
  });
  await t.step("UTF-8 encoded surrogate", () => {
    const bytes = new Uint8Array([
      ...enc.encode(HEAD + "<a>"),
      0xed,
      0xa0,
      0x80,
    ]);
    rejects(bytes, "unsupported-encoding");
  });
  await t.step("input ends inside a UTF-8 sequence", () => {
    const bytes = new Uint8Array([...enc.encode("<a>"), 0xe2, 0x82]);
    rejects(bytes, "unsupported-encoding");
  });
  await t.step(
    "forbidden characters anywhere in a chunk, at any alignment",
    () => {
      const head = enc.encode(HEAD + "<m>");
      const body = enc.encode("a\u00E9\u4E2Db".repeat(8)); // 56 bytes
      const tail = enc.encode("</m>");
      for (let offset = 0; offset < 4; offset++) {
        // Every character boundary in the body.
        for (const at of [0, 1, 3, 6].flatMap((k) => [k, k + 21, k + 49])) {
          for (
            const ch of [
              "\x00",
              "\x01",
              "\x08",
              "\x0B",
              "\x1F",
              "\uFFFE",
              "\uFFFF",
              "\t",
              "\n",
              "\r",
              "\x7F",
              "\x85",
            ]
          ) {
            const bad = enc.encode(ch);
            const buf = new Uint8Array(offset + body.length + bad.length);
            buf.set(body.subarray(0, at), offset);
            buf.set(bad, offset + at);
            buf.set(body.subarray(at), offset + at + bad.length);
            const chunk = buf.subarray(offset);
            const p = new XmlParser();
            p.write(head);
            const allowed = "\t\n\r\x7F\x85".includes(ch);
            if (allowed) {
              p.write(chunk);
              assert.equal(p.write(tail)[0]?.type, "element");
            } else {
              assert.throws(
                () => p.write(chunk),
                (e) =>
                  e instanceof StreamError && e.condition === "not-well-formed",
                `U+${ch.codePointAt(0)!.toString(16)} at ${at}+${offset}`,
              );
            }
          }
        }
      }
      // Split across chunks, U+FFFF still counts.
      const p = new XmlParser();
      p.write(head);
      p.write(new Uint8Array([0xef, 0xbf]));
      assert.throws(() => p.write(new Uint8Array([0xbf])), StreamError);
    },
  );
  await t.step("the parser stays failed", () => {
    const p = new XmlParser();
    assert.throws(() => p.write(enc.encode("<a><!---->")), StreamError);
    assert.throws(() => p.write(enc.encode("</a>")), StreamError);
  });
});

Deno.test("parser: what restricted XML allows", async (t) => {
  await t.step("XML declaration, CDATA, predefined and char refs", () => {
    const events = parse(
      "<?xml version='1.0' encoding='utf-8' standalone='yes'?>" + HEAD +
        "<message><body>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;<![CDATA[<&>]]></body></message>",
    );
    const msg = (events[1] as { element: Element }).element;
    assert.equal(msg.getChild("body")?.text, "<>&\"'AB<&>");
  });
  await t.step("namespaces resolve; declarations are not attributes", () => {
    const events = parse(
      HEAD +
        "<iq xmlns:p='urn:p' p:a='1' xml:lang='de'><p:q><r xmlns=''/></p:q></iq>",
    );
    const open = events[0] as Extract<ParseEvent, { type: "open" }>;
    assert.deepEqual({ ...open.namespaces }, {
      "": "jabber:client",
      stream: "http://etherx.jabber.org/streams",
    });
    const iq = (events[1] as { element: Element }).element;
    assert.equal(iq.ns, "jabber:client");
    assert.deepEqual(iq.attrs, { "{urn:p}a": "1", "xml:lang": "de" });
    const q = iq.getChild("q", "urn:p")!;
    assert.equal(q.getChild("r", "")?.ns, "");
  });
  await t.step("a default declaration among plain attributes", () => {
    const events = parse(
      HEAD +
        "<m a='1' xmlns='urn:m' xml:lang='en' xmlnsx='2'><c xmlns='urn:c'/><d/>" +
        "<e xmlns='' b='3'/></m>",
    );
    const m = (events[1] as { element: Element }).element;
    assert.equal(m.ns, "urn:m");
    assert.deepEqual(m.attrs, { a: "1", "xml:lang": "en", xmlnsx: "2" });
    assert.deepEqual(m.elements.map((e) => [e.name, e.ns, { ...e.attrs }]), [
      ["c", "urn:c", {}],
      ["d", "urn:m", {}],
      ["e", "", { b: "3" }],
    ]);
    for (
      const bad of [
        "<m xmlns='urn:a' xmlns='urn:b'/>",
        "<m a='1' xmlns='urn:a' a='2'/>",
        "<m xmlns='http://www.w3.org/XML/1998/namespace'/>",
        "<m xmlns='http://www.w3.org/2000/xmlns/' a='1'/>",
        "<p:m xmlns='urn:a'/>",
      ]
    ) rejects(HEAD + bad, "not-well-formed");
  });
  await t.step("line ends and attribute normalization", () => {
    const events = parse(
      HEAD + "<m a='x\r\ny\tz&#10;'>1\r\n2\r3&#13;</m>",
    );
    const m = (events[1] as { element: Element }).element;
    assert.equal(m.attrs.a, "x y z\n");
    assert.equal(m.text, "1\n2\n3\r");
  });
  await t.step("whitespace between stanzas comes out as text", () => {
    const events = parse(HEAD + "\n <a/> ");
    assert.deepEqual(events.map((e) => e.type), [
      "open",
      "text",
      "element",
      "text",
    ]);
  });
  await t.step("a BOM is a character (RFC 6120 §11.6), not a BOM", () => {
    rejects("\uFEFF<a/>", "not-well-formed");
  });
  await t.step("__proto__ is an ordinary attribute", () => {
    const events = parse(HEAD + "<a __proto__='x' constructor='y'/>");
    const a = (events[1] as { element: Element }).element;
    assert.equal(
      Object.getOwnPropertyDescriptor(a.attrs, "__proto__")?.value,
      "x",
    );
    assert.equal(a.attrs.constructor, "y");
    // Again and again, as names seen before may take other paths.
    const again = parse(HEAD + "<b __proto__='z' c='1'/>".repeat(3));
    for (const e of again.slice(1)) {
      const attrs = (e as { element: Element }).element.attrs;
      assert.equal(Object.getPrototypeOf(attrs), Object.prototype);
      assert.deepEqual(Object.keys(attrs), ["__proto__", "c"]);
      assert.equal(
        Object.getOwnPropertyDescriptor(attrs, "__proto__")?.value,
        "z",
      );
    }
    rejects(HEAD + "<a>&constructor;</a>", "restricted-xml");
  });
  await t.step("end() checks completeness", () => {
    rejects(HEAD + "<a/>", "not-well-formed");
    assert.deepEqual(parseChunks([enc.encode("<a/> \n")], {}, true).length, 2);
  });
});

const SAMPLE = "<?xml version='1.0'?>" + HEAD +
  "<message from='juliet@example.com/balcony' to='romeo@example.net' type='chat' xml:lang='en' id='a&amp;b'>" +
  "<body>Wherefore art thou, Romeo? &lt;3 &#x1F339; \u00FC\u20AC\uD83D\uDE00</body>" +
  "<x xmlns='jabber:x:data' type='form'><field var='f'><value>v\r\n</value></field></x>" +
  "<![CDATA[ a ]] > ]]]]><![CDATA[> ]]></message>\n" +
  "<iq type='get' id='1'><query xmlns='jabber:iq:roster' xmlns:e='urn:e' e:ver='\u00E9'/></iq>" +
  "<presence/></stream:stream>";

Deno.test("parser: splitting the stream at every byte offset gives identical events", () => {
  const bytes = enc.encode(SAMPLE);
  const whole = normalize(parseChunks([bytes], {}, true));
  assert.equal(whole.length, 6);
  for (let i = 0; i <= bytes.length; i++) {
    const split = normalize(
      parseChunks([bytes.subarray(0, i), bytes.subarray(i)], {}, true),
    );
    assert.deepEqual(split, whole, `split at byte ${i}`);
  }
  for (let i = 0; i + 2 <= bytes.length; i += 7) {
    const three = normalize(
      parseChunks(
        [bytes.subarray(0, i), bytes.subarray(i, i + 2), bytes.subarray(i + 2)],
        {},
        true,
      ),
    );
    assert.deepEqual(three, whole, `split at ${i} and ${i + 2}`);
  }
  const single = normalize(
    parseChunks(Array.from(bytes, (b) => new Uint8Array([b])), {}, true),
  );
  assert.deepEqual(single, whole, "one byte at a time");
});

Deno.test("parser: a UTF-8 character split across chunks", async (t) => {
  for (const ch of ["\u00FC", "\u20AC", "\uD83D\uDE00"]) {
    const bytes = enc.encode(`<a b='${ch}'>${ch}</a>`);
    const cp = ch.codePointAt(0)!.toString(16);
    await t.step(`U+${cp} in every split`, () => {
      for (let i = 1; i < bytes.length; i++) {
        const events = parseChunks(
          [bytes.subarray(0, i), bytes.subarray(i)],
          {},
          true,
        );
        const root = events[0] as { element: Element };
        assert.equal(root.element.attrs.b, ch);
        assert.equal((events[1] as { text: string }).text, ch);
      }
    });
  }
});

Deno.test("parser: limits hold against hostile input", async (t) => {
  await t.step("deep-nesting bomb", () => {
    const e = rejects(HEAD + "<a>".repeat(100_000), "policy-violation");
    assert.match(e.message, /deeper than 64/);
    rejects(HEAD + "<a>".repeat(9), "policy-violation", { maxDepth: 8 });
    parse(HEAD + "<a>".repeat(7), { maxDepth: 8 });
  });
  await t.step("too many attributes", () => {
    const attrs = Array.from({ length: 65 }, (_, i) => `a${i}='x'`).join(" ");
    rejects(HEAD + `<m ${attrs}/>`, "policy-violation");
    const ok = Array.from({ length: 64 }, (_, i) => `a${i}='x'`).join(" ");
    parse(HEAD + `<m ${ok}/>`);
  });
  await t.step("stanza size counts UTF-8 bytes", () => {
    const limit = { maxStanzaBytes: 100 };
    const fits = "<m>" + "\u00E9".repeat(45) + "</m>"; // 7 + 90 bytes
    parse(HEAD + fits, limit);
    rejects(
      HEAD + "<m>" + "\u00E9".repeat(47) + "</m>",
      "policy-violation",
      limit,
    );
  });
  await t.step("stanza size is exact at the limit, however chunked", () => {
    for (const ch of ["a", "\u00E9", "\u4E2D", "\u{1F600}"]) {
      for (const extra of [0, 1]) {
        // <m x='...'>...</m>: 7 + 4 bytes of markup around the characters.
        const n = 60; // the stanza outgrows HEAD, which the limit also bounds
        const body = ch.repeat(n);
        const xml = `<m x='${body}'>${body}</m>`;
        const size = enc.encode(xml).length;
        for (const split of [0, 1, 7, size >> 1, size - 1]) {
          const opts = { maxStanzaBytes: size - extra };
          const bytes = enc.encode(HEAD + xml);
          const cut = enc.encode(HEAD).length + split;
          const chunks = split === 0
            ? [bytes]
            : [bytes.subarray(0, cut), bytes.subarray(cut)];
          if (extra === 0) {
            const ev = parseChunks(chunks, opts);
            assert.equal(ev.at(-1)?.type, "element");
          } else {
            assert.throws(
              () => parseChunks(chunks, opts),
              (e) =>
                e instanceof StreamError && e.condition === "policy-violation",
            );
          }
        }
        const opts = { maxStanzaBytes: size - extra };
        const bytes = enc.encode(HEAD + xml);
        const ones = Array.from(bytes, (b) => new Uint8Array([b]));
        if (extra === 0) {
          assert.equal(parseChunks(ones, opts).at(-1)?.type, "element");
        } else {
          assert.throws(
            () => parseChunks(ones, opts),
            (e) =>
              e instanceof StreamError && e.condition === "policy-violation",
          );
        }
      }
    }
  });

  // Hostile streams fed in small chunks: each must fail once it passes the
  // limit, having held no more than the limit, in time linear in its size.
  const hostile: [string, string, (i: number) => string][] = [
    ["endless text node", HEAD + "<message><body>", () => "A".repeat(1000)],
    ["endless attribute value", HEAD + "<message to='", () => "A>".repeat(500)],
    ["endless attribute name", HEAD + "<message ", () => "a".repeat(1000)],
    ["endless element name", HEAD + "<m", () => "m".repeat(1000)],
    [
      "endless whitespace in a tag",
      HEAD + "<message to",
      () => " ".repeat(1000),
    ],
    ["endless end tag", HEAD + "<m></m", () => "m".repeat(1000)],
    ["endless CDATA", HEAD + "<m><![CDATA[", () => "]".repeat(1000)],
    ["endless stream header", "<stream:stream a='", () => "x".repeat(1000)],
    ["endless children", HEAD + "<m>", () => "<a/>".repeat(250)],
    ["many attributes", HEAD + "<m", (i) => ` a${i}='${"x".repeat(990)}'`],
  ];
  for (const [name, prefix, piece] of hostile) {
    await t.step(name, () => {
      const p = new XmlParser({ maxStanzaBytes: 262144 });
      p.write(enc.encode(prefix));
      let sent = 0;
      let err: unknown;
      for (let i = 0; i < 2000 && err === undefined; i++) {
        const chunk = enc.encode(piece(i));
        try {
          // Feed a byte at a time for a while, then bigger chunks.
          if (i < 20) {
            for (const b of chunk) p.write(new Uint8Array([b]));
          } else p.write(chunk);
        } catch (e) {
          err = e;
        }
        sent += chunk.length;
      }
      assert.ok(err instanceof StreamError, `no error after ${sent} bytes`);
      assert.equal(err.condition, "policy-violation", err.message);
      assert.ok(sent <= 262144 + 2000, `failed late, after ${sent} bytes`);
    });
  }
  await t.step("an endless whitespace keepalive run is not buffered", () => {
    const p = new XmlParser({ maxStanzaBytes: 1024 });
    p.write(enc.encode(HEAD));
    for (let i = 0; i < 1000; i++) p.write(enc.encode(" ".repeat(1000)));
    assert.equal(p.buffered, false);
  });
  await t.step("bad limits are a RangeError", () => {
    assert.throws(() => new XmlParser({ maxDepth: 0 }), RangeError);
    assert.throws(() => new XmlParser({ maxStanzaBytes: 1.5 }), RangeError);
  });
});

Deno.test("parser: buffered tells whether input is waiting", () => {
  const p = new XmlParser();
  p.write(
    enc.encode(HEAD + "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
  );
  assert.equal(p.buffered, false);
  p.write(enc.encode("<mess"));
  assert.equal(p.buffered, true);
  const q = new XmlParser();
  q.write(enc.encode(HEAD + "<a><b>"));
  assert.equal(q.buffered, true);
  // A line end held back between elements (waiting for its "\n") is only
  // whitespace; a "]" held back is not.
  const r = new XmlParser();
  r.write(enc.encode(HEAD + "<proceed/>\r"));
  assert.equal(r.buffered, false);
  const u = new XmlParser();
  u.write(enc.encode(HEAD + "<proceed/>]"));
  assert.equal(u.buffered, true);
});

Deno.test("parser: its UTF-8 decoder agrees with a fatal streaming TextDecoder", () => {
  let seed = 6120;
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const good = [
    "a",
    "<",
    "\u00E9",
    "\u07FF",
    "\u0800",
    "\u4E2D",
    "\uD7FF",
    "\uE000",
    "\uFFFD",
    "\uFFFF",
    "\u{10000}",
    "\u{1F600}",
    "\u{10FFFF}",
  ]
    .map((c) => [...enc.encode(c)]);
  const bad = [
    [0x80],
    [0xbf],
    [0xc0, 0xaf],
    [0xc1],
    [0xc2],
    [0xe0, 0x80, 0x80],
    [0xe0, 0xa0],
    [0xed, 0xa0, 0x80],
    [0xed, 0x9f],
    [0xef, 0xbf],
    [0xf0, 0x8f],
    [0xf0, 0x90, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xf4, 0x8f, 0xbf],
    [0xf5],
    [0xff],
  ];
  let failures = 0;
  for (let n = 0; n < 3000; n++) {
    const bytes: number[] = [];
    const count = 1 + Math.floor(rnd() * 40);
    const badRate = rnd() < 0.5 ? 0 : 0.05;
    for (let k = 0; k < count; k++) {
      bytes.push(...(rnd() < badRate ? pick(bad) : pick(good)));
    }
    const all = new Uint8Array(bytes);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < all.length;) {
      const size = rnd() < 0.3 ? 1 : 1 + Math.floor(rnd() * 12);
      // Sometimes at an odd offset in a bigger buffer, as a view.
      const piece = all.slice(i, i + size);
      const buf = new Uint8Array(piece.length + 3);
      buf.set(piece, 3);
      chunks.push(rnd() < 0.5 ? piece : buf.subarray(3));
      i += size;
    }
    const run = (decode: (c: Uint8Array) => string, flush: () => string) => {
      let out = "";
      for (let i = 0; i < chunks.length; i++) {
        try {
          out += decode(chunks[i]);
        } catch {
          return { out, failedAt: i };
        }
      }
      try {
        out += flush();
      } catch {
        return { out, failedAt: chunks.length };
      }
      return { out, failedAt: -1 };
    };
    const ref = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const expected = run(
      (c) => ref.decode(c, { stream: true }),
      () => ref.decode(),
    );
    const ours = new Utf8Decoder();
    const got = run((c) => {
      const s = ours.decode(c);
      // The parser counts bytes as characters when told the chunk was ASCII.
      if (ours.ascii) {
        assert.ok(
          [...s].every((ch) => ch.charCodeAt(0) < 0x80) &&
            s.length === c.length,
        );
      }
      return s;
    }, () => {
      if (ours.pending) throw new TypeError("pending");
      return "";
    });
    if (expected.failedAt !== -1) failures++;
    assert.deepEqual(got, expected, JSON.stringify(chunks.map((c) => [...c])));
  }
  // Both outcomes were well exercised.
  assert.ok(failures > 500 && failures < 2500, `${failures} failures`);
});
