import assert from "node:assert/strict";
import {
  decodeResponse,
  type DnsQuery,
  DnsResponseError,
  encodeQuery,
  formatIPv6,
  isResponseTo,
  queryName,
  type WireRecordType,
} from "./_dns_wire.ts";
import { ResolveError } from "./resolver.ts";

// ---- packet building --------------------------------------------------

const A = 1, CNAME = 5, SOA = 6, TXT = 16, AAAA = 28, SRV = 33, OPT = 41;

function u16(n: number): number[] {
  return [(n >> 8) & 255, n & 255];
}

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Uncompressed wire name. */
function wname(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split(".").filter(Boolean)) {
    const bytes = new TextEncoder().encode(label);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

/** A compression pointer. */
function ptr(offset: number): number[] {
  return [0xc0 | (offset >> 8), offset & 255];
}

function rr(
  owner: number[],
  type: number,
  rdata: number[],
  options: { cls?: number; ttl?: number; rdlength?: number } = {},
): number[] {
  return [
    ...owner,
    ...u16(type),
    ...u16(options.cls ?? 1),
    ...u32(options.ttl ?? 60),
    ...u16(options.rdlength ?? rdata.length),
    ...rdata,
  ];
}

function srvData(
  priority: number,
  weight: number,
  port: number,
  target: number[],
): number[] {
  return [...u16(priority), ...u16(weight), ...u16(port), ...target];
}

const OPT_RR = rr([0], OPT, [], { cls: 1232, ttl: 0 });

interface Build {
  id?: number;
  /** Flags word; default QR | RD | RA. */
  flags?: number;
  rcode?: number;
  question?: number[];
  qdcount?: number;
  answers?: number[][];
  authority?: number[][];
  additional?: number[][];
  /** Override the announced counts [an, ns, ar]. */
  counts?: [number, number, number];
  trailing?: number[];
}

/** The question bytes of a query: name, type, class. */
function questionOf(q: DnsQuery): number[] {
  const qType = { A, AAAA, SRV }[q.type];
  return [...wname(q.name), ...u16(qType), ...u16(1)];
}

function response(q: DnsQuery, b: Build = {}): Uint8Array {
  const answers = b.answers ?? [];
  const authority = b.authority ?? [];
  const additional = b.additional ?? [OPT_RR];
  const counts = b.counts ??
    [answers.length, authority.length, additional.length];
  return new Uint8Array([
    ...u16(b.id ?? q.id),
    ...u16((b.flags ?? 0x8180) | (b.rcode ?? 0)),
    ...u16(b.qdcount ?? 1),
    ...u16(counts[0]),
    ...u16(counts[1]),
    ...u16(counts[2]),
    ...(b.question ?? questionOf(q)),
    ...answers.flat(),
    ...authority.flat(),
    ...additional.flat(),
    ...(b.trailing ?? []),
  ]);
}

const Q = 12; // offset of the question name

function query<T extends WireRecordType>(name: string, type: T): DnsQuery<T> {
  return encodeQuery(name, type, { id: 0xbeef });
}

const qA = query("host.example", "A");
const qAAAA = query("host.example", "AAAA");
const qSRV = query("_xmpp-client._tcp.example", "SRV");
/** Offset of the first byte after the question of qSRV / qA. */
const afterSrvQ = Q + questionOf(qSRV).length;
const afterAQ = Q + questionOf(qA).length;
/** Offset of "example" inside the SRV question name. */
const exampleInSrvQ = Q + 1 + 12 + 1 + 4;

const SOA_RR = rr(ptr(Q), SOA, [
  0,
  0,
  ...u32(1),
  ...u32(1),
  ...u32(1),
  ...u32(1),
  ...u32(1),
]);

// ---- encoding --------------------------------------------------------

Deno.test("encodeQuery", async (t) => {
  await t.step("exact bytes: header, question, OPT 1232", () => {
    const q = encodeQuery("Example.org.", "A", { id: 0x1234 });
    assert.equal(q.name, "Example.org");
    assert.deepEqual([...q.bytes], [
      0x12,
      0x34,
      0x01,
      0x00,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      1,
      7,
      ..."Example".split("").map((c) => c.charCodeAt(0)),
      3,
      ..."org".split("").map((c) => c.charCodeAt(0)),
      0,
      0,
      1,
      0,
      1,
      0,
      0,
      41,
      0x04,
      0xd0,
      0,
      0,
      0,
      0,
      0,
      0,
    ]);
  });
  await t.step("types: SRV 33, AAAA 28", () => {
    const s = encodeQuery("a.b", "SRV", { udpPayloadSize: 0 });
    assert.deepEqual([...s.bytes.subarray(-4)], [0, 33, 0, 1]);
    assert.equal(s.bytes[11], 0, "no OPT, ARCOUNT 0");
    const a = encodeQuery("a.b", "AAAA", { udpPayloadSize: 0 });
    assert.deepEqual([...a.bytes.subarray(-4)], [0, 28, 0, 1]);
  });
  await t.step("random ids from crypto.getRandomValues", () => {
    const ids = new Set<number>();
    for (let i = 0; i < 64; i++) ids.add(encodeQuery("a.b", "A").id);
    assert.ok(ids.size > 32, `only ${ids.size} distinct ids`);
    for (const id of ids) {
      assert.ok(Number.isInteger(id) && id >= 0 && id < 65536);
    }
  });
  await t.step("IDN names as A-labels", () => {
    const q = encodeQuery("_xmpp-client._tcp.bücher.example", "SRV");
    assert.equal(q.name, "_xmpp-client._tcp.xn--bcher-kva.example");
  });
  await t.step("limits: a 63-byte label and a 255-byte name are fine", () => {
    const l63 = "a".repeat(63);
    encodeQuery(`${l63}.example`, "A");
    // 3 × (63 + 1) + (61 + 1) + 1 = 255
    const name = `${l63}.${l63}.${l63}.${"b".repeat(61)}`;
    assert.equal(queryName(name), name);
  });
  const bad: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ["empty name", () => encodeQuery("", "A"), TypeError, /empty/],
    ["only a dot", () => encodeQuery(".", "A"), TypeError, /empty/],
    ["empty label", () => encodeQuery("a..b", "A"), TypeError, /empty label/],
    ["leading dot", () => encodeQuery(".a.b", "A"), TypeError, /empty label/],
    [
      "64-byte label",
      () => encodeQuery(`${"a".repeat(64)}.b`, "A"),
      TypeError,
      /label of 64 bytes; DNS allows at most 63/,
    ],
    [
      "256-byte name",
      () =>
        encodeQuery(
          `${"a".repeat(63)}.${"a".repeat(63)}.${"a".repeat(63)}.${
            "b".repeat(62)
          }`,
          "A",
        ),
      TypeError,
      /256 bytes on the wire; DNS allows at most 255/,
    ],
    [
      "huge input",
      () => encodeQuery("a.".repeat(100_000), "A"),
      TypeError,
      /at most 255/,
    ],
    ["space", () => encodeQuery("a b.c", "A"), TypeError, /printable/],
    ["NUL", () => encodeQuery("a\0.c", "A"), TypeError, /printable/],
    ["backslash", () => encodeQuery("a\\.c", "A"), TypeError, /backslash/],
    ["not a string", () => encodeQuery(42 as never, "A"), TypeError, /string/],
    [
      "type MX",
      () => encodeQuery("a.b", "MX" as never),
      TypeError,
      /"SRV", "A" or "AAAA"/,
    ],
    [
      "id 65536",
      () => encodeQuery("a.b", "A", { id: 65536 }),
      RangeError,
      /id/,
    ],
    ["id -1", () => encodeQuery("a.b", "A", { id: -1 }), RangeError, /id/],
    ["id 1.5", () => encodeQuery("a.b", "A", { id: 1.5 }), RangeError, /id/],
    [
      "payload 100",
      () => encodeQuery("a.b", "A", { udpPayloadSize: 100 }),
      RangeError,
      /udpPayloadSize/,
    ],
  ];
  for (const [name, f, type, message] of bad) {
    await t.step(`rejects: ${name}`, () => {
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof type, `${e}`);
        assert.match((e as Error).message, message);
        return true;
      });
    });
  }
});

