/**
 * DNS messages on the wire (RFC 1035), just what the wire client of
 * {@linkcode dnsResolver} needs: encode one SRV, A or AAAA query, and decode
 * its response strictly.
 *
 * Encoding: a random 16-bit id (`crypto.getRandomValues`), RD = 1, one
 * question of class IN, the name as A-labels (labels of at most 63 bytes,
 * at most 255 bytes on the wire, else a `TypeError`), and an EDNS0 OPT
 * record advertising a 1232-byte UDP payload.
 *
 * Decoding never reads outside the message and checks, in this order: the
 * header (12 bytes, QR = 1, the query's id, opcode 0), TC (a truncated
 * answer is reported so that the caller asks again over TCP), exactly one
 * question echoing the one asked (name case-insensitively, type, class
 * IN), every record of every section (names with compression pointers that
 * only go backward, at most 32 hops, at most 255 bytes; RDATA within the
 * message; record counts that fit in the bytes that follow), at most one
 * OPT record, no bytes after the last record, then the response code: 0
 * gives the records, 3 (NXDOMAIN) gives `[]`, any other (SERVFAIL,
 * REFUSED, an EDNS extended code, ...) is a {@linkcode DnsResponseError}
 * naming it. Answers are the records of the asked type and class IN in the
 * answer section owned by the asked name or by the end of a CNAME chain
 * starting there (at most 8 CNAMEs, no loops, all in the same answer);
 * records of other names or types are ignored. A has exactly 4 bytes of
 * RDATA, AAAA exactly 16 (given as RFC 5952 text), SRV has priority,
 * weight, port and a host name target that ends exactly where its RDATA
 * does. Any violation is a {@linkcode DnsResponseError} with the reason.
 *
 * SRV answers also take the target's addresses from the additional section
 * (RFC 2782): A and AAAA records of class IN whose owner is exactly an SRV
 * target (case-insensitively) become that record's `addresses`, in the
 * order given, duplicates dropped, at most 16 per target (more are
 * ignored). Such a record with the wrong RDATA length (not 4 or 16 bytes)
 * is a {@linkcode DnsResponseError} like one in the answer section;
 * records of other names or types are ignored. A record without any gets
 * no `addresses` field.
 *
 * @example
 * ```ts
 * import { decodeResponse, encodeQuery } from "./_dns_wire.ts";
 *
 * const query = encodeQuery("example.org", "A", { id: 7 });
 * // A hand-made answer: header, the question echoed, one A record whose
 * // owner is a compression pointer to the question name (offset 12).
 * const question = query.bytes.subarray(12, 12 + 13 + 4);
 * const answer = new Uint8Array([
 *   0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
 *   ...question,
 *   0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,
 * ]);
 * console.log(decodeResponse(answer, query)); // { truncated: false, nxdomain: false, records: ["192.0.2.1"] }
 * ```
 *
 * @module
 */

import { ResolveError, type SrvRecord } from "./resolver.ts";
import { hostToALabel } from "./_idna.ts";

/** The record types the wire client asks for. */
export type WireRecordType = "SRV" | "A" | "AAAA";

/** What one record of a type decodes to: an SRV record or an address. */
export type WireRecord<T extends WireRecordType> = T extends "SRV" ? SrvRecord
  : string;

/** An encoded query and what its response is checked against. */
export interface DnsQuery<T extends WireRecordType = WireRecordType> {
  /** The message id. */
  readonly id: number;
  /** The name asked, as A-labels, without a trailing dot. */
  readonly name: string;
  /** The record type asked. */
  readonly type: T;
  /** The message, ready for UDP (add the 2-byte length for TCP). */
  readonly bytes: Uint8Array;
}

/** Options for {@linkcode encodeQuery}. */
export interface EncodeQueryOptions {
  /**
   * The message id, an integer in `[0, 65535]`.
   *
   * @default {a random id from crypto.getRandomValues}
   */
  id?: number;
  /**
   * The UDP payload size advertised in an EDNS0 OPT record (RFC 6891), in
   * `[512, 65535]`, or `0` for no OPT record.
   *
   * @default {1232}
   */
  udpPayloadSize?: number;
}

