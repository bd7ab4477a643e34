/**
 * Host-meta discovery: XEP-0487 (Host Meta 2) connection links and XEP-0156
 * WebSocket/BOSH links from `https://<domain>/.well-known/host-meta.json`,
 * turned into connection {@linkcode Candidate}s and merged with SRV ones.
 *
 * - {@linkcode parseHostMeta} parses a document strictly.
 * - {@linkcode hostMetaCandidates} maps its XEP-0487 links to candidates.
 * - {@linkcode fetchHostMeta} fetches it over HTTPS only, with a size limit
 *   enforced while streaming, a timeout and an `AbortSignal`.
 * - {@linkcode createHostMetaFetch} makes the discovery hook
 *   `(domain, kind, signal) => Promise<Candidate[]>`, caching by `ttl`.
 * - {@linkcode mergeHostMeta} combines host-meta and SRV candidates as
 *   XEP-0487 §2.2 says: a Host Meta 2 document replaces SRV.
 * - {@linkcode createHostMetaSource} gives both hooks for discovery's
 *   `hostMeta` option.
 * - {@linkcode spkiSha256} computes the pin of a certificate.
 *
 * Identity: every candidate's `serverName` is the JID domain (A-label), used
 * for SNI and for the certificate check (RFC 7590, RFC 6125). A link's `sni`
 * is validated and reported but never used to accept a certificate, and pins
 * are carried as data, never as a substitute for that check.
 *
 * @example
 * ```ts
 * import { hostMetaCandidates, parseHostMeta } from "./host_meta.ts";
 *
 * const doc = parseHostMeta(
 *   JSON.stringify({
 *     xmpp: { ttl: 604800 },
 *     links: [{
 *       rel: "urn:xmpp:alt-connections:tls",
 *       port: 443,
 *       priority: 10,
 *       weight: 50,
 *       sni: "example.org",
 *       ips: ["192.0.2.1", "2001:db8::1"],
 *     }],
 *   }),
 *   "example.org",
 * );
 * const [c] = hostMetaCandidates(doc, "client");
 * console.log(c.transport, c.host, c.port, c.serverName); // directtls 192.0.2.1 443 example.org
 * ```
 *
 * @module
 */

import type { Candidate, CandidateTransport } from "./candidate.ts";
import { rfc2782Order } from "./rfc2782.ts";
import type { StreamKind } from "./services.ts";
import { extractSpki } from "./_host_meta_der.ts";
import {
  canonicalIp,
  decodeBase64Strict,
  encodeBase64,
  toALabel,
} from "./_host_meta_syntax.ts";

/** The well-known path fetched, on the JID domain, over HTTPS. */
export const HOST_META_PATH = "/.well-known/host-meta.json";

/**
 * The largest `ttl` honoured by default: one week, the limit XEP-0487 §5
 * advises. Larger declared values are accepted and capped to this.
 */
export const HOST_META_MAX_TTL = 604800;

/**
 * The largest `ttl` accepted at all: 2^31 - 1 seconds, the bound RFC 2181
 * §8 puts on DNS TTLs. Anything above is rejected as malformed.
 */
export const HOST_META_TTL_LIMIT = 2147483647;

/** The XEP-0487 link relations that carry a Direct TLS or QUIC endpoint. */
export type HostMetaEndpointRel =
  | "urn:xmpp:alt-connections:tls"
  | "urn:xmpp:alt-connections:quic"
  | "urn:xmpp:alt-connections:s2s-tls"
  | "urn:xmpp:alt-connections:s2s-quic";

/**
 * The link relations that carry a URL: XEP-0156 WebSocket (RFC 7395) and
 * BOSH (XEP-0206), and XEP-0487's s2s WebSocket (XEP-0468).
 */
export type HostMetaWebRel =
  | "urn:xmpp:alt-connections:websocket"
  | "urn:xmpp:alt-connections:xbosh"
  | "urn:xmpp:alt-connections:s2s-websocket";

const ENDPOINT_RELS: Record<
  HostMetaEndpointRel,
  { kind: StreamKind; transport: CandidateTransport }
> = {
  "urn:xmpp:alt-connections:tls": { kind: "client", transport: "directtls" },
  "urn:xmpp:alt-connections:quic": { kind: "client", transport: "quic" },
  "urn:xmpp:alt-connections:s2s-tls": {
    kind: "server",
    transport: "directtls",
  },
  "urn:xmpp:alt-connections:s2s-quic": { kind: "server", transport: "quic" },
};

const WEB_RELS: Record<
  HostMetaWebRel,
  { kind: StreamKind; schemes: Record<string, boolean> }
> = {
  "urn:xmpp:alt-connections:websocket": {
    kind: "client",
    schemes: { "wss:": true, "ws:": false },
  },
  "urn:xmpp:alt-connections:xbosh": {
    kind: "client",
    schemes: { "https:": true, "http:": false },
  },
  "urn:xmpp:alt-connections:s2s-websocket": {
    kind: "server",
    schemes: { "wss:": true, "ws:": false },
  },
};

/** The top-level XEP-0487 `xmpp` object. */
export interface HostMetaXmpp {
  /**
   * Seconds the document may be cached: the declared `ttl` capped at
   * `maxTtl` (default {@linkcode HOST_META_MAX_TTL}).
   */
  ttl: number;
  /** The `ttl` as the document declared it. */
  declaredTtl: number;
  /**
   * `public-key-pins-sha-256`: base64 SHA-256 digests of
   * SubjectPublicKeyInfo (RFC 7469 pins), without duplicates; `[]` if none.
   */
  pins: string[];
}