// ---- decoding: good answers -------------------------------------------

Deno.test("decodeResponse: answers", async (t) => {
  const table: [string, DnsQuery, Uint8Array, unknown][] = [
    [
      "A records, owner compressed",
      qA,
      response(qA, {
        answers: [
          rr(ptr(Q), A, [192, 0, 2, 1]),
          rr(ptr(Q), A, [192, 0, 2, 2]),
        ],
      }),
      ["192.0.2.1", "192.0.2.2"],
    ],
    [
      "A record, owner uncompressed",
      qA,
      response(qA, { answers: [rr(wname("host.example"), A, [10, 0, 0, 1])] }),
      ["10.0.0.1"],
    ],
    [
      "AAAA as RFC 5952 text",
      qAAAA,
      response(qAAAA, {
        answers: [
          rr(ptr(Q), AAAA, [
            0x20,
            1,
            0x0d,
            0xb8,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            1,
          ]),
          rr(ptr(Q), AAAA, [
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0xff,
            0xff,
            192,
            0,
            2,
            9,
          ]),
        ],
      }),
      ["2001:db8::1", "::ffff:192.0.2.9"],
    ],
    [
      "SRV: plain target, compressed target, root target",
      qSRV,
      response(qSRV, {
        answers: [
          rr(ptr(Q), SRV, srvData(10, 5, 5222, wname("XMPP.Example"))),
          rr(
            ptr(Q),
            SRV,
            srvData(20, 0, 5223, [
              4,
              ...new TextEncoder().encode("tls1"),
              ...ptr(exampleInSrvQ),
            ]),
          ),
          rr(ptr(Q), SRV, srvData(0, 0, 0, [0])),
        ],
      }),
      [
        { priority: 10, weight: 5, port: 5222, target: "xmpp.example" },
        { priority: 20, weight: 0, port: 5223, target: "tls1.example" },
        { priority: 0, weight: 0, port: 0, target: "." },
      ],
    ],
    [
      "SRV: priority, weight and port up to 65535",
      qSRV,
      response(qSRV, {
        answers: [
          rr(ptr(Q), SRV, srvData(65535, 65535, 65535, wname("x.example"))),
        ],
      }),
      [{ priority: 65535, weight: 65535, port: 65535, target: "x.example" }],
    ],
    [
      "NODATA: rcode 0, SOA in authority",
      qSRV,
      response(qSRV, { authority: [SOA_RR] }),
      [],
    ],
    [
      "NXDOMAIN: rcode 3",
      qSRV,
      response(qSRV, { rcode: 3, authority: [SOA_RR] }),
      [],
    ],
    [
      "the question echoed in another case",
      qA,
      response(qA, {
        question: [...wname("HoSt.ExAmPlE"), 0, 1, 0, 1],
        answers: [rr(ptr(Q), A, [1, 2, 3, 4])],
      }),
      ["1.2.3.4"],
    ],
    [
      "no OPT in the answer (server without EDNS)",
      qA,
      response(qA, { additional: [], answers: [rr(ptr(Q), A, [1, 2, 3, 4])] }),
      ["1.2.3.4"],
    ],
    [
      "other types, other classes and other owners are ignored",
      qA,
      response(qA, {
        answers: [
          rr(ptr(Q), TXT, [3, 97, 98, 99]),
          rr(ptr(Q), A, [9, 9, 9, 9], { cls: 3 }), // CH
          rr(wname("other.example"), A, [6, 6, 6, 6]), // not asked
          rr(ptr(Q), A, [1, 1, 1, 1]),
          rr(ptr(Q), AAAA, new Array(16).fill(0)),
        ],
        additional: [rr(wname("glue.example"), A, [7, 7, 7, 7]), OPT_RR],
      }),
      ["1.1.1.1"],
    ],
    (() => {
      // host.example CNAME alias.example; alias.example CNAME final.example;
      // final.example A 192.0.2.80 (owner names compressed).
      const c1 = rr(ptr(Q), CNAME, wname("alias.example"));
      const aliasAt = afterAQ + 2 + 10; // the CNAME RDATA
      const c2 = rr(ptr(aliasAt), CNAME, [
        5,
        ...new TextEncoder().encode("final"),
        ...ptr(aliasAt + 6),
      ]);
      const finalAt = afterAQ + c1.length + 2 + 10;
      return [
        "CNAME chain in the same answer is followed",
        qA,
        response(qA, {
          answers: [
            c1,
            c2,
            rr(ptr(finalAt), A, [192, 0, 2, 80]),
            rr(wname("alias.example"), A, [6, 6, 6, 6]), // not the end of the chain
          ],
        }),
        ["192.0.2.80"],
      ] as [string, DnsQuery, Uint8Array, unknown];
    })(),
    [
      "a CNAME chain leaving the answer: no records",
      qA,
      response(qA, { answers: [rr(ptr(Q), CNAME, wname("elsewhere.test"))] }),
      [],
    ],
  ];
  for (const [name, q, bytes, want] of table) {
    await t.step(name, () => {
      const got = decodeResponse(bytes, q);
      assert.equal(got.truncated, false);
      assert.deepEqual(!got.truncated && got.records, want);
    });
  }
  await t.step("NXDOMAIN and NODATA are told apart", () => {
    const nx = decodeResponse(response(qSRV, { rcode: 3 }), qSRV);
    const nodata = decodeResponse(response(qSRV), qSRV);
    assert.deepEqual(nx, { truncated: false, nxdomain: true, records: [] });
    assert.deepEqual(nodata, {
      truncated: false,
      nxdomain: false,
      records: [],
    });
  });
  await t.step("TC: truncated, whatever follows", () => {
    assert.deepEqual(
      decodeResponse(response(qSRV, { flags: 0x8380 }), qSRV),
      { truncated: true },
    );
    // Cut mid-record: still only "truncated".
    const cut = response(qSRV, {
      flags: 0x8380,
      answers: [rr(ptr(Q), SRV, srvData(1, 1, 1, wname("x.example")))],
    }).subarray(0, afterSrvQ + 5);
    assert.deepEqual(decodeResponse(cut, qSRV), { truncated: true });
  });
});