/** A decoded response: truncated (ask again over TCP), or the records. */
export type DecodedResponse<T extends WireRecordType> =
  | { truncated: true }
  | {
    truncated: false;
    /** The response code was 3: the name does not exist. */
    nxdomain: boolean;
    /** The records of the asked type (`[]` for NXDOMAIN and NODATA). */
    records: WireRecord<T>[];
  };

/** The EDNS0 UDP payload size advertised by default (DNS flag day 2020). */
export const EDNS_UDP_PAYLOAD_SIZE = 1232;

const TYPE_CODE: Record<WireRecordType, number> = { A: 1, AAAA: 28, SRV: 33 };
const TYPE_CNAME = 5;
const TYPE_OPT = 41;
const CLASS_IN = 1;
const HEADER_BYTES = 12;
/** Smallest record: a root owner name (1), type, class, TTL, RDLENGTH (10). */
const MIN_RECORD_BYTES = 11;
const MAX_NAME_BYTES = 255;
const MAX_LABEL_BYTES = 63;
const MAX_POINTER_HOPS = 32;
const MAX_CNAME_HOPS = 8;
/** Most addresses taken from the additional section for one SRV target. */
export const MAX_ADDITIONAL_ADDRESSES = 16;
/** Longest query name accepted before any conversion (bounded work). */
const MAX_INPUT_NAME = 1024;

const RCODES: Record<number, string> = {
  1: "format error (FORMERR, rcode 1)",
  2: "server failure (SERVFAIL, rcode 2)",
  4: "not implemented (NOTIMP, rcode 4)",
  5: "query refused (REFUSED, rcode 5)",
  6: "name exists when it should not (YXDOMAIN, rcode 6)",
  9: "server not authoritative (NOTAUTH, rcode 9)",
  16: "EDNS version not supported (BADVERS, rcode 16)",
};

/**
 * A {@linkcode ResolveError} from the wire client, with the reason on its
 * own and the response code when the server answered with one.
 *
 * @example
 * ```ts
 * import { DnsResponseError } from "./_dns_wire.ts";
 * const e = new DnsResponseError(
 *   { name: "example.org", type: "A" },
 *   "server failure (SERVFAIL, rcode 2)",
 *   { rcode: 2 },
 * );
 * console.log(e.message); // "A lookup of example.org failed: server failure (SERVFAIL, rcode 2)"
 * console.log(e.rcode); // 2
 * ```
 */
export class DnsResponseError extends ResolveError {
  /** What went wrong, without the name and type. */
  readonly reason: string;
  /** The response code, when the failure is one (2 SERVFAIL, 5 REFUSED...). */
  readonly rcode: number | undefined;

