/**
 * The few X.509 certificate fields the identity and client-certificate
 * checks need, read from DER: subject common names, the subjectAltName
 * entries (DNS names, IP addresses, URIs, XMPP SRV-IDs and XmppAddrs), the
 * extended key usage and the SubjectPublicKeyInfo. A strict, minimal DER
 * reader: anything malformed throws a `TypeError`.
 *
 * @module
 */

/** One DER element: its tag and where its contents are. */
interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset after the last content byte. */
  end: number;
  /** Offset of the tag byte. */
  from: number;
}

/** What the checks read from a certificate. */
export interface CertificateFields {
  /** The subject's commonName values (2.5.4.3), in order. */
  commonNames: string[];
  /** Whether the certificate has a subjectAltName extension at all. */
  hasSubjectAltName: boolean;
  /** subjectAltName dNSName entries, as written (IA5String). */
  dnsNames: string[];
  /** subjectAltName iPAddress entries, as text (`"127.0.0.1"`, `"::1"`). */
  ipAddresses: string[];
  /** subjectAltName uniformResourceIdentifier entries. */
  uris: string[];
  /** SRVName otherName entries (RFC 4985), such as `_xmpp-client.example.org`. */
  srvNames: string[];
  /** XmppAddr otherName entries (RFC 6120 §13.7.1.4). */
  xmppAddrs: string[];
  /** extendedKeyUsage OIDs, or `undefined` without the extension. */
  extendedKeyUsage: string[] | undefined;
  /** Whether basicConstraints says `cA: TRUE`. */
  isCa: boolean;
  /** The DER of the SubjectPublicKeyInfo. */
  spki: Uint8Array;
}

const OID_CN = "2.5.4.3";
const OID_SAN = "2.5.29.17";
const OID_EKU = "2.5.29.37";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_SRV_NAME = "1.3.6.1.5.5.7.8.7";
const OID_XMPP_ADDR = "1.3.6.1.5.5.7.8.5";

function bad(why: string): TypeError {
  return new TypeError(`malformed certificate: ${why}`);
}

function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw bad("truncated element");
  const tag = der[pos];
  if ((tag & 0x1f) === 0x1f) throw bad("multi-byte tags are not supported");
  let len = der[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw bad("unsupported length encoding");
    if (start + n > limit) throw bad("truncated length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  const end = start + len;
  if (end > limit) throw bad("element longer than its container");
  return { tag, start, end, from: pos };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    const t = readTlv(der, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined || t.tag !== tag) throw bad(`expected ${what}`);
  return t;
}

function oid(der: Uint8Array, t: Tlv): string {
  const bytes = der.subarray(t.start, t.end);
  if (bytes.length === 0) throw bad("empty OID");
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join(".");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

function text(der: Uint8Array, t: Tlv): string {
  const bytes = der.subarray(t.start, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return utf8.decode(bytes);
    case 0x1e: { // BMPString (UTF-16BE)
      let s = "";
      for (let i = 0; i + 1 < bytes.length; i += 2) {
        s += String.fromCharCode(bytes[i] * 256 + bytes[i + 1]);
      }
      return s;
    }
    default: // PrintableString, IA5String, TeletexString, ...
      return latin1.decode(bytes);
  }
}

function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) {
      groups.push((bytes[i] * 256 + bytes[i + 1]).toString(16));
    }
    return groups.join(":");
  }
  return `invalid(${bytes.length} bytes)`;
}

function readSan(der: Uint8Array, value: Tlv, out: CertificateFields): void {
  const names = readTlv(der, value.start, value.end);
  expect(names, 0x30, "GeneralNames SEQUENCE");
  for (const gn of children(der, names)) {
    const bytes = der.subarray(gn.start, gn.end);
    switch (gn.tag) {
      case 0x82: // [2] dNSName
        out.dnsNames.push(latin1.decode(bytes));
        break;
      case 0x87: // [7] iPAddress
        out.ipAddresses.push(ipText(bytes));
        break;
      case 0x86: // [6] uniformResourceIdentifier
        out.uris.push(latin1.decode(bytes));
        break;
      case 0xa0: { // [0] otherName { type-id, [0] EXPLICIT value }
        const [typeId, wrapped] = children(der, gn);
        const type = oid(der, expect(typeId, 0x06, "otherName type-id"));
        if (wrapped === undefined || wrapped.tag !== 0xa0) break;
        const inner = readTlv(der, wrapped.start, wrapped.end);
        if (type === OID_SRV_NAME) out.srvNames.push(text(der, inner));
        else if (type === OID_XMPP_ADDR) out.xmppAddrs.push(text(der, inner));
        break;
      }
    }
  }
}