// ---- decoding: errors --------------------------------------------------

Deno.test("decodeResponse: failures and hostile input", async (t) => {
  /** A TXT record whose RDATA holds names for pointers to refer to. */
  const names = (data: number[]) => rr(wname("x.example"), TXT, data);
  // Offset of the TXT RDATA when `names` is the first answer of qA.
  const txtAt = afterAQ + wname("x.example").length + 10;

  const pointerChain = (() => {
    // 34 pointers, each to the one before, the first to the question.
    const data: number[] = [...ptr(Q)];
    for (let i = 1; i < 34; i++) data.push(...ptr(txtAt + 2 * (i - 1)));
    return data;
  })();
  const longName = (() => {
    // Four 63-byte labels, each followed by a pointer to the one before.
    const data: number[] = [];
    let prev = Q;
    for (let i = 0; i < 4; i++) {
      const at = txtAt + data.length;
      data.push(63, ...new Array(63).fill(97), ...ptr(prev));
      prev = at;
    }
    return { data, last: prev };
  })();

  const table: [string, DnsQuery, Uint8Array, RegExp, number?][] = [
    [
      "SERVFAIL",
      qSRV,
      response(qSRV, { rcode: 2 }),
      /server failure \(SERVFAIL, rcode 2\)/,
      2,
    ],
    [
      "REFUSED",
      qSRV,
      response(qSRV, { rcode: 5 }),
      /query refused \(REFUSED, rcode 5\)/,
      5,
    ],
    ["FORMERR", qSRV, response(qSRV, { rcode: 1 }), /FORMERR, rcode 1/, 1],
    ["NOTIMP", qSRV, response(qSRV, { rcode: 4 }), /NOTIMP, rcode 4/, 4],
    [
      "unknown rcode 11",
      qSRV,
      response(qSRV, { rcode: 11 }),
      /response code 11/,
      11,
    ],
    [
      "EDNS extended rcode BADVERS (16)",
      qSRV,
      response(qSRV, {
        additional: [rr([0], OPT, [], { cls: 1232, ttl: 0x01000000 })],
      }),
      /BADVERS, rcode 16/,
      16,
    ],
    ["empty", qA, new Uint8Array(), /0 bytes, shorter than a DNS header/],
    [
      "11 bytes",
      qA,
      response(qA).subarray(0, 11),
      /11 bytes, shorter than a DNS header/,
    ],
    ["QR = 0 (a query)", qA, qA.bytes, /QR is 0/],
    [
      "wrong id",
      qA,
      response(qA, { id: 0xbeee }),
      /message id 48878 is not the query's \(48879\)/,
    ],
    [
      "opcode NOTIFY",
      qA,
      response(qA, { flags: 0x8180 | (4 << 11) }),
      /opcode 4/,
    ],
    [
      "no question",
      qA,
      response(qA, { qdcount: 0, question: [] }),
      /0 questions/,
    ],
    [
      "two questions",
      qA,
      response(qA, {
        qdcount: 2,
        question: [...questionOf(qA), ...questionOf(qA)],
      }),
      /2 questions/,
    ],
    [
      "another question name",
      qA,
      response(qA, { question: [...wname("evil.example"), 0, 1, 0, 1] }),
      /question is "evil\.example", not "host\.example"/,
    ],
    [
      "another question type",
      qA,
      response(qA, { question: [...wname("host.example"), 0, 28, 0, 1] }),
      /type 28, not A/,
    ],
    [
      "another question class",
      qA,
      response(qA, { question: [...wname("host.example"), 0, 1, 0, 3] }),
      /class 3, not IN/,
    ],
    [
      "question name with a dot inside a label",
      query("a.b", "A"),
      response(query("a.b", "A"), { question: [3, 97, 46, 98, 0, 0, 1, 0, 1] }),
      /question is "a\\\\046b", not "a\.b"/,
    ],
    [
      "question cut off",
      qA,
      response(qA).subarray(0, Q + 6),
      /question name at offset 12: label at offset 17 runs past the end/,
    ],
    [
      "question type cut off",
      qA,
      response(qA, { additional: [] }).subarray(0, afterAQ - 3),
      /question type at offset \d+ runs past the end/,
    ],
    [
      "huge counts",
      qA,
      response(qA, { counts: [65535, 65535, 65535], additional: [] }),
      /header announces 196605 records, but only 0 bytes follow/,
    ],
    [
      "more answers announced than present",
      qA,
      response(qA, {
        counts: [3, 0, 1],
        answers: [rr(ptr(Q), A, [1, 2, 3, 4])],
      }),
      /header announces 4 records/,
    ],
    [
      "pointer to itself (loop)",
      qA,
      response(qA, { answers: [rr(ptr(afterAQ), A, [1, 2, 3, 4])] }),
      /compression pointer at offset \d+ points forward or into the same name/,
    ],
    [
      "pointer loop through two names",
      qA,
      response(qA, {
        answers: [
          rr(ptr(afterAQ + 16), A, [1, 2, 3, 4]), // forward to the next owner
          rr(ptr(afterAQ), A, [1, 2, 3, 4]), // back to the first
        ],
      }),
      /points forward/,
    ],
    [
      "pointer loop hidden in a label (backward jumps into a label that spans them)",
      qA,
      (() => {
        // TXT RDATA at T: [3, 0xc0, T, 0x41, 0xc0, T]. The A record's
        // owner points at T + 1, which points at T: a 3-byte label over
        // the pointer, then a pointer at T + 4 back to T. Each pointer is
        // before its own position, yet it loops; only strictly earlier
        // targets are accepted.
        const T = txtAt;
        const txt = names([3, 0xc0, T, 0x41, 0xc0, T]);
        return response(qA, {
          answers: [txt, rr(ptr(T + 1), A, [1, 2, 3, 4])],
        });
      })(),
      /compression pointer at offset \d+ points forward or into the same name \(to \d+\)/,
    ],
    [
      "pointer past the end",
      qA,
      response(qA, { answers: [rr(ptr(0x3fff), A, [1, 2, 3, 4])] }),
      /points past the end \(to 16383\)/,
    ],
    [
      "pointer into the header",
      qA,
      response(qA, { answers: [rr(ptr(4), A, [1, 2, 3, 4])] }),
      /points into the header/,
    ],
    [
      "pointer cut off at the end of the message",
      qSRV,
      response(qSRV, {
        additional: [],
        answers: [rr(ptr(Q), SRV, [0, 1, 0, 1, 0, 1, 0xc0])],
      }),
      /SRV target at offset \d+: compression pointer at offset \d+ is cut off/,
    ],
    [
      "more than 32 pointer hops",
      qA,
      response(qA, {
        answers: [
          names(pointerChain),
          rr(ptr(txtAt + 2 * 33), A, [1, 2, 3, 4]),
        ],
      }),
      /follows more than 32 compression pointers/,
    ],
    [
      "name longer than 255 bytes through pointers",
      qA,
      response(qA, {
        answers: [
          names(longName.data),
          rr(ptr(longName.last), A, [1, 2, 3, 4]),
        ],
      }),
      /longer than 255 bytes/,
    ],
    [
      "label type 0x40 (extended label)",
      qA,
      response(qA, { answers: [rr([0x41, 0], A, [1, 2, 3, 4])] }),
      /unsupported label type 0x40/,
    ],
    [
      "label type 0x80",
      qA,
      response(qA, { answers: [rr([0x81, 0], A, [1, 2, 3, 4])] }),
      /unsupported label type 0x80/,
    ],
    [
      "record cut off after its name",
      qA,
      response(qA, {
        counts: [1, 0, 0],
        additional: [],
        trailing: [...ptr(Q), 0, 1, 0, 1, 0, 0, 0, 60, 0],
      }),
      /answer record at offset \d+ is cut off after its name/,
    ],
    [
      "RDLENGTH past the end",
      qA,
      response(qA, {
        additional: [],
        answers: [rr(ptr(Q), A, [1, 2, 3, 4], { rdlength: 400 })],
      }),
      /RDATA of the answer record at offset \d+ \(400 bytes\) runs past the end/,
    ],
    [
      "RDLENGTH shorter than the data: the rest is trailing",
      qA,
      response(qA, {
        additional: [],
        answers: [rr(ptr(Q), A, [1, 2, 3, 4], { rdlength: 2 })],
      }),
      /2 bytes after the last record/,
    ],
    [
      "A with 5 bytes",
      qA,
      response(qA, { answers: [rr(ptr(Q), A, [1, 2, 3, 4, 5])] }),
      /A record with 5 bytes of RDATA, not 4/,
    ],
    [
      "A with 3 bytes",
      qA,
      response(qA, { answers: [rr(ptr(Q), A, [1, 2, 3])] }),
      /not 4/,
    ],
    [
      "AAAA with 4 bytes",
      qAAAA,
      response(qAAAA, { answers: [rr(ptr(Q), AAAA, [1, 2, 3, 4])] }),
      /AAAA record with 4 bytes of RDATA, not 16/,
    ],
    [
      "SRV with 6 bytes",
      qSRV,
      response(qSRV, { answers: [rr(ptr(Q), SRV, [0, 1, 0, 1, 0, 1])] }),
      /SRV record with 6 bytes of RDATA, at least 7/,
    ],
    [
      "SRV target shorter than RDATA",
      qSRV,
      response(qSRV, {
        answers: [
          rr(ptr(Q), SRV, [...srvData(1, 1, 1, wname("x.example")), 0]),
        ],
      }),
      /SRV target "x\.example" does not end where the RDATA does/,
    ],
    [
      "SRV target running past RDATA into the next record",
      qSRV,
      response(qSRV, {
        answers: [
          rr(ptr(Q), SRV, srvData(1, 1, 1, [1, 120])), // "x" without its end
          rr([0], TXT, []), // its root owner ends the name
        ],
      }),
      /SRV target "x" does not end where the RDATA does/,
    ],
    [
      "SRV target with a space",
      qSRV,
      response(qSRV, {
        answers: [rr(ptr(Q), SRV, srvData(1, 1, 1, wname("a b.example")))],
      }),
      /SRV target "a\\\\032b\.example" is not a host name/,
    ],
    [
      "SRV target with UTF-8 bytes",
      qSRV,
      response(qSRV, {
        answers: [rr(ptr(Q), SRV, srvData(1, 1, 1, wname("bücher.example")))],
      }),
      /is not a host name/,
    ],
    [
      "SRV target with a slash",
      qSRV,
      response(qSRV, {
        answers: [rr(ptr(Q), SRV, srvData(1, 1, 1, wname("a/b.example")))],
      }),
      /is not a host name/,
    ],
    [
      "trailing bytes",
      qA,
      response(qA, { trailing: [0, 0, 0] }),
      /3 bytes after the last record/,
    ],
    [
      "two OPT records",
      qA,
      response(qA, { additional: [OPT_RR, OPT_RR] }),
      /more than one OPT record/,
    ],
    [
      "OPT in the answer section",
      qA,
      response(qA, { answers: [OPT_RR] }),
      /OPT record in the answer section/,
    ],
    [
      "OPT not owned by the root",
      qA,
      response(qA, { additional: [rr(ptr(Q), OPT, [], { cls: 1232 })] }),
      /OPT record not owned by the root/,
    ],
    [
      "two CNAMEs for one name",
      qA,
      response(qA, {
        answers: [
          rr(ptr(Q), CNAME, wname("a.test")),
          rr(ptr(Q), CNAME, wname("b.test")),
        ],
      }),
      /2 CNAME records for "host\.example"/,
    ],
    [
      "CNAME loop",
      qA,
      response(qA, {
        answers: [
          rr(ptr(Q), CNAME, wname("loop.test")),
          rr(wname("loop.test"), CNAME, wname("HOST.example")),
        ],
      }),
      /CNAME loop at "host\.example"/,
    ],
    [
      "CNAME chain longer than 8",
      qA,
      response(qA, {
        answers: [
          rr(ptr(Q), CNAME, wname("c0.test")),
          ...Array.from(
            { length: 9 },
            (_, i) => rr(wname(`c${i}.test`), CNAME, wname(`c${i + 1}.test`)),
          ),
          rr(wname("c9.test"), A, [1, 2, 3, 4]),
        ],
      }),
      /CNAME chain longer than 8 records/,
    ],
    [
      "CNAME RDATA longer than its name",
      qA,
      response(qA, { answers: [rr(ptr(Q), CNAME, [...wname("a.test"), 0])] }),
      /CNAME target of "host\.example" does not fill its RDATA/,
    ],
  ];
  for (const [name, q, bytes, message, rcode] of table) {
    await t.step(name, () => {
      assert.throws(() => decodeResponse(bytes, q), (e: unknown) => {
        assert.ok(e instanceof DnsResponseError, String(e));
        assert.ok(e instanceof ResolveError);
        assert.match(e.message, message);
        assert.equal(e.query, q.name);
        assert.equal(e.recordType, q.type);
        assert.equal(e.rcode, rcode);
        if (rcode === undefined) {
          assert.match(e.reason, /^malformed response: /);
        }
        return true;
      });
    });
  }
});

