/**
 * A throwaway certificate authority made in memory: a CA and leaf
 * certificates (ECDSA P-256, X.509 v3) for demos and tests, built with
 * `crypto.subtle` and a small DER writer, no `openssl` needed.
 *
 * The CA is `CA:TRUE` and signs leaves that are `CA:FALSE` with
 * `serverAuth`/`clientAuth` and DNS and IP subjectAltNames, because rustls
 * refuses a self-signed CA certificate used as a server certificate.
 *
 * Never use these for anything real: the keys live in memory and the
 * validity is short.
 *
 * @module
 */

/** A certificate and its private key, as PEM. */
export interface PemPair {
  /** The certificate, PEM (`CERTIFICATE`). */
  cert: string;
  /** The private key, PEM (`PRIVATE KEY`, PKCS #8). */
  key: string;
}

/** Options for {@linkcode ThrowawayCa.create}. */
export interface ThrowawayCaOptions {
  /**
   * The CA's common name.
   *
   * @default {"xmpp-transport throwaway CA"}
   */
  name?: string;
  /**
   * How long certificates are valid, in days, from one hour ago.
   *
   * @default {1}
   */
  days?: number;
}

/** Options for {@linkcode ThrowawayCa.issue}. */
export interface IssueOptions {
  /** IP addresses to add as subjectAltName iPAddress entries. */
  ips?: string[];
}

const enc = new TextEncoder();

// --- a minimal DER writer --------------------------------------------------

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n >>>= 8;
  }
  return [0x80 | out.length, ...out];
}

function tlv(
  tag: number,
  ...parts: (Uint8Array | number[])[]
): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const p of parts) size += p.length;
  const head = [tag, ...len(size)];
  const out = new Uint8Array(head.length + size);
  out.set(head);
  let off = head.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const seq = (...p: Uint8Array[]) => tlv(0x30, ...p);
const set = (...p: Uint8Array[]) => tlv(0x31, ...p);

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes = [40 * a + b];
  for (const n of rest) {
    const enc: number[] = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) enc.unshift(0x80 | (v & 0x7f));
    bytes.push(...enc);
  }
  return tlv(0x06, bytes);
}

function integer(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && bytes[i + 1] < 0x80) i++;
  const body = bytes.subarray(i);
  return body[0] >= 0x80 ? tlv(0x02, [0], body) : tlv(0x02, body);
}

const bitString = (b: Uint8Array) => tlv(0x03, [0], b);
const octets = (b: Uint8Array) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, enc.encode(s));
const bool = (v: boolean) => tlv(0x01, [v ? 0xff : 0]);

function utcTime(d: Date): Uint8Array {
  const p = (n: number) => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${
    p(d.getUTCDate())
  }${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, enc.encode(s));
}

const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

function name(cn: string): Uint8Array {
  return seq(set(seq(oid("2.5.4.3"), utf8(cn))));
}

function extension(id: string, critical: boolean, value: Uint8Array) {
  return critical
    ? seq(oid(id), bool(true), octets(value))
    : seq(oid(id), octets(value));
}

function ipBytes(ip: string): Uint8Array {
  if (ip.includes(":")) {
    const [head, tail] = ip.split("::");
    const h = head ? head.split(":") : [];
    const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
    const groups = tail === undefined
      ? h
      : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    if (groups.length !== 8) throw new TypeError(`not an IPv6 address: ${ip}`);
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      const v = parseInt(g, 16);
      out[2 * i] = v >> 8;
      out[2 * i + 1] = v & 0xff;
    });
    return out;
  }
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) {
    throw new TypeError(`not an IPv4 address: ${ip}`);
  }
  return new Uint8Array(parts);
}

/** ECDSA in WebCrypto signs as r‖s; X.509 wants SEQUENCE { r, s }. */
function derSignature(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return seq(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
}

function pem(label: string, der: Uint8Array): string {
  const b64 = der.toBase64();
  const lines = b64.match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
}

async function keyId(spki: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-1", spki)).subarray(
    0,
    20,
  );
}

/**
 * A certificate authority that lives in memory for the length of a demo or
 * a test run.
 *
 * @example A CA, a server certificate, and a TLS handshake over memory
 * ```ts
 * import { ThrowawayCa } from "./throwaway_ca.ts";
 *
 * const ca = await ThrowawayCa.create();
 * const leaf = await ca.issue(["example.test"], { ips: ["127.0.0.1"] });
 * console.log(ca.cert.startsWith("-----BEGIN CERTIFICATE-----")); // true
 * console.log(leaf.key.startsWith("-----BEGIN PRIVATE KEY-----")); // true
 * ```
 */
export class ThrowawayCa {
  /** The CA certificate, PEM: the trust anchor to give clients. */
  readonly cert: string;
  readonly #key: CryptoKey;
  readonly #name: string;
  readonly #keyId: Uint8Array;
  readonly #days: number;
  #serial = 1;