/** A XEP-0487 Direct TLS or QUIC link, validated. */
export interface HostMetaEndpoint {
  /** The link relation. */
  rel: HostMetaEndpointRel;
  /** `client` for `tls`/`quic`, `server` for `s2s-tls`/`s2s-quic`. */
  kind: StreamKind;
  /** `directtls` for the TLS rels, `quic` for the QUIC rels. */
  transport: CandidateTransport;
  /** TCP port (Direct TLS) or UDP port (QUIC), 1 to 65535. */
  port: number;
  /** RFC 2782 priority, 0 to 65535. */
  priority: number;
  /** RFC 2782 weight, 0 to 65535. */
  weight: number;
  /**
   * The `sni` name as an A-label. Reported only: candidates always use the
   * JID domain for SNI and the certificate check.
   */
  sni: string;
  /** The addresses to connect to, canonical, at least one, no duplicates. */
  ips: string[];
  /** The `ech` config list (base64), when given; not used yet. */
  ech?: string;
  /** The link's index in the document's `links` array. */
  index: number;
}

/** A XEP-0156 WebSocket or BOSH link (or XEP-0468 s2s WebSocket). */
export interface HostMetaWebLink {
  /** The link relation. */
  rel: HostMetaWebRel;
  /** `server` for `s2s-websocket`, otherwise `client`. */
  kind: StreamKind;
  /** The URL, normalized by `URL`. */
  href: string;
  /** Whether the URL is `wss:`/`https:` (not `ws:`/`http:`). */
  secure: boolean;
  /** XEP-0487 priority, when given. */
  priority?: number;
  /** XEP-0487 weight, when given. */
  weight?: number;
  /** XEP-0487 sni (A-label), when given. */
  sni?: string;
  /** XEP-0487 ips, when given. */
  ips?: string[];
  /** XEP-0487 ech, when given. */
  ech?: string;
  /** The link's index in the document's `links` array. */
  index: number;
}

/** A link that was skipped (never a malformed XMPP link: those throw). */
export interface HostMetaIgnoredLink {
  /** The link's index in the document's `links` array. */
  index: number;
  /** Its `rel`. */
  rel: string;
  /** Why it was skipped. */
  reason: string;
}

/** A parsed host-meta document. */
export interface HostMeta {
  /** The JID domain it was fetched for, as an A-label. */
  domain: string;
  /**
   * The XEP-0487 `xmpp` object. Present means Host Meta 2 is in use (its
   * endpoints replace SRV); absent means only XEP-0156 rules apply and
   * `endpoints` is empty.
   */
  xmpp?: HostMetaXmpp;
  /** The XEP-0487 Direct TLS and QUIC links, in document order. */
  endpoints: HostMetaEndpoint[];
  /** The WebSocket and BOSH links, in document order. */
  webLinks: HostMetaWebLink[];
  /** Links skipped, with the reason: unknown rels, duplicates. */
  ignored: HostMetaIgnoredLink[];
}

/** What went wrong in {@linkcode fetchHostMeta} or {@linkcode parseHostMeta}. */
export type HostMetaErrorCode =
  /** Not JSON, not UTF-8, or a field of the wrong type or out of range. */
  | "malformed"
  /** The server answered with a status other than 200. */
  | "http-status"
  /** A redirect that was refused (not HTTPS, another host, too many). */
  | "redirect"
  /** The body exceeded `maxBytes`. */
  | "too-large"
  /** The request did not complete within `timeout`. */
  | "timeout"
  /** The request failed (DNS, TCP, TLS, certificate). */
  | "network";

/** Options of {@linkcode HostMetaError}. */
export interface HostMetaErrorOptions {
  /** The domain (A-label) whose host-meta failed. */
  domain?: string;
  /** For `malformed`: where in the document, such as `links[2].port`. */
  path?: string;
  /** For `http-status`: the HTTP status. */
  status?: number;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A host-meta document could not be fetched or is malformed.
 *
 * @example
 * ```ts
 * import { HostMetaError, parseHostMeta } from "./host_meta.ts";
 * try {
 *   parseHostMeta('{"xmpp": {"ttl": 1.5}}', "example.org");
 * } catch (e) {
 *   if (e instanceof HostMetaError) console.log(e.code, e.path); // malformed xmpp.ttl
 * }
 * ```
 */
export class HostMetaError extends Error {
  /** What went wrong. */
  readonly code: HostMetaErrorCode;
  /** The domain, when known. */
  readonly domain?: string;
  /** The JSON path of a malformed field. */
  readonly path?: string;
  /** The HTTP status of an `http-status` error. */
  readonly status?: number;