Deno.test("decodeResponse: mutated answers never escape as other errors", () => {
  // A valid answer with every feature (compression, SRV, CNAME, OPT),
  // mutated at random: each result is either records or a
  // DnsResponseError, never a RangeError or a hang.
  const base = response(qSRV, {
    answers: [
      rr(ptr(Q), SRV, srvData(10, 5, 5222, wname("xmpp.example"))),
      rr(
        ptr(Q),
        SRV,
        srvData(20, 0, 5223, [3, 116, 108, 115, ...ptr(exampleInSrvQ)]),
      ),
    ],
    authority: [SOA_RR],
  });
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  let errors = 0;
  for (let i = 0; i < 20_000; i++) {
    const m = base.slice(
      0,
      rand(4) === 0 ? rand(base.length + 1) : base.length,
    );
    for (let k = 1 + rand(4); k > 0 && m.length > 0; k--) {
      m[rand(m.length)] = rand(256);
    }
    try {
      decodeResponse(m, qSRV);
    } catch (e) {
      if (!(e instanceof DnsResponseError)) throw e;
      errors++;
    }
  }
  assert.ok(errors > 1000, `${errors} errors`);
});

Deno.test("isResponseTo: header, QR and id", async (t) => {
  const table: [string, Uint8Array, boolean][] = [
    ["the answer", response(qA), true],
    ["the query itself (QR = 0)", qA.bytes, false],
    ["another id", response(qA, { id: 1 }), false],
    ["too short", response(qA).subarray(0, 11), false],
    ["truncated, still ours", response(qA, { flags: 0x8380 }), true],
  ];
  for (const [name, bytes, want] of table) {
    await t.step(name, () => assert.equal(isResponseTo(bytes, qA), want));
  }
});