/**
 * Read the identity-related fields of one DER certificate.
 *
 * @param der One X.509 certificate in DER.
 * @returns The fields.
 * @throws {TypeError} If the DER is not a well-formed certificate.
 */
export function parseCertificate(der: Uint8Array): CertificateFields {
  if (!(der instanceof Uint8Array)) {
    throw new TypeError("certificate must be DER bytes (Uint8Array)");
  }
  const cert = expect(readTlv(der, 0, der.length), 0x30, "Certificate");
  const tbs = expect(children(der, cert)[0], 0x30, "TBSCertificate");
  const fields = children(der, tbs);
  let i = 0;
  if (fields[i]?.tag === 0xa0) i++; // [0] version
  i += 3; // serialNumber, signature, issuer
  i += 1; // validity
  const subject = expect(fields[i++], 0x30, "subject Name");
  const spki = expect(fields[i++], 0x30, "SubjectPublicKeyInfo");
  const out: CertificateFields = {
    commonNames: [],
    hasSubjectAltName: false,
    dnsNames: [],
    ipAddresses: [],
    uris: [],
    srvNames: [],
    xmppAddrs: [],
    extendedKeyUsage: undefined,
    isCa: false,
    spki: der.slice(spki.from, spki.end),
  };
  for (const rdn of children(der, subject)) {
    for (const atv of children(der, expect(rdn, 0x31, "RDN SET"))) {
      const [type, value] = children(der, expect(atv, 0x30, "attribute"));
      if (oid(der, expect(type, 0x06, "attribute type")) === OID_CN) {
        if (value === undefined) throw bad("attribute without value");
        out.commonNames.push(text(der, value));
      }
    }
  }
  for (; i < fields.length; i++) {
    if (fields[i].tag !== 0xa3) continue; // [3] extensions
    const list = expect(
      readTlv(der, fields[i].start, fields[i].end),
      0x30,
      "Extensions",
    );
    for (const ext of children(der, list)) {
      const parts = children(der, expect(ext, 0x30, "Extension"));
      const id = oid(der, expect(parts[0], 0x06, "extnID"));
      const value = expect(parts[parts.length - 1], 0x04, "extnValue");
      if (id === OID_SAN) {
        out.hasSubjectAltName = true;
        readSan(der, value, out);
      } else if (id === OID_EKU) {
        const seq = expect(readTlv(der, value.start, value.end), 0x30, "EKU");
        out.extendedKeyUsage = children(der, seq).map((t) =>
          oid(der, expect(t, 0x06, "KeyPurposeId"))
        );
      } else if (id === OID_BASIC_CONSTRAINTS) {
        const seq = expect(readTlv(der, value.start, value.end), 0x30, "BC");
        const first = children(der, seq)[0];
        out.isCa = first?.tag === 0x01 && der[first.start] !== 0;
      }
    }
  }
  return out;
}

/**
 * Split PEM text into the DER of each `CERTIFICATE` block.
 *
 * @param pem PEM text with one or more certificates.
 * @returns The DER certificates, in order.
 * @throws {TypeError} If there is no certificate or the base64 is invalid.
 */
export function pemToDer(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re =
    /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;
  for (const m of pem.matchAll(re)) {
    const b64 = m[1].replace(/\s+/g, "");
    let bin: string;
    try {
      bin = atob(b64);
    } catch {
      throw new TypeError("invalid base64 in a PEM CERTIFICATE block");
    }
    out.push(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  }
  if (out.length === 0) {
    throw new TypeError(
      "no -----BEGIN CERTIFICATE----- block found; pass PEM text, not a file name",
    );
  }
  return out;
}