  /**
   * Make a host-meta error.
   *
   * @param code What went wrong.
   * @param message A full, human-readable message.
   * @param options Domain, path, status and cause.
   */
  constructor(
    code: HostMetaErrorCode,
    message: string,
    options: HostMetaErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "HostMetaError";
    this.code = code;
    if (options.domain !== undefined) this.domain = options.domain;
    if (options.path !== undefined) this.path = options.path;
    if (options.status !== undefined) this.status = options.status;
  }
}

/** Options of {@linkcode parseHostMeta}. */
export interface ParseHostMetaOptions {
  /**
   * Cap on the effective `ttl`, in seconds. Default
   * {@linkcode HOST_META_MAX_TTL} (one week, as XEP-0487 §5 advises).
   */
  maxTtl?: number;
}

type Json = unknown;

function describe(v: Json): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "number") return String(v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkIntegerOption(
  v: unknown,
  name: string,
  min: number,
  max: number,
): number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${String(v)}`);
  }
  if (v < min || v > max) {
    throw new RangeError(`${name} must be from ${min} to ${max}, got ${v}`);
  }
  return v;
}

/** Field readers that throw `malformed` errors naming the field's path. */
class Reader {
  constructor(readonly domain: string) {}

  fail(path: string, why: string, cause?: unknown): never {
    throw new HostMetaError(
      "malformed",
      `host-meta of ${this.domain} is malformed: ${path} ${why}`,
      { domain: this.domain, path, cause },
    );
  }

  integer(v: Json, path: string, min: number, max: number): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(
        path,
        `must be an integer from ${min} to ${max}, got ${describe(v)}`,
      );
    }
    return v;
  }

  string(v: Json, path: string): string {
    if (typeof v !== "string") {
      this.fail(path, `must be a string, got ${describe(v)}`);
    }
    return v;
  }

  domainName(v: Json, path: string): string {
    const s = this.string(v, path);
    try {
      return toALabel(s, "it");
    } catch (e) {
      this.fail(path, `must be a domain name: ${(e as Error).message}`, e);
    }
  }

  ips(v: Json, path: string): string[] {
    if (!Array.isArray(v) || v.length === 0) {
      this.fail(
        path,
        `must be a non-empty array of IP addresses, got ${describe(v)}`,
      );
    }
    const out: string[] = [];
    v.forEach((ip, i) => {
      const p = `${path}[${i}]`;
      let c: string;
      try {
        c = canonicalIp(this.string(ip, p));
      } catch (e) {
        if (e instanceof HostMetaError) throw e;
        this.fail(
          p,
          `must be an IPv4 or IPv6 address: ${(e as Error).message}`,
          e,
        );
      }
      if (out.includes(c)) this.fail(p, `lists ${c} a second time`);
      out.push(c);
    });
    return out;
  }

  base64(v: Json, path: string, bytes?: number): string {
    const s = this.string(v, path);
    let decoded: Uint8Array;
    try {
      decoded = decodeBase64Strict(s);
    } catch (e) {
      this.fail(path, `must be base64: ${(e as Error).message}`, e);
    }
    if (bytes !== undefined && decoded.length !== bytes) {
      this.fail(
        path,
        `must decode to ${bytes} bytes (a SHA-256 digest), got ${decoded.length}`,
      );
    }
    if (bytes === undefined && decoded.length === 0) {
      this.fail(path, "must not be empty");
    }
    return s;
  }
}

function parseXmpp(r: Reader, v: Json, maxTtl: number): HostMetaXmpp {
  if (!isObject(v)) r.fail("xmpp", `must be an object, got ${describe(v)}`);
  if (!Object.hasOwn(v, "ttl")) {
    r.fail("xmpp.ttl", "is missing (XEP-0487 makes it mandatory)");
  }
  const declaredTtl = r.integer(v.ttl, "xmpp.ttl", 0, HOST_META_TTL_LIMIT);
  const pins: string[] = [];
  const key = "public-key-pins-sha-256";
  if (Object.hasOwn(v, key)) {
    const list = v[key];
    const path = `xmpp["${key}"]`;
    if (!Array.isArray(list)) {
      r.fail(path, `must be an array of base64 strings, got ${describe(list)}`);
    }
    list.forEach((pin, i) => {
      const p = r.base64(pin, `${path}[${i}]`, 32);
      if (!pins.includes(p)) pins.push(p);
    });
  }
  return { ttl: Math.min(declaredTtl, maxTtl), declaredTtl, pins };
}

/** Fields XEP-0487 adds to each link; required on endpoints. */
function parseLinkExtras(
  r: Reader,
  link: Record<string, Json>,
  path: string,
  required: boolean,
) {
  const has = (k: string) => Object.hasOwn(link, k);
  const need = (k: string) => {
    if (required && !has(k)) {
      r.fail(`${path}.${k}`, "is missing (XEP-0487 makes it mandatory)");
    }
    return has(k);
  };
  return {
    priority: need("priority")
      ? r.integer(link.priority, `${path}.priority`, 0, 65535)
      : undefined,
    weight: need("weight")
      ? r.integer(link.weight, `${path}.weight`, 0, 65535)
      : undefined,
    sni: need("sni") ? r.domainName(link.sni, `${path}.sni`) : undefined,
    ips: need("ips") ? r.ips(link.ips, `${path}.ips`) : undefined,
    ech: has("ech") ? r.base64(link.ech, `${path}.ech`) : undefined,
  };
}

function better(a: HostMetaEndpoint, b: HostMetaEndpoint): boolean {
  return a.priority < b.priority ||
    (a.priority === b.priority && a.weight > b.weight);
}

/**
 * Parse a `/.well-known/host-meta.json` document strictly.
 *
 * Rules:
 * - The document is a JSON object; `links`, when present, an array of
 *   objects, each with a string `rel` and, when present, a string `href`.
 * - `xmpp` (XEP-0487), when present, is an object with `ttl` an integer from
 *   0 to {@linkcode HOST_META_TTL_LIMIT} (capped to `maxTtl` for use) and
 *   optional `public-key-pins-sha-256`, an array of canonical base64 strings
 *   each decoding to exactly 32 bytes.
 * - XEP-0487 `tls`, `quic`, `s2s-tls` and `s2s-quic` links need `port`
 *   (1–65535), `priority` and `weight` (0–65535), `sni` (a domain name) and
 *   `ips` (a non-empty list of distinct IPv4/IPv6 literals, not unspecified);
 *   `ech`, when present, is base64. They count only when the `xmpp` object
 *   is present: without it XEP-0487 §2.2 says XEP-0156 rules apply, so they
 *   are ignored (and listed in `ignored`).
 * - WebSocket and BOSH links need an `href` URL with the scheme their
 *   registry entry allows (`wss:`/`ws:`, `https:`/`http:`); XEP-0487 fields
 *   on them are optional but validated when present.
 * - A malformed XMPP link or field rejects the whole document with a
 *   {@linkcode HostMetaError} (`malformed`, with `path`), so bad data is
 *   never half-used; discovery then proceeds without host-meta.
 * - Links with other rels are skipped and listed in `ignored`, as are
 *   duplicate endpoints (same rel, port and addresses; the better
 *   priority/weight is kept). Unknown fields are ignored.
 *
 * @example
 * ```ts
 * import { parseHostMeta } from "./host_meta.ts";
 * const doc = parseHostMeta(
 *   '{"links": [{"rel": "urn:xmpp:alt-connections:websocket", "href": "wss://example.org/ws"}]}',
 *   "example.org",
 * );
 * console.log(doc.xmpp, doc.webLinks[0].href); // undefined wss://example.org/ws
 * ```
 *
 * @param json The document text.
 * @param domain The JID domain it belongs to (U-labels allowed).
 * @param options `maxTtl`.
 * @returns The parsed document.
 * @throws {HostMetaError} `malformed` when the document breaks a rule above.
 * @throws {TypeError} If `json` is not a string or `domain` not a domain name.
 * @throws {RangeError} If `maxTtl` is out of range.
 */
export function parseHostMeta(
  json: string,
  domain: string,
  options: ParseHostMetaOptions = {},
): HostMeta {
  const aDomain = toALabel(domain, "domain");
  if (typeof json !== "string") {
    throw new TypeError(`host-meta must be a string, got ${typeof json}`);
  }
  const maxTtl = checkIntegerOption(
    options.maxTtl ?? HOST_META_MAX_TTL,
    "maxTtl",
    0,
    HOST_META_TTL_LIMIT,
  );
  const r: Reader = new Reader(aDomain);
  let doc: Json;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    r.fail("the document", `is not JSON: ${(e as Error).message}`, e);
  }
  if (!isObject(doc)) {
    r.fail("the document", `must be a JSON object, got ${describe(doc)}`);
  }

  const result: HostMeta = {
    domain: aDomain,
    endpoints: [],
    webLinks: [],
    ignored: [],
  };
  if (Object.hasOwn(doc, "xmpp")) {
    result.xmpp = parseXmpp(r, doc.xmpp, maxTtl);
  }
  const links = Object.hasOwn(doc, "links") ? doc.links : [];
  if (!Array.isArray(links)) {
    r.fail("links", `must be an array, got ${describe(links)}`);
  }

  const seen = new Map<string, number>(); // endpoint key → index in endpoints
  links.forEach((link: Json, index: number) => {
    const path = `links[${index}]`;
    if (!isObject(link)) {
      r.fail(path, `must be an object, got ${describe(link)}`);
    }
    const rel = r.string(link.rel, `${path}.rel`);
    const href = Object.hasOwn(link, "href")
      ? r.string(link.href, `${path}.href`)
      : undefined;

    if (Object.hasOwn(ENDPOINT_RELS, rel)) {
      if (!result.xmpp) {
        result.ignored.push({
          index,
          rel,
          reason:
            "XEP-0487 link in a document without the xmpp object (XEP-0156 rules apply)",
        });
        return;
      }
      const { kind, transport } = ENDPOINT_RELS[rel as HostMetaEndpointRel];
      const port = Object.hasOwn(link, "port")
        ? r.integer(link.port, `${path}.port`, 1, 65535)
        : r.fail(`${path}.port`, "is missing (XEP-0487 makes it mandatory)");
      const x = parseLinkExtras(r, link, path, true);
      const ep: HostMetaEndpoint = {
        rel: rel as HostMetaEndpointRel,
        kind,
        transport,
        port,
        priority: x.priority!,
        weight: x.weight!,
        sni: x.sni!,
        ips: x.ips!,
        index,
      };
      if (x.ech !== undefined) ep.ech = x.ech;
      const key = `${rel} ${port} ${[...ep.ips].sort().join(",")}`;
      const prev = seen.get(key);
      if (prev === undefined) {
        seen.set(key, result.endpoints.length);
        result.endpoints.push(ep);
      } else {
        const old = result.endpoints[prev];
        const [keep, drop] = better(ep, old) ? [ep, old] : [old, ep];
        result.endpoints[prev] = keep;
        result.ignored.push({
          index: drop.index,
          rel,
          reason: `duplicate of links[${keep.index}] (same rel, port and ips)`,
        });
      }
      return;
    }

    if (Object.hasOwn(WEB_RELS, rel)) {
      const { kind, schemes } = WEB_RELS[rel as HostMetaWebRel];
      if (href === undefined) r.fail(`${path}.href`, "is missing");
      let url: URL;
      try {
        url = new URL(href);
      } catch (e) {
        r.fail(`${path}.href`, `is not a URL: ${JSON.stringify(href)}`, e);
      }
      if (!Object.hasOwn(schemes, url.protocol)) {
        r.fail(
          `${path}.href`,
          `must be a ${Object.keys(schemes).join(" or ")} URL, got ${
            JSON.stringify(href)
          }`,
        );
      }
      const x = parseLinkExtras(r, link, path, false);
      const web: HostMetaWebLink = {
        rel: rel as HostMetaWebRel,
        kind,
        href: url.href,
        secure: schemes[url.protocol],
        index,
      };
      for (const k of ["priority", "weight", "sni", "ips", "ech"] as const) {
        if (x[k] !== undefined) {
          (web as unknown as Record<string, unknown>)[k] = x[k];
        }
      }
      result.webLinks.push(web);
      return;
    }

    result.ignored.push({
      index,
      rel,
      reason: rel.startsWith("urn:xmpp:alt-connections:")
        ? "unsupported XMPP connection method"
        : "not an XMPP connection method",
    });
  });
  result.endpoints.sort((a, b) => a.index - b.index);
  return result;
}

function checkKind(kind: StreamKind): void {
  if (kind !== "client" && kind !== "server") {
    throw new TypeError(
      `stream kind must be "client" or "server", got ${String(kind)}`,
    );
  }
}

/**
 * Map a document's XEP-0487 endpoints of one stream kind to candidates:
 * `tls` → `directtls` and `quic` → `quic` for clients, `s2s-tls` and
 * `s2s-quic` likewise for servers. Each link gives one candidate with
 * `host` = its first address, `ips` = all its addresses, its `port`,
 * `priority` and `weight`, `serverName` = the JID domain (A-label, never the
 * link's `sni`), `alpn` = `xmpp-client`/`xmpp-server`,
 * `source: "host-meta"`, and `pins` = the document's pins when it has any.
 *
 * The candidates are in document order, not yet ordered: see
 * {@linkcode mergeHostMeta}. A document without the `xmpp` object gives none.
 *
 * @example
 * ```ts
 * import { hostMetaCandidates, parseHostMeta } from "./host_meta.ts";
 * const doc = parseHostMeta(
 *   JSON.stringify({
 *     xmpp: { ttl: 3000 },
 *     links: [{
 *       rel: "urn:xmpp:alt-connections:s2s-quic",
 *       port: 443, priority: 5, weight: 50, sni: "example.org", ips: ["192.0.2.7"],
 *     }],
 *   }),
 *   "example.org",
 * );
 * console.log(hostMetaCandidates(doc, "client").length); // 0
 * console.log(hostMetaCandidates(doc, "server")[0].alpn); // xmpp-server
 * ```
 *
 * @param hostMeta A document from {@linkcode parseHostMeta}.
 * @param kind `"client"` or `"server"`.
 * @returns New candidates.
 * @throws {TypeError} For another kind.
 */
export function hostMetaCandidates(
  hostMeta: HostMeta,
  kind: StreamKind,
): Candidate[] {
  checkKind(kind);
  if (!hostMeta?.xmpp) return [];
  const pins = hostMeta.xmpp.pins;
  return hostMeta.endpoints
    .filter((ep) => ep.kind === kind)
    .map((ep) => {
      const c: Candidate = {
        transport: ep.transport,
        host: ep.ips[0],
        port: ep.port,
        serverName: hostMeta.domain,
        alpn: kind === "client" ? "xmpp-client" : "xmpp-server",
        priority: ep.priority,
        weight: ep.weight,
        source: "host-meta",
        ips: [...ep.ips],
      };
      if (pins.length > 0) c.pins = [...pins];
      return c;
    });
}

/** Options of {@linkcode fetchHostMeta}. */
export interface FetchHostMetaOptions extends ParseHostMetaOptions {
  /** Abort the fetch; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Milliseconds for the whole fetch, body included. Default 10000. */
  timeout?: number;
  /**
   * Largest body accepted, in bytes, enforced while streaming (and up front
   * from `Content-Length`). Default 65536 (64 KiB); at most 16 MiB.
   */
  maxBytes?: number;
  /**
   * Redirects followed, each only to `https:` on the same host and port.
   * Default 3; 0 refuses every redirect.
   */
  maxRedirects?: number;
  /** The fetch function. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Extra trusted CA certificates (PEM), through
   * `Deno.createHttpClient({ caCerts })`; the client is closed afterwards.
   * Default: none, only the system/default roots.
   */
  caCerts?: string[];
  /**
   * Test/advanced use: the HTTPS port, instead of 443. The host is always
   * the domain itself.
   */
  port?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_BYTES_LIMIT = 16 * 1024 * 1024;

/**
 * The URL {@linkcode fetchHostMeta} fetches for a domain:
 * `https://<A-label>[:port]/.well-known/host-meta.json`.
 *
 * @example
 * ```ts
 * import { hostMetaUrl } from "./host_meta.ts";
 * console.log(hostMetaUrl("Bücher.example").href);
 * // https://xn--bcher-kva.example/.well-known/host-meta.json
 * ```
 *
 * @param domain The JID domain.
 * @param options `port` (test/advanced use; default 443).
 * @returns The URL.
 * @throws {TypeError} If `domain` is not a domain name.
 * @throws {RangeError} If `port` is out of range.
 */
export function hostMetaUrl(
  domain: string,
  options: { port?: number } = {},
): URL {
  const aDomain = toALabel(domain, "domain");
  const port = options.port === undefined
    ? ""
    : `:${checkIntegerOption(options.port, "port", 1, 65535)}`;
  return new URL(`https://${aDomain}${port}${HOST_META_PATH}`);
}

async function readLimited(
  res: Response,
  maxBytes: number,
  domain: string,
): Promise<string> {
  const tooLarge = (what: string) =>
    new HostMetaError(
      "too-large",
      `host-meta of ${domain} is larger than ${maxBytes} bytes (${what})`,
      { domain },
    );
  const declared = res.headers.get("content-length");
  if (
    declared !== null && /^[0-9]+$/.test(declared) &&
    Number(declared) > maxBytes
  ) {
    await res.body?.cancel();
    throw tooLarge(`Content-Length ${declared}`);
  }
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        throw tooLarge("cut off while reading");
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new HostMetaError(
      "malformed",
      `host-meta of ${domain} is malformed: the document is not UTF-8`,
      { domain, path: "the document", cause: e },
    );
  }
}