Deno.test("formatIPv6: RFC 5952", async (t) => {
  const hex = (s: string) => {
    const b = new Uint8Array(16);
    s.split(":").forEach((g, i) => {
      const n = parseInt(g, 16);
      b[2 * i] = n >> 8;
      b[2 * i + 1] = n & 255;
    });
    return b;
  };
  const table: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"], // first of equal runs
    ["2001:0db8:0000:0001:0001:0001:0001:0001", "2001:db8:0:1:1:1:1:1"], // one zero group stays
    ["0001:0000:0000:0002:0000:0000:0000:0003", "1:0:0:2::3"], // the longer run
    ["0000:0000:0000:0000:0000:0000:0000:0000", "::"],
    ["0000:0000:0000:0000:0000:0000:0000:0001", "::1"],
    ["0001:0000:0000:0000:0000:0000:0000:0000", "1::"],
    ["FE80:0000:0000:0000:0000:0000:0000:ABCD", "fe80::abcd"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    ["0000:0000:0000:0000:0000:ffff:c000:0201", "::ffff:192.0.2.1"], // §5
    [
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ],
  ];
  for (const [input, want] of table) {
    await t.step(
      `${input} → ${want}`,
      () => assert.equal(formatIPv6(hex(input)), want),
    );
  }
  await t.step(
    "agrees with the WHATWG URL serializer on random addresses",
    () => {
      let seed = 7;
      const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
      for (let i = 0; i < 2000; i++) {
        const b = new Uint8Array(16);
        for (let g = 0; g < 8; g++) {
          if (rand() % 2) continue; // zero groups are common
          const v = rand() % 3 === 0 ? rand() & 0xf : rand();
          b[2 * g] = v >> 8;
          b[2 * g + 1] = v & 255;
        }
        if (
          b.subarray(0, 10).every((x) => x === 0) && b[10] === 255 &&
          b[11] === 255
        ) continue;
        const text = formatIPv6(b);
        assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname, text);
      }
    },
  );
  await t.step("rejects other lengths", () => {
    assert.throws(() => formatIPv6(new Uint8Array(4)), RangeError);
  });
});

