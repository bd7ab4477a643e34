/**
 * A minimal, bounds-checked DER walker that finds the SubjectPublicKeyInfo of
 * an X.509 certificate (RFC 5280 §4.1), for SHA-256 public-key pins.
 *
 * It reads only the outer structure it needs, in DER (definite, minimal
 * lengths, single-byte tags) and rejects anything else with a `TypeError`
 * that says what and where.
 *
 * @module
 */

/** One DER element: its tag and where its header and contents sit. */
export interface DerElement {
  /** The identifier octet (single-byte tags only). */
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first contents octet. */
  contentStart: number;
  /** Offset just past the last contents octet. */
  end: number;
}

/** Universal SEQUENCE, constructed. */
const SEQUENCE = 0x30;
/** Universal INTEGER. */
const INTEGER = 0x02;
/** Universal BIT STRING. */
const BIT_STRING = 0x03;
/** Context-specific [0], constructed (the certificate version). */
const VERSION_TAG = 0xa0;

/**
 * Read the DER element that starts at `offset` and must end by `limit`.
 *
 * @example
 * ```ts
 * import { readDerElement } from "./_host_meta_der.ts";
 * const e = readDerElement(new Uint8Array([0x02, 0x01, 0x05]), 0, 3, "n");
 * console.log(e); // { tag: 2, start: 0, contentStart: 2, end: 3 }
 * ```
 *
 * @param bytes The DER bytes.
 * @param offset Where the element starts.
 * @param limit The end of the enclosing element (exclusive).
 * @param what The element's name, for error messages.
 * @returns The element.
 * @throws {TypeError} If the element is truncated, uses a multi-byte tag, an
 * indefinite or non-minimal length, or overruns `limit`.
 */
export function readDerElement(
  bytes: Uint8Array,
  offset: number,
  limit: number,
  what: string,
): DerElement {
  const fail = (why: string): never => {
    throw new TypeError(
      `malformed certificate DER: ${what} at byte ${offset}: ${why}`,
    );
  };
  if (offset + 2 > limit) fail("truncated header");
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) fail("multi-byte tags are not supported");
  const first = bytes[offset + 1];
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const n = first & 0x7f;
    if (n === 0) fail("indefinite length is not DER");
    if (n > 4) fail(`length of ${n} octets is too long`);
    if (offset + 2 + n > limit) fail("truncated length");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[offset + 2 + i];
    if (bytes[offset + 2] === 0 || length < 0x80) {
      fail("non-minimal length encoding");
    }
    contentStart = offset + 2 + n;
  }
  const end = contentStart + length;
  if (end > limit) {
    fail(`length ${length} runs past the end of its container`);
  }
  return { tag, start: offset, contentStart, end };
}

function expectTag(e: DerElement, tag: number, what: string): void {
  if (e.tag !== tag) {
    throw new TypeError(
      `malformed certificate DER: expected ${what} (tag 0x${
        tag.toString(16).padStart(2, "0")
      }) at byte ${e.start}, found tag 0x${
        e.tag.toString(16).padStart(2, "0")
      }`,
    );
  }
}

/**
 * Find the DER-encoded SubjectPublicKeyInfo (tag, length and contents) in an
 * X.509 certificate: Certificate → TBSCertificate → skip version, serial
 * number, signature algorithm, issuer, validity and subject →
 * subjectPublicKeyInfo.
 *
 * @example
 * ```ts
 * import { extractSpki } from "./_host_meta_der.ts";
 * try {
 *   extractSpki(new Uint8Array([0x30, 0x05, 0x30]));
 * } catch (e) {
 *   console.log(e instanceof TypeError); // true
 * }
 * ```
 *
 * @param certDer One certificate in DER, with nothing after it.
 * @returns A view of the SubjectPublicKeyInfo bytes inside `certDer`.
 * @throws {TypeError} If `certDer` is not a `Uint8Array` or not a
 * well-formed certificate as far as the walk goes.
 */
export function extractSpki(certDer: Uint8Array): Uint8Array {
  if (!(certDer instanceof Uint8Array)) {
    throw new TypeError("certificate must be a Uint8Array of DER bytes");
  }
  const n = certDer.length;
  const cert = readDerElement(certDer, 0, n, "Certificate");
  expectTag(cert, SEQUENCE, "Certificate SEQUENCE");
  if (cert.end !== n) {
    throw new TypeError(
      `malformed certificate DER: ${n - cert.end} bytes after the Certificate`,
    );
  }
  const tbs = readDerElement(
    certDer,
    cert.contentStart,
    cert.end,
    "TBSCertificate",
  );
  expectTag(tbs, SEQUENCE, "TBSCertificate SEQUENCE");

  let at = tbs.contentStart;
  const next = (what: string): DerElement => {
    const e = readDerElement(certDer, at, tbs.end, what);
    at = e.end;
    return e;
  };
  let e = next("version or serialNumber");
  if (e.tag === VERSION_TAG) e = next("serialNumber");
  expectTag(e, INTEGER, "serialNumber INTEGER");
  expectTag(next("signature"), SEQUENCE, "signature AlgorithmIdentifier");
  expectTag(next("issuer"), SEQUENCE, "issuer Name");
  expectTag(next("validity"), SEQUENCE, "validity SEQUENCE");
  expectTag(next("subject"), SEQUENCE, "subject Name");
  const spki = next("subjectPublicKeyInfo");
  expectTag(spki, SEQUENCE, "subjectPublicKeyInfo SEQUENCE");

  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
  //                                     subjectPublicKey BIT STRING }
  const alg = readDerElement(
    certDer,
    spki.contentStart,
    spki.end,
    "SPKI algorithm",
  );
  expectTag(alg, SEQUENCE, "SPKI AlgorithmIdentifier");
  const key = readDerElement(certDer, alg.end, spki.end, "SPKI public key");
  expectTag(key, BIT_STRING, "SPKI subjectPublicKey BIT STRING");
  if (key.end !== spki.end) {
    throw new TypeError(
      "malformed certificate DER: extra data inside subjectPublicKeyInfo",
    );
  }
  return certDer.subarray(spki.start, spki.end);
}