  private constructor(
    cert: string,
    key: CryptoKey,
    name: string,
    keyId: Uint8Array,
    days: number,
  ) {
    this.cert = cert;
    this.#key = key;
    this.#name = name;
    this.#keyId = keyId;
    this.#days = days;
  }

  /**
   * Make a new CA with a fresh key.
   *
   * @example
   * ```ts
   * import { ThrowawayCa } from "./throwaway_ca.ts";
   * const ca = await ThrowawayCa.create({ name: "demo CA", days: 1 });
   * console.log(ca.cert.length > 0); // true
   * ```
   *
   * @param options The CA's name and the validity of what it signs.
   * @returns The CA.
   */
  static async create(options: ThrowawayCaOptions = {}): Promise<ThrowawayCa> {
    const cn = options.name ?? "xmpp-transport throwaway CA";
    const days = options.days ?? 1;
    if (!(days > 0 && days <= 3650)) {
      throw new RangeError(`days must be in (0, 3650], got ${days}`);
    }
    const keys = await keyPair();
    const spki = new Uint8Array(
      await crypto.subtle.exportKey("spki", keys.publicKey),
    );
    const ski = await keyId(spki);
    const exts = [
      extension("2.5.29.19", true, seq(bool(true))),
      extension("2.5.29.15", true, bitString(new Uint8Array([0x06]))), // keyCertSign, cRLSign
      extension("2.5.29.14", false, octets(ski)),
    ];
    const der = await sign(keys.privateKey, {
      serial: 1,
      issuer: cn,
      subject: cn,
      spki,
      days,
      exts,
    });
    return new ThrowawayCa(
      pem("CERTIFICATE", der),
      keys.privateKey,
      cn,
      ski,
      days,
    );
  }

  /**
   * Issue a leaf certificate for these DNS names (the first is its common
   * name), signed by this CA.
   *
   * @example
   * ```ts
   * import { ThrowawayCa } from "./throwaway_ca.ts";
   * const ca = await ThrowawayCa.create();
   * const { cert, key } = await ca.issue(["localhost", "example.test"], { ips: ["127.0.0.1", "::1"] });
   * console.log(cert.includes("CERTIFICATE"), key.includes("PRIVATE KEY")); // true true
   * ```
   *
   * @param dnsNames The names the certificate is for.
   * @param options IP addresses to include.
   * @returns The certificate and key, PEM.
   */
  async issue(
    dnsNames: string[],
    options: IssueOptions = {},
  ): Promise<PemPair> {
    if (!Array.isArray(dnsNames) || dnsNames.length === 0) {
      throw new TypeError("issue needs at least one DNS name");
    }
    for (const n of dnsNames) {
      if (
        !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i
          .test(n)
      ) {
        throw new TypeError(`not a DNS name (use A-labels): ${n}`);
      }
    }
    const keys = await keyPair();
    const spki = new Uint8Array(
      await crypto.subtle.exportKey("spki", keys.publicKey),
    );
    const san = seq(
      ...dnsNames.map((n) => tlv(0x82, enc.encode(n))),
      ...(options.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
    );
    const exts = [
      extension("2.5.29.19", true, seq()),
      extension("2.5.29.15", true, bitString(new Uint8Array([0x80]))), // digitalSignature
      extension(
        "2.5.29.37",
        false,
        seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2")),
      ),
      extension("2.5.29.17", false, san),
      extension("2.5.29.14", false, octets(await keyId(spki))),
      extension("2.5.29.35", false, seq(tlv(0x80, this.#keyId))),
    ];
    const der = await sign(this.#key, {
      serial: ++this.#serial,
      issuer: this.#name,
      subject: dnsNames[0],
      spki,
      days: this.#days,
      exts,
    });
    const pkcs8 = new Uint8Array(
      await crypto.subtle.exportKey("pkcs8", keys.privateKey),
    );
    return { cert: pem("CERTIFICATE", der), key: pem("PRIVATE KEY", pkcs8) };
  }
}

async function sign(
  key: CryptoKey,
  c: {
    serial: number;
    issuer: string;
    subject: string;
    spki: Uint8Array<ArrayBuffer>;
    days: number;
    exts: Uint8Array[];
  },
): Promise<Uint8Array> {
  const now = Date.now();
  const serial = new Uint8Array(16);
  crypto.getRandomValues(serial);
  serial[0] &= 0x7f;
  serial[15] = c.serial & 0xff;
  const tbs = seq(
    tlv(0xa0, integer(new Uint8Array([2]))),
    integer(serial),
    ECDSA_SHA256,
    name(c.issuer),
    seq(
      utcTime(new Date(now - 3600_000)),
      utcTime(new Date(now + c.days * 86400_000)),
    ),
    name(c.subject),
    c.spki,
    tlv(0xa3, seq(...c.exts)),
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, tbs),
  );
  return seq(tbs, ECDSA_SHA256, bitString(derSignature(raw)));
}