/** Validate and default the options of {@linkcode fetchHostMeta}. */
function checkFetchOptions(options: FetchHostMetaOptions) {
  const timeout = options.timeout ?? 10000;
  if (typeof timeout !== "number" || !(timeout > 0) || timeout > 2 ** 31 - 1) {
    throw new RangeError(
      `timeout must be a number of milliseconds from 1 to ${2 ** 31 - 1}, got ${
        String(timeout)
      }`,
    );
  }
  const maxBytes = checkIntegerOption(
    options.maxBytes ?? 65536,
    "maxBytes",
    1,
    MAX_BYTES_LIMIT,
  );
  const maxRedirects = checkIntegerOption(
    options.maxRedirects ?? 3,
    "maxRedirects",
    0,
    10,
  );
  if (options.port !== undefined) {
    checkIntegerOption(options.port, "port", 1, 65535);
  }
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") {
    throw new TypeError("fetch must be a function");
  }
  const caCerts = options.caCerts;
  if (
    caCerts !== undefined &&
    (!Array.isArray(caCerts) || caCerts.some((c) => typeof c !== "string"))
  ) {
    throw new TypeError("caCerts must be an array of PEM strings");
  }
  const maxTtl = checkIntegerOption(
    options.maxTtl ?? HOST_META_MAX_TTL,
    "maxTtl",
    0,
    HOST_META_TTL_LIMIT,
  );
  return { timeout, maxBytes, maxRedirects, fetchFn, caCerts, maxTtl };
}

