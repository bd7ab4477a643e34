/**
 * Read a TLS ClientHello before handing the connection to the engine: the
 * SNI host name and the ALPN list, so that the server can choose a
 * certificate asynchronously (Deno 2.9.6's `SNICallback` hangs unless it
 * answers synchronously), and refuse an unknown name or ALPN with a proper
 * alert. Also recognises a peer that does not speak TLS at all.
 *
 * @module
 */

/** What the ClientHello asked for. */
export interface ClientHello {
  /** The SNI host name as sent, or `null` without the extension. */
  serverName: string | null;
  /** The ALPN protocols offered, or `null` without the extension. */
  alpn: string[] | null;
  /**
   * The highest TLS version offered, as on the wire (`0x0303` is TLS 1.2,
   * `0x0304` TLS 1.3): from supported_versions if present, otherwise
   * legacy_version.
   */
  maxVersion: number;
}

/** The result of {@linkcode parseClientHello}. */
export type HelloParse =
  | { state: "more" }
  | { state: "done"; hello: ClientHello }
  | { state: "not-tls"; why: string };

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;
/** The most ClientHello bytes (records included) accepted. */
export const MAX_HELLO_BYTES = 65536;

/** A fatal TLS alert record (TLS 1.2 framing; also valid before TLS 1.3 keys). */
export function alertRecord(description: number): Uint8Array {
  return new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]);
}

/** TLS alert descriptions used here (RFC 8446 §6). */
export const ALERT_HANDSHAKE_FAILURE = 40;
/** `protocol_version`. */
export const ALERT_PROTOCOL_VERSION = 70;
/** `unrecognized_name`. */
export const ALERT_UNRECOGNIZED_NAME = 112;
/** `no_application_protocol`. */
export const ALERT_NO_APPLICATION_PROTOCOL = 120;

function printable(bytes: Uint8Array): string {
  return JSON.stringify(
    String.fromCharCode(...bytes.subarray(0, 16)).replace(/[^\x20-\x7e]/g, "."),
  );
}

/**
 * Parse the ClientHello at the start of `data` (the bytes received so far).
 * Says `"more"` until the whole handshake message is there.
 */
export function parseClientHello(data: Uint8Array): HelloParse {
  if (data.length === 0) return { state: "more" };
  if (data[0] !== HANDSHAKE) {
    if (data[0] & 0x80) {
      return { state: "not-tls", why: "an SSLv2 ClientHello (not supported)" };
    }
    return {
      state: "not-tls",
      why: `not a TLS handshake (it starts with ${printable(data)}; ` +
        `plaintext XMPP on a Direct TLS port?)`,
    };
  }
  // Gather the handshake bytes from consecutive handshake records.
  const body: number[] = [];
  let pos = 0;
  let needed = -1;
  while (pos + 5 <= data.length) {
    if (data[pos] !== HANDSHAKE) {
      return { state: "not-tls", why: "a record other than the handshake" };
    }
    if (data[pos + 1] !== 3) {
      return { state: "not-tls", why: "an unknown record version" };
    }
    const len = data[pos + 3] * 256 + data[pos + 4];
    if (len === 0 || len > 16384) {
      return { state: "not-tls", why: "an invalid record length" };
    }
    if (pos + 5 + len > data.length) break;
    for (let i = pos + 5; i < pos + 5 + len; i++) body.push(data[i]);
    pos += 5 + len;
    if (needed < 0 && body.length >= 4) {
      if (body[0] !== CLIENT_HELLO) {
        return {
          state: "not-tls",
          why: "a handshake that is not a ClientHello",
        };
      }
      needed = 4 + ((body[1] << 16) | (body[2] << 8) | body[3]);
    }
    if (needed >= 0 && body.length >= needed) {
      const hello = readHello(Uint8Array.from(body.slice(4, needed)));
      return hello === undefined
        ? { state: "not-tls", why: "a malformed ClientHello" }
        : { state: "done", hello };
    }
  }
  if (data.length > MAX_HELLO_BYTES) {
    return { state: "not-tls", why: "a ClientHello larger than 64 KiB" };
  }
  return { state: "more" };
}

function readHello(b: Uint8Array): ClientHello | undefined {
  if (b.length < 2 + 32) return undefined;
  const legacyVersion = b[0] * 256 + b[1];
  let p = 2 + 32; // legacy_version, random
  const u8 = () => (p < b.length ? b[p++] : -1);
  const u16 = () => {
    if (p + 2 > b.length) return -1;
    const v = b[p] * 256 + b[p + 1];
    p += 2;
    return v;
  };
  const sid = u8();
  if (sid < 0 || sid > 32) return undefined;
  p += sid;
  const suites = u16();
  if (suites < 0) return undefined;
  p += suites;
  const comp = u8();
  if (comp < 0) return undefined;
  p += comp;
  const hello: ClientHello = {
    serverName: null,
    alpn: null,
    maxVersion: legacyVersion,
  };
  if (p > b.length) return undefined;
  if (p === b.length) return hello; // no extensions
  const extLen = u16();
  if (extLen < 0 || p + extLen > b.length) return undefined;
  const end = p + extLen;
  while (p + 4 <= end) {
    const type = u16();
    const len = u16();
    const extEnd = p + len;
    if (extEnd > end) return undefined;
    if (type === EXT_SERVER_NAME && len > 0) {
      const listEnd = p + 2 + (b[p] * 256 + b[p + 1]);
      p += 2;
      while (p + 3 <= Math.min(listEnd, extEnd)) {
        const nameType = b[p];
        const nameLen = b[p + 1] * 256 + b[p + 2];
        p += 3;
        if (p + nameLen > extEnd) return undefined;
        if (nameType === 0 && hello.serverName === null) {
          hello.serverName = String.fromCharCode(...b.subarray(p, p + nameLen));
        }
        p += nameLen;
      }
    } else if (type === EXT_ALPN && len >= 2) {
      const listEnd = p + 2 + (b[p] * 256 + b[p + 1]);
      if (listEnd > extEnd) return undefined;
      p += 2;
      const list: string[] = [];
      while (p < listEnd) {
        const n = b[p++];
        if (n === 0 || p + n > listEnd) return undefined;
        list.push(new TextDecoder().decode(b.subarray(p, p + n)));
        p += n;
      }
      hello.alpn = list;
    } else if (type === EXT_SUPPORTED_VERSIONS && len >= 1) {
      const listEnd = p + 1 + b[p];
      if (listEnd > extEnd || (listEnd - p - 1) % 2 !== 0) return undefined;
      let max = 0;
      for (let q = p + 1; q < listEnd; q += 2) {
        const v = b[q] * 256 + b[q + 1];
        // Skip GREASE values (RFC 8701: 0x?a?a).
        if ((v & 0x0f0f) === 0x0a0a) continue;
        if (v > max) max = v;
      }
      if (max > 0) hello.maxVersion = max;
    }
    p = extEnd;
  }
  return hello;
}