Deno.test("decodeResponse: SRV additional addresses", async (t) => {
  const v6 = (last: number) => [
    0x20,
    1,
    0x0d,
    0xb8,
    ...new Array(11).fill(0),
    last,
  ];
  const srvAnswer = (target: number[]) =>
    rr(ptr(Q), SRV, srvData(10, 5, 5222, target));
  const decode = (bytes: Uint8Array) => {
    const d = decodeResponse(bytes, qSRV);
    assert.equal(d.truncated, false);
    if (d.truncated) throw new Error("unreachable");
    return d.records;
  };

  await t.step("A and AAAA of the target attached, in order given", () => {
    // The target name inside the SRV RDATA: owner pointer (2), type, class,
    // TTL, RDLENGTH (10), priority, weight, port (6).
    const target = afterSrvQ + 2 + 10 + 6;
    const records = decode(response(qSRV, {
      answers: [srvAnswer(wname("xmpp.example"))],
      additional: [
        rr(ptr(target), AAAA, v6(1)),
        rr(wname("XMPP.Example"), A, [192, 0, 2, 1]),
        rr(ptr(target), A, [192, 0, 2, 2]),
        OPT_RR,
      ],
    }));
    assert.deepEqual(records, [{
      priority: 10,
      weight: 5,
      port: 5222,
      target: "xmpp.example",
      addresses: ["2001:db8::1", "192.0.2.1", "192.0.2.2"],
    }]);
  });

  await t.step("each record of the same target gets them; others none", () => {
    const records = decode(response(qSRV, {
      answers: [
        srvAnswer(wname("a.example")),
        rr(ptr(Q), SRV, srvData(20, 0, 5223, wname("a.example"))),
        rr(ptr(Q), SRV, srvData(30, 0, 5224, wname("b.example"))),
      ],
      additional: [rr(wname("a.example"), A, [192, 0, 2, 7]), OPT_RR],
    }));
    assert.deepEqual(records.map((r) => r.addresses), [
      ["192.0.2.7"],
      ["192.0.2.7"],
      undefined,
    ]);
    assert.ok(!("addresses" in records[2]));
    assert.notEqual(records[0].addresses, records[1].addresses);
  });

  await t.step(
    "records of other names, types, classes, sections ignored",
    () => {
      const records = decode(response(qSRV, {
        answers: [
          srvAnswer(wname("xmpp.example")),
          // An A record in the answer section is not additional data.
          rr(wname("xmpp.example"), A, [192, 0, 2, 99]),
        ],
        authority: [rr(wname("xmpp.example"), A, [192, 0, 2, 98])],
        additional: [
          rr(wname("other.example"), A, [192, 0, 2, 1]),
          rr(wname("sub.xmpp.example"), A, [192, 0, 2, 2]),
          rr(wname("example"), AAAA, v6(2)),
          rr(wname("xmpp.example"), TXT, [3, 97, 98, 99]),
          rr(wname("xmpp.example"), A, [192, 0, 2, 3], { cls: 3 }),
          // Wrong lengths on other names are not looked at.
          rr(wname("other.example"), A, [1, 2, 3]),
          OPT_RR,
        ],
      }));
      assert.deepEqual(records, [{
        priority: 10,
        weight: 5,
        port: 5222,
        target: "xmpp.example",
      }]);
    },
  );

  await t.step('no addresses for the target "."', () => {
    const records = decode(response(qSRV, {
      answers: [rr(ptr(Q), SRV, srvData(0, 0, 0, [0]))],
      additional: [rr([0], A, [192, 0, 2, 1]), OPT_RR],
    }));
    assert.deepEqual(records, [{
      priority: 0,
      weight: 0,
      port: 0,
      target: ".",
    }]);
  });

  await t.step("duplicates dropped, at most 16 per target", () => {
    const extra = [];
    for (let i = 0; i < 40; i++) {
      extra.push(rr(wname("xmpp.example"), A, [192, 0, 2, i % 20]));
    }
    const records = decode(response(qSRV, {
      answers: [srvAnswer(wname("xmpp.example"))],
      additional: [...extra, OPT_RR],
    }));
    assert.deepEqual(
      records[0].addresses,
      Array.from({ length: 16 }, (_, i) => `192.0.2.${i}`),
    );
  });

  await t.step("not for A and AAAA queries", () => {
    const d = decodeResponse(
      response(qA, {
        answers: [rr(ptr(Q), A, [192, 0, 2, 1])],
        additional: [rr(ptr(Q), A, [192, 0, 2, 2]), OPT_RR],
      }),
      qA,
    );
    assert.deepEqual(d, {
      truncated: false,
      nxdomain: false,
      records: ["192.0.2.1"],
    });
  });

  const bad: [string, number[], RegExp][] = [
    [
      "A of the target with 5 bytes",
      rr(wname("xmpp.example"), A, [192, 0, 2, 1, 0]),
      /malformed response: additional A record of "xmpp\.example" with 5 bytes of RDATA, not 4/,
    ],
    [
      "AAAA of the target with 4 bytes",
      rr(wname("xmpp.example"), AAAA, [192, 0, 2, 1]),
      /malformed response: additional AAAA record of "xmpp\.example" with 4 bytes of RDATA, not 16/,
    ],
    [
      "RDLENGTH past the end",
      rr(wname("xmpp.example"), A, [192, 0, 2, 1], { rdlength: 200 }),
      /RDATA of the additional record at offset \d+ \(200 bytes\) runs past the end/,
    ],
  ];
  for (const [name, record, message] of bad) {
    await t.step(`rejects: ${name}`, () => {
      assert.throws(
        () =>
          decodeResponse(
            response(qSRV, {
              answers: [srvAnswer(wname("xmpp.example"))],
              additional: [record],
            }),
            qSRV,
          ),
        (e: unknown) => {
          assert.ok(e instanceof DnsResponseError, String(e));
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});