/**
 * Fetch and parse `https://<domain>/.well-known/host-meta.json`.
 *
 * - HTTPS only, with normal certificate validation for the domain.
 * - Redirects are followed only to `https:` URLs on the same host and port
 *   (at most `maxRedirects`), so a redirect can neither downgrade to HTTP nor
 *   delegate to another host; others fail with `redirect`.
 * - Only status 200 is accepted. `Content-Type` is not trusted: the body is
 *   always parsed strictly by {@linkcode parseHostMeta}.
 * - The body is cut off as soon as it exceeds `maxBytes`.
 *
 * @example
 * ```ts
 * import { fetchHostMeta, hostMetaCandidates } from "./host_meta.ts";
 *
 * // Not called here: it needs the network.
 * export async function quicCandidates(domain: string) {
 *   const doc = await fetchHostMeta(domain, { timeout: 5000 });
 *   return hostMetaCandidates(doc, "client").filter((c) => c.transport === "quic");
 * }
 * ```
 *
 * @param domain The JID domain (U-labels allowed).
 * @param options Signal, timeout, size limit, redirects, fetch, CA
 * certificates, port, `maxTtl`.
 * @returns The parsed document.
 * @throws {HostMetaError} `network`, `timeout`, `http-status`, `redirect`,
 * `too-large` or `malformed`.
 * @throws {TypeError} If `domain` is not a domain name or an option has the
 * wrong type.
 * @throws {RangeError} If a numeric option is out of range.
 * Rejects with `options.signal.reason` when the signal aborts.
 */