  /**
   * Make the error.
   *
   * @param query The name and type looked up.
   * @param reason What went wrong.
   * @param options The response code (default none) and the cause
   *   (default none).
   */
  constructor(
    query: { name: string; type: string },
    reason: string,
    options: { rcode?: number; cause?: unknown } = {},
  ) {
    super(
      query.name,
      query.type,
      reason,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.reason = reason;
    this.rcode = options.rcode;
  }
}

/** A short, quoted form of a name for error messages (bounded length). */
function show(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/**
 * Check a name to look up and give it as A-labels without a trailing dot:
 * non-ASCII names are converted with UTS #46, then every label must be 1
 * to 63 printable ASCII bytes other than `\` and the whole name at most
 * 255 bytes on the wire.
 *
 * @example
 * ```ts
 * import { queryName } from "./_dns_wire.ts";
 * console.log(queryName("_xmpp-client._tcp.Bücher.example.")); // "_xmpp-client._tcp.xn--bcher-kva.example"
 * ```
 *
 * @param name The name, such as `"_xmpp-client._tcp.example.org"`.
 * @returns The name to put on the wire.
 * @throws {TypeError} For a name that is not a string, is empty, has an
 *   empty label, a label over 63 bytes, a character that is not printable
 *   ASCII (or is `\`) after conversion, or is over 255 bytes on the wire.
 */
export function queryName(name: string): string {
  if (typeof name !== "string") {
    throw new TypeError(
      `a DNS name must be a string such as "example.org", got ${typeof name}`,
    );
  }
  if (name.length > MAX_INPUT_NAME) {
    throw new TypeError(
      `DNS name ${show(name)} is ${name.length} characters long; ` +
        `DNS allows at most ${MAX_NAME_BYTES} bytes`,
    );
  }
  let n = name.endsWith(".") ? name.slice(0, -1) : name;
  if (n === "") {
    throw new TypeError(
      `DNS name ${show(name)} is empty; pass a name such as "example.org"`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (!/^[\x00-\x7f]*$/.test(n)) n = hostToALabel(n);
  let wire = 1;
  for (const label of n.split(".")) {
    if (label === "") {
      throw new TypeError(`DNS name ${show(name)} has an empty label`);
    }
    if (label.length > MAX_LABEL_BYTES) {
      throw new TypeError(
        `DNS name ${show(name)} has a label of ${label.length} bytes; ` +
          `DNS allows at most ${MAX_LABEL_BYTES}`,
      );
    }
    if (!/^[\x21-\x5b\x5d-\x7e]+$/.test(label)) {
      throw new TypeError(
        `DNS name ${show(name)} has a label with a character that is not ` +
          `printable ASCII, or a backslash (after IDNA conversion)`,
      );
    }
    wire += label.length + 1;
  }
  if (wire > MAX_NAME_BYTES) {
    throw new TypeError(
      `DNS name ${show(name)} is ${wire} bytes on the wire; ` +
        `DNS allows at most ${MAX_NAME_BYTES}`,
    );
  }
  return n;
}

/**
 * Encode a query: one question of class IN, RD = 1, an EDNS0 OPT record.
 *
 * @example
 * ```ts
 * import { encodeQuery } from "./_dns_wire.ts";
 * const q = encodeQuery("_xmpp-client._tcp.example.org", "SRV");
 * console.log(q.bytes.length); // 12 + 31 + 4 + 11 = 58
 * console.log(q.id >= 0 && q.id < 65536); // true
 * ```
 *
 * @param name The name (see {@linkcode queryName}).
 * @param type `"SRV"`, `"A"` or `"AAAA"`.
 * @param options The id (default random) and the EDNS0 payload size
 *   (default 1232; 0 for no OPT record).
 * @returns The query.
 * @throws {TypeError} For a bad name or type.
 * @throws {RangeError} For an id or payload size out of range.
 */
export function encodeQuery<T extends WireRecordType>(
  name: string,
  type: T,
  options: EncodeQueryOptions = {},
): DnsQuery<T> {
  const code = Object.hasOwn(TYPE_CODE, type) ? TYPE_CODE[type] : undefined;
  if (code === undefined) {
    throw new TypeError(
      `record type must be "SRV", "A" or "AAAA", got ${show(String(type))}`,
    );
  }
  let id = options.id;
  if (id === undefined) {
    id = crypto.getRandomValues(new Uint16Array(1))[0];
  } else if (!Number.isInteger(id) || id < 0 || id > 65535) {
    throw new RangeError(
      `id must be an integer in [0, 65535], got ${String(id)}`,
    );
  }
  const payload = options.udpPayloadSize ?? EDNS_UDP_PAYLOAD_SIZE;
  if (
    !Number.isInteger(payload) ||
    (payload !== 0 && (payload < 512 || payload > 65535))
  ) {
    throw new RangeError(
      `udpPayloadSize must be 0 or an integer in [512, 65535], got ${
        String(payload)
      }`,
    );
  }
  const n = queryName(name);
  const out: number[] = [
    id >> 8,
    id & 255,
    0x01, // RD
    0,
    0,
    1, // QDCOUNT
    0,
    0,
    0,
    0,
    0,
    payload ? 1 : 0, // ARCOUNT
  ];
  for (const label of n.split(".")) {
    out.push(label.length);
    for (let i = 0; i < label.length; i++) out.push(label.charCodeAt(i));
  }
  out.push(0, code >> 8, code & 255, 0, CLASS_IN);
  if (payload) {
    // OPT: root owner, type 41, class = payload size, TTL 0 (extended
    // rcode 0, version 0, no DO), no options.
    out.push(0, 0, TYPE_OPT, payload >> 8, payload & 255, 0, 0, 0, 0, 0, 0);
  }
  return { id, name: n, type, bytes: new Uint8Array(out) };
}

/**
 * Whether a datagram can be the response to a query at all: at least a
 * header, QR = 1 and the query's id. The UDP transport drops datagrams
 * that are not (spoofing resistance); {@linkcode decodeResponse} checks
 * everything else.
 *
 * @example
 * ```ts
 * import { encodeQuery, isResponseTo } from "./_dns_wire.ts";
 * const q = encodeQuery("example.org", "A", { id: 0x1234 });
 * console.log(isResponseTo(q.bytes, q)); // false (QR = 0: a query)
 * console.log(isResponseTo(new Uint8Array([0x12, 0x34, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]), q)); // true
 * ```
 *
 * @param bytes The datagram.
 * @param query The query sent.
 * @returns `true` if the header fits.
 */
export function isResponseTo(bytes: Uint8Array, query: DnsQuery): boolean {
  return bytes.length >= HEADER_BYTES &&
    ((bytes[0] << 8) | bytes[1]) === query.id && (bytes[2] & 0x80) !== 0;
}

/** One resource record, located in the message. */
interface Rr {
  /** Owner name, presentation form, lower case. */
  owner: string;
  type: number;
  cls: number;
  ttl: number;
  rdStart: number;
  rdEnd: number;
}

/** A strict reader over one response. */
class Reader {
  constructor(readonly msg: Uint8Array, readonly query: DnsQuery) {}

  fail(reason: string): DnsResponseError {
    return new DnsResponseError(
      this.query,
      `malformed response: ${reason}`,
    );
  }

  u16(at: number, what: string): number {
    if (at + 2 > this.msg.length) {
      throw this.fail(`${what} at offset ${at} runs past the end`);
    }
    return (this.msg[at] << 8) | this.msg[at + 1];
  }

  /**
   * The name at `start`, in presentation form (lower case, `\DDD` for bytes
   * that are not printable ASCII or are `.` or `\`, `""` for the root),
   * and the offset after it where it starts.
   */
  name(start: number, what: string): { name: string; end: number } {
    const msg = this.msg;
    const labels: string[] = [];
    let pos = start;
    let end = -1;
    let hops = 0;
    let wire = 1;
    // Every pointer must point before the start of the part of the name it
    // is in, so targets strictly decrease: no loops.
    let segmentStart = start;
    for (;;) {
      if (pos >= msg.length) {
        throw this.fail(`${what} at offset ${start} runs past the end`);
      }
      const len = msg[pos];
      if (len === 0) {
        if (end < 0) end = pos + 1;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= msg.length) {
          throw this.fail(
            `${what} at offset ${start}: compression pointer at offset ${pos} is cut off`,
          );
        }
        const target = ((len & 0x3f) << 8) | msg[pos + 1];
        if (end < 0) end = pos + 2;
        if (target >= msg.length) {
          throw this.fail(
            `${what} at offset ${start}: compression pointer at offset ${pos} points past the end (to ${target})`,
          );
        }
        if (target >= segmentStart) {
          throw this.fail(
            `${what} at offset ${start}: compression pointer at offset ${pos} ` +
              `points forward or into the same name (to ${target}); only ` +
              `pointers to earlier names are allowed`,
          );
        }
        if (target < HEADER_BYTES) {
          throw this.fail(
            `${what} at offset ${start}: compression pointer at offset ${pos} points into the header (to ${target})`,
          );
        }
        if (++hops > MAX_POINTER_HOPS) {
          throw this.fail(
            `${what} at offset ${start} follows more than ${MAX_POINTER_HOPS} compression pointers`,
          );
        }
        segmentStart = target;
        pos = target;
        continue;
      }
      if (kind !== 0) {
        throw this.fail(
          `${what} at offset ${start}: unsupported label type 0x${
            kind.toString(16)
          } at offset ${pos}`,
        );
      }
      if (pos + 1 + len > msg.length) {
        throw this.fail(
          `${what} at offset ${start}: label at offset ${pos} runs past the end`,
        );
      }
      wire += len + 1;
      if (wire > MAX_NAME_BYTES) {
        throw this.fail(
          `${what} at offset ${start} is longer than ${MAX_NAME_BYTES} bytes`,
        );
      }
      labels.push(presentation(msg, pos + 1, pos + 1 + len));
      pos += 1 + len;
    }
    return { name: labels.join("."), end };
  }

  record(at: number, section: string): { rr: Rr; end: number } {
    const { name, end } = this.name(at, `owner name of a ${section} record`);
    if (end + 10 > this.msg.length) {
      throw this.fail(
        `${section} record at offset ${at} is cut off after its name`,
      );
    }
    const type = this.u16(end, "type");
    const cls = this.u16(end + 2, "class");
    const ttl = ((this.msg[end + 4] << 24) | (this.msg[end + 5] << 16) |
      (this.msg[end + 6] << 8) | this.msg[end + 7]) >>> 0;
    const rdLength = this.u16(end + 8, "RDLENGTH");
    const rdStart = end + 10;
    const rdEnd = rdStart + rdLength;
    if (rdEnd > this.msg.length) {
      throw this.fail(
        `RDATA of the ${section} record at offset ${at} (${rdLength} bytes) runs past the end`,
      );
    }
    return { rr: { owner: name, type, cls, ttl, rdStart, rdEnd }, end: rdEnd };
  }
}

/** Presentation form of one label: lower case, `\DDD` escapes. */
function presentation(msg: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) {
    let b = msg[i];
    if (b >= 0x41 && b <= 0x5a) b += 0x20; // A-Z → a-z
    if (b > 0x20 && b < 0x7f && b !== 0x2e && b !== 0x5c) {
      s += String.fromCharCode(b);
    } else {
      s += `\\${b.toString().padStart(3, "0")}`;
    }
  }
  return s;
}

const HOST_LABEL = /^[a-z0-9_-]+$/;

/**
 * Decode the response to `query` strictly (see the module documentation
 * for every rule).
 *
 * @example
 * ```ts
 * import { decodeResponse, DnsResponseError, encodeQuery } from "./_dns_wire.ts";
 * const q = encodeQuery("a.example", "AAAA", { id: 1, udpPayloadSize: 0 });
 * // The query itself, turned into a SERVFAIL response.
 * const servfail = q.bytes.slice();
 * servfail[2] |= 0x80;
 * servfail[3] = 2;
 * try {
 *   decodeResponse(servfail, q);
 * } catch (e) {
 *   console.log(e instanceof DnsResponseError && e.rcode); // 2
 * }
 * ```
 *
 * @param bytes The response message (without the TCP length prefix).
 * @param query The query it answers.
 * @returns `{ truncated: true }` when TC is set, else the records.
 * @throws {DnsResponseError} For a response code other than 0 and 3, and
 *   for any malformed or mismatched response (the reason says which).
 */
export function decodeResponse<T extends WireRecordType>(
  bytes: Uint8Array,
  query: DnsQuery<T>,
): DecodedResponse<T> {
  const r = new Reader(bytes, query);
  if (bytes.length < HEADER_BYTES) {
    throw r.fail(
      `${bytes.length} bytes, shorter than a DNS header (${HEADER_BYTES})`,
    );
  }
  if (bytes.length > 65535) {
    throw r.fail(`${bytes.length} bytes, longer than a DNS message can be`);
  }
  const id = r.u16(0, "id");
  const flags = r.u16(2, "flags");
  if ((flags & 0x8000) === 0) throw r.fail("QR is 0: it is a query");
  if (id !== query.id) {
    throw r.fail(`message id ${id} is not the query's (${query.id})`);
  }
  const opcode = (flags >> 11) & 15;
  if (opcode !== 0) throw r.fail(`opcode ${opcode}, not a standard query`);
  if (flags & 0x0200) return { truncated: true };

  const qdCount = r.u16(4, "QDCOUNT");
  const counts = [
    r.u16(6, "ANCOUNT"),
    r.u16(8, "NSCOUNT"),
    r.u16(10, "ARCOUNT"),
  ];
  if (qdCount !== 1) {
    throw r.fail(`${qdCount} questions, expected the 1 asked`);
  }
  const q = r.name(HEADER_BYTES, "question name");
  const qType = r.u16(q.end, "question type");
  const qClass = r.u16(q.end + 2, "question class");
  const asked = query.name.toLowerCase();
  if (q.name !== asked) {
    throw r.fail(`the question is ${show(q.name)}, not ${show(asked)}`);
  }
  if (qType !== TYPE_CODE[query.type]) {
    throw r.fail(`the question is for type ${qType}, not ${query.type}`);
  }
  if (qClass !== CLASS_IN) {
    throw r.fail(`the question is for class ${qClass}, not IN (1)`);
  }
  let pos = q.end + 4;
  const total = counts[0] + counts[1] + counts[2];
  if (total * MIN_RECORD_BYTES > bytes.length - pos) {
    throw r.fail(
      `the header announces ${total} records, but only ${
        bytes.length - pos
      } bytes follow the question`,
    );
  }
  const answers: Rr[] = [];
  const additional: Rr[] = [];
  let opt: Rr | undefined;
  const sections = ["answer", "authority", "additional"];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]; i++) {
      const { rr, end } = r.record(pos, sections[s]);
      pos = end;
      if (s === 0) answers.push(rr);
      else if (s === 2) additional.push(rr);
      if (rr.type === TYPE_OPT) {
        if (s !== 2) throw r.fail(`OPT record in the ${sections[s]} section`);
        if (opt) throw r.fail("more than one OPT record");
        if (rr.owner !== "") throw r.fail("OPT record not owned by the root");
        opt = rr;
      }
    }
  }
  if (pos !== bytes.length) {
    throw r.fail(`${bytes.length - pos} bytes after the last record`);
  }

  const rcode = (opt ? (opt.ttl >>> 24) << 4 : 0) | (flags & 15);
  if (rcode === 3) return { truncated: false, nxdomain: true, records: [] };
  if (rcode !== 0) {
    throw new DnsResponseError(
      query,
      RCODES[rcode] ?? `response code ${rcode}`,
      {
        rcode,
      },
    );
  }

  // Follow a CNAME chain from the asked name, within this answer.
  let current = asked;
  const seen = new Set([current]);
  for (let hops = 0;; hops++) {
    const cnames = answers.filter((a) =>
      a.type === TYPE_CNAME && a.cls === CLASS_IN && a.owner === current
    );
    if (cnames.length === 0) break;
    if (cnames.length > 1) {
      throw r.fail(`${cnames.length} CNAME records for ${show(current)}`);
    }
    if (hops === MAX_CNAME_HOPS) {
      throw r.fail(`CNAME chain longer than ${MAX_CNAME_HOPS} records`);
    }
    const c = cnames[0];
    const target = r.name(c.rdStart, "CNAME target");
    if (target.end !== c.rdEnd) {
      throw r.fail(`CNAME target of ${show(current)} does not fill its RDATA`);
    }
    if (seen.has(target.name)) {
      throw r.fail(`CNAME loop at ${show(target.name)}`);
    }
    seen.add(target.name);
    current = target.name;
  }

  const code = TYPE_CODE[query.type];
  const records: unknown[] = [];
  for (const a of answers) {
    if (a.type !== code || a.cls !== CLASS_IN || a.owner !== current) continue;
    const length = a.rdEnd - a.rdStart;
    if (query.type === "A") {
      if (length !== 4) {
        throw r.fail(`A record with ${length} bytes of RDATA, not 4`);
      }
      records.push(bytes.subarray(a.rdStart, a.rdEnd).join("."));
    } else if (query.type === "AAAA") {
      if (length !== 16) {
        throw r.fail(`AAAA record with ${length} bytes of RDATA, not 16`);
      }
      records.push(formatIPv6(bytes.subarray(a.rdStart, a.rdEnd)));
    } else {
      if (length < 7) {
        throw r.fail(
          `SRV record with ${length} bytes of RDATA, at least 7 needed`,
        );
      }
      const target = r.name(a.rdStart + 6, "SRV target");
      if (target.end !== a.rdEnd) {
        throw r.fail(
          `SRV target ${show(target.name)} does not end where the RDATA does`,
        );
      }
      if (
        target.name !== "" &&
        !target.name.split(".").every((l) => HOST_LABEL.test(l))
      ) {
        throw r.fail(`SRV target ${show(target.name)} is not a host name`);
      }
      records.push({
        priority: r.u16(a.rdStart, "SRV priority"),
        weight: r.u16(a.rdStart + 2, "SRV weight"),
        port: r.u16(a.rdStart + 4, "SRV port"),
        target: target.name === "" ? "." : target.name,
      });
    }
  }
  if (query.type === "SRV") attachAdditional(r, records as SrvRecord[]);
  return {
    truncated: false,
    nxdomain: false,
    records: records as WireRecord<T>[],
  };

  /** Give each SRV record its target's A/AAAA records from `additional`. */
  function attachAdditional(r: Reader, srv: SrvRecord[]): void {
    const byTarget = new Map<string, string[]>();
    for (const s of srv) {
      if (s.target !== ".") byTarget.set(s.target, []);
    }
    if (byTarget.size === 0) return;
    for (const a of additional) {
      if (a.cls !== CLASS_IN) continue;
      if (a.type !== TYPE_CODE.A && a.type !== TYPE_CODE.AAAA) continue;
      const list = byTarget.get(a.owner);
      if (list === undefined) continue;
      const length = a.rdEnd - a.rdStart;
      let address: string;
      if (a.type === TYPE_CODE.A) {
        if (length !== 4) {
          throw r.fail(
            `additional A record of ${
              show(a.owner)
            } with ${length} bytes of RDATA, not 4`,
          );
        }
        address = bytes.subarray(a.rdStart, a.rdEnd).join(".");
      } else {
        if (length !== 16) {
          throw r.fail(
            `additional AAAA record of ${
              show(a.owner)
            } with ${length} bytes of RDATA, not 16`,
          );
        }
        address = formatIPv6(bytes.subarray(a.rdStart, a.rdEnd));
      }
      if (list.length < MAX_ADDITIONAL_ADDRESSES && !list.includes(address)) {
        list.push(address);
      }
    }
    for (const s of srv) {
      const list = byTarget.get(s.target);
      if (list !== undefined && list.length > 0) s.addresses = [...list];
    }
  }
}

/**
 * An IPv6 address as RFC 5952 text: lower-case hex without leading zeros,
 * the longest run of two or more zero groups (the first of equal runs) as
 * `::`, and IPv4-mapped addresses as `::ffff:192.0.2.1` (§5).
 *
 * @example
 * ```ts
 * import { formatIPv6 } from "./_dns_wire.ts";
 * const b = new Uint8Array(16);
 * b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8; b[15] = 1;
 * console.log(formatIPv6(b)); // "2001:db8::1"
 * ```
 *
 * @param bytes 16 bytes.
 * @returns The text form.
 * @throws {RangeError} If `bytes` is not 16 bytes long.
 */
export function formatIPv6(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 16) {
    throw new RangeError(
      `an IPv6 address is 16 bytes, got ${
        bytes instanceof Uint8Array ? bytes.length : typeof bytes
      }`,
    );
  }
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i] << 8) | bytes[i + 1]);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${bytes.subarray(12).join(".")}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