export async function fetchHostMeta(
  domain: string,
  options: FetchHostMetaOptions = {},
): Promise<HostMeta> {
  const url = hostMetaUrl(domain, { port: options.port });
  const aDomain = url.hostname;
  const { timeout, maxBytes, maxRedirects, fetchFn, caCerts, maxTtl } =
    checkFetchOptions(options);
  const parseOptions = { maxTtl };

  const signal = options.signal;
  signal?.throwIfAborted();
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new HostMetaError(
          "timeout",
          `host-meta of ${aDomain} did not arrive within ${timeout} ms`,
          { domain: aDomain },
        ),
      ),
    timeout,
  );
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const client = caCerts?.length
    ? Deno.createHttpClient({ caCerts })
    : undefined;
  const aborted = () => controller.signal.aborted;
  try {
    let current = url;
    for (let hop = 0;; hop++) {
      let res: Response;
      try {
        const init: RequestInit & { client?: Deno.HttpClient } = {
          method: "GET",
          redirect: "manual",
          signal: controller.signal,
          headers: { accept: "application/jrd+json, application/json" },
        };
        if (client) init.client = client;
        res = await fetchFn(current, init);
      } catch (e) {
        if (aborted()) throw controller.signal.reason;
        throw new HostMetaError(
          "network",
          `fetching ${current.href} failed: ${(e as Error)?.message ?? e}`,
          { domain: aDomain, cause: e },
        );
      }
      try {
        if (res.type === "opaqueredirect" || REDIRECTS.has(res.status)) {
          const location = res.headers.get("location");
          let next: URL | undefined;
          try {
            if (location !== null) next = new URL(location, current);
          } catch { /* handled below */ }
          const refuse = (why: string): never => {
            throw new HostMetaError(
              "redirect",
              `host-meta of ${aDomain}: refused redirect from ${current.href}${
                next ? ` to ${next.href}` : ""
              }: ${why}`,
              { domain: aDomain },
            );
          };
          if (!next) refuse("no valid Location");
          if (next!.protocol !== "https:") refuse("not HTTPS");
          if (next!.host !== url.host) refuse("another host");
          if (hop >= maxRedirects) {
            refuse(`more than ${maxRedirects} redirects`);
          }
          await res.body?.cancel();
          current = next!;
          continue;
        }
        // A fetch that followed redirects by itself must have stayed on
        // HTTPS at the same host.
        if (res.url) {
          const final = new URL(res.url);
          if (final.protocol !== "https:" || final.host !== url.host) {
            throw new HostMetaError(
              "redirect",
              `host-meta of ${aDomain} came from ${final.href}, not https://${url.host}`,
              { domain: aDomain },
            );
          }
        }
        if (res.status !== 200) {
          throw new HostMetaError(
            "http-status",
            `host-meta of ${aDomain}: ${current.href} answered HTTP ${res.status}`,
            { domain: aDomain, status: res.status },
          );
        }
        const text = await readLimited(res, maxBytes, aDomain);
        return parseHostMeta(text, aDomain, parseOptions);
      } catch (e) {
        if (!res.bodyUsed) await res.body?.cancel().catch(() => {});
        if (aborted() && !(e instanceof HostMetaError)) {
          throw controller.signal.reason;
        }
        throw e;
      }
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    client?.close();
  }
}

/**
 * The discovery hook's shape: host-meta candidates for a domain and stream
 * kind. Rejects when host-meta cannot be had; discovery then goes on
 * without it.
 */
export type HostMetaFetch = (
  domain: string,
  kind: StreamKind,
  signal?: AbortSignal,
) => Promise<Candidate[]>;

/** Options of {@linkcode createHostMetaFetch}. */
export interface HostMetaFetchOptions
  extends Omit<FetchHostMetaOptions, "signal"> {
  /**
   * Cache Host Meta 2 documents for their (capped) `ttl`, and when a
   * refetch fails, use the expired copy for one more `ttl` (XEP-0487 §3.2
   * says to fall back to expired data; §3.1 has operators keep old keys for
   * two TTLs). Documents without the `xmpp` object are not cached.
   * Default `true`.
   */
  cache?: boolean;
  /** Most domains cached; the oldest is dropped first. Default 1024. */
  maxEntries?: number;
  /** The clock, in milliseconds. Default `Date.now`. */
  now?: () => number;
}

/**
 * Make the host-meta hook for discovery:
 * `(domain, kind, signal) => Promise<Candidate[]>`, which fetches (or takes
 * from its cache) the domain's document and returns
 * {@linkcode hostMetaCandidates} for the kind.
 *
 * @example
 * ```ts
 * import { createHostMetaFetch } from "./host_meta.ts";
 *
 * const hostMetaFetch = createHostMetaFetch({ timeout: 5000 });
 * // Not called here: it needs the network.
 * export async function candidates(domain: string, signal?: AbortSignal) {
 *   return await hostMetaFetch(domain, "client", signal);
 * }
 * ```
 *
 * @param options {@linkcode FetchHostMetaOptions} plus `cache`,
 * `maxEntries` and `now`.
 * @returns The hook.
 * @throws {TypeError} If an option has the wrong type.
 * @throws {RangeError} If a numeric option is out of range.
 */
export function createHostMetaFetch(
  options: HostMetaFetchOptions = {},
): HostMetaFetch {
  const { cache = true, maxEntries = 1024, now = Date.now, ...fetchOptions } =
    options;
  checkIntegerOption(maxEntries, "maxEntries", 1, 2 ** 24);
  checkFetchOptions(fetchOptions);
  const entries = new Map<string, { doc: HostMeta; at: number }>();
  return async (domain, kind, signal) => {
    checkKind(kind);
    const key = toALabel(domain, "domain");
    const entry = cache ? entries.get(key) : undefined;
    const age = entry ? now() - entry.at : Infinity;
    const ttlMs = (entry?.doc.xmpp?.ttl ?? 0) * 1000;
    if (entry && age < ttlMs) return hostMetaCandidates(entry.doc, kind);
    let doc: HostMeta;
    try {
      doc = await fetchHostMeta(key, { ...fetchOptions, signal });
    } catch (e) {
      if (!signal?.aborted && entry && age < 2 * ttlMs) {
        return hostMetaCandidates(entry.doc, kind);
      }
      throw e;
    }
    if (cache && doc.xmpp && doc.xmpp.ttl > 0) {
      entries.delete(key);
      entries.set(key, { doc, at: now() });
      if (entries.size > maxEntries) {
        entries.delete(entries.keys().next().value!);
      }
    }
    return hostMetaCandidates(doc, kind);
  };
}

/** Options of {@linkcode mergeHostMeta}. */
export interface MergeHostMetaOptions {
  /**
   * Keep the SRV candidates after the host-meta ones, as a last resort,
   * instead of dropping them. Default `false`: XEP-0487 §2.2 says legacy SRV
   * lookups SHOULD be skipped when a Host Meta 2 document is in use.
   */
  keepSrv?: boolean;
  /**
   * Uniform random numbers in `[0, 1)` for the RFC 2782 draw (discovery
   * passes its own, seeded or not). Default `Math.random`.
   */
  random?: () => number;
  /**
   * Orders one list of candidates. Default: `rfc2782Order` (ascending
   * priority, weighted random draw within a priority) with `random`.
   */
  order?: (candidates: Candidate[]) => Candidate[];
}

/**
 * Combine SRV and host-meta candidates as XEP-0487 §2.2 says, in the shape
 * of discovery's `hostMeta.merge` hook.
 *
 * - No host-meta candidates (no document, a XEP-0156-only document, or no
 *   XEP-0487 link for this stream kind): the SRV candidates in RFC 2782
 *   order (the XEP-0368 mix of `_xmpp-` and `_xmpps-` records).
 * - Otherwise Host Meta 2 is in use and replaces SRV: the host-meta
 *   candidates in RFC 2782 order (XEP-0487 has links carry RFC 2782
 *   priority and weight), then, only with `keepSrv: true`, the SRV ones in
 *   their own RFC 2782 order. Host-meta and SRV priorities are never mixed:
 *   they are set by different documents and mean nothing to each other.
 *
 * @example
 * ```ts
 * import type { Candidate } from "./candidate.ts";
 * import { mergeHostMeta } from "./host_meta.ts";
 *
 * const base = { serverName: "example.org", alpn: "xmpp-client", weight: 0 } as const;
 * const srv: Candidate[] = [
 *   { ...base, transport: "starttls", host: "xmpp.example.org", port: 5222, priority: 0, source: "srv" },
 * ];
 * const hm: Candidate[] = [
 *   { ...base, transport: "quic", host: "192.0.2.1", port: 443, priority: 5, source: "host-meta" },
 *   { ...base, transport: "directtls", host: "192.0.2.1", port: 443, priority: 1, source: "host-meta" },
 * ];
 * console.log(mergeHostMeta(srv, hm).map((c) => c.transport)); // [ "directtls", "quic" ]
 * console.log(mergeHostMeta(srv, hm, { keepSrv: true }).length); // 3
 * console.log(mergeHostMeta(srv, []).length); // 1
 * ```
 *
 * @param srv The SRV-derived candidates, ordered or not.
 * @param hostMeta Candidates from {@linkcode hostMetaCandidates}.
 * @param options `keepSrv`, `random`, `order`.
 * @returns A new list, in the order to dial.
 * @throws {TypeError} If a list is not an array, a host-meta candidate's
 * source is not `"host-meta"`, or `random`/`order` is not a function.
 */
export function mergeHostMeta(
  srv: Candidate[],
  hostMeta: Candidate[],
  options: MergeHostMetaOptions = {},
): Candidate[] {
  if (!Array.isArray(srv)) throw new TypeError("srv must be an array");
  if (!Array.isArray(hostMeta)) {
    throw new TypeError("hostMeta must be an array");
  }
  const bad = hostMeta.find((c) => c?.source !== "host-meta");
  if (bad) {
    throw new TypeError(
      `hostMeta candidates must have source "host-meta", got ${
        JSON.stringify(bad?.source)
      }`,
    );
  }
  const { random = Math.random, keepSrv = false } = options;
  if (typeof random !== "function") {
    throw new TypeError("random must be a function, like Math.random");
  }
  const order = options.order ??
    ((cs: Candidate[]) => rfc2782Order(cs, { random }));
  if (typeof order !== "function") {
    throw new TypeError("order must be a function");
  }
  if (hostMeta.length === 0) return order([...srv]);
  const first = order([...hostMeta]);
  return keepSrv ? [...first, ...order([...srv])] : first;
}

/** Options of {@linkcode createHostMetaSource}. */
export interface HostMetaSourceOptions extends HostMetaFetchOptions {
  /** See {@linkcode MergeHostMetaOptions.keepSrv}. Default `false`. */
  keepSrv?: boolean;
}

/** Discovery's `hostMeta` option: a fetch hook and a merge hook. */
export interface HostMetaHooks {
  /** {@linkcode createHostMetaFetch}'s hook. */
  fetch: HostMetaFetch;
  /** {@linkcode mergeHostMeta}, with the source's `keepSrv`. */
  merge: (
    srv: Candidate[],
    hostMeta: Candidate[],
    options?: { random?: () => number },
  ) => Candidate[];
}

/**
 * Both host-meta hooks for discovery's `hostMeta` option: `fetch` from
 * {@linkcode createHostMetaFetch} and `merge` = {@linkcode mergeHostMeta}
 * (with `keepSrv` and discovery's random source).
 *
 * @example
 * ```ts
 * import { createHostMetaSource } from "./host_meta.ts";
 *
 * const hostMeta = createHostMetaSource({ timeout: 5000 });
 * // Not called here: it needs the network. Pass `hostMeta` to discover().
 * export async function links(domain: string) {
 *   return await hostMeta.fetch(domain, "client", AbortSignal.timeout(5000));
 * }
 * ```
 *
 * @param options {@linkcode HostMetaFetchOptions} plus `keepSrv`.
 * @returns The hooks.
 * @throws {TypeError} If an option has the wrong type.
 * @throws {RangeError} If a numeric option is out of range.
 */
export function createHostMetaSource(
  options: HostMetaSourceOptions = {},
): HostMetaHooks {
  const { keepSrv = false, ...fetchOptions } = options;
  const fetch = createHostMetaFetch(fetchOptions);
  return {
    fetch,
    merge: (srv, hostMeta, mergeOptions = {}) =>
      mergeHostMeta(srv, hostMeta, { keepSrv, random: mergeOptions.random }),
  };
}

/**
 * The RFC 7469 pin of a certificate: base64 SHA-256 over the DER
 * SubjectPublicKeyInfo, the value XEP-0487 lists in
 * `public-key-pins-sha-256`. Equal to
 * `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`.
 *
 * @example
 * ```ts
 * import { spkiSha256 } from "./host_meta.ts";
 * try {
 *   await spkiSha256(new Uint8Array([0x30, 0x00]));
 * } catch (e) {
 *   console.log((e as Error).name); // TypeError
 * }
 * ```
 *
 * @param certDer One X.509 certificate in DER.
 * @returns The base64 pin (44 characters).
 * @throws {TypeError} If `certDer` is not a well-formed certificate.
 */
export async function spkiSha256(certDer: Uint8Array): Promise<string> {
  const spki = extractSpki(certDer).slice();
  const digest = await crypto.subtle.digest("SHA-256", spki);
  return encodeBase64(new Uint8Array(digest));
}
