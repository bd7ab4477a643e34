/**
 * An XMPP XML stream (RFC 6120 §4) over any {@linkcode Duplex}: open or
 * accept the stream header, read features and stanzas, send elements, handle
 * stream errors, restart, and close.
 *
 * @module
 */

import { raceAbort } from "./_abort.ts";
import type { ConnectionInfo, Duplex } from "./duplex.ts";
import { Element } from "./element.ts";
import {
  CLIENT_NS,
  CLOSING_TAG,
  openingTag,
  readHeader,
  type StreamHeader,
  STREAMS_NS,
} from "./header.ts";
import { type ParseEvent, type ParserLimits, XmlParser } from "./parser.ts";
import {
  isStreamErrorCondition,
  STREAM_ERROR_NS,
  StreamError,
  type StreamErrorCondition,
} from "./stream_error.ts";
import { serialize } from "./writer.ts";

/** Options shared by {@linkcode XmlStream.open} and {@linkcode XmlStream.accept}. */
export interface XmlStreamOptions {
  /**
   * The content namespace.
   *
   * @default {"jabber:client"}
   */
  ns?: string;
  /** `to` for the header this side sends. */
  to?: string;
  /** `from` for the header this side sends. */
  from?: string;
  /**
   * `xml:lang` for the header this side sends.
   *
   * @default {"en"}
   */
  lang?: string;
  /** Parser limits; see {@linkcode ParserLimits}. */
  limits?: ParserLimits;
  /**
   * Milliseconds to wait for the peer's stream header.
   *
   * @default {30000}
   */
  headerTimeout?: number;
  /**
   * Milliseconds {@linkcode XmlStream.close} waits for the peer's
   * `</stream:stream>` before closing the connection anyway.
   *
   * @default {5000}
   */
  closeTimeout?: number;
  /** Aborting it while the header is awaited fails the open and closes the duplex. */
  signal?: AbortSignal;
}

/** Options for {@linkcode XmlStream.accept}. */
export interface AcceptOptions extends XmlStreamOptions {
  /**
   * The domains this side serves. If given, a header whose `to` is not one of
   * them gets `host-unknown`.
   */
  domains?: string[];
  /**
   * The stream id to send.
   *
   * @default {a random UUID}
   */
  id?: string;
}

/** Options for a single read. */
export interface ReadOptions {
  /**
   * Stop waiting when aborted (the read rejects with the signal's reason).
   * No data is lost: the bytes of a read in progress go to the next read.
   */
  signal?: AbortSignal;
}

/** Options for {@linkcode XmlStream.restart}. */
export interface RestartOptions extends Partial<AcceptOptions> {
  /**
   * What to do if the peer sent data the old stream has not handed out yet
   * (for example a stanza pipelined after STARTTLS `<proceed/>`): `"error"`
   * throws a `policy-violation` {@linkcode StreamError} and closes the
   * connection; `"discard"` drops it. Either way it never reaches the new
   * stream.
   *
   * @default {"error"}
   */
  buffered?: "error" | "discard";
}

const encoder = new TextEncoder();
const ONLY_SPACE = /^[ \t\r\n]*$/;

/**
 * An XMPP XML stream over a duplex.
 *
 * @example A client and a server stream over an in-memory pair
 * ```ts
 * import { memoryPair } from "./memory_duplex.ts";
 * import { Element } from "./element.ts";
 * import { XmlStream } from "./xml_stream.ts";
 *
 * const [a, b] = memoryPair();
 * const [client, server] = await Promise.all([
 *   XmlStream.open(a, { to: "example.org" }),
 *   XmlStream.accept(b, { domains: ["example.org"] }),
 * ]);
 * await server.sendFeatures([]);
 * await client.readFeatures();
 * await client.send(new Element("message", "jabber:client", { to: "bob@example.org" }));
 * console.log((await server.read())?.name); // "message"
 * await Promise.all([client.close(), server.read().then(() => server.close())]);
 * ```
 */
export class XmlStream implements AsyncIterable<Element> {
  /** The duplex this stream runs over. */
  readonly duplex: Duplex;
  /** The header the peer sent. */
  readonly peerHeader: StreamHeader;
  /** The header this side sent. */
  readonly header: StreamHeader;
  /** The stream id (from the receiving entity's header). */
  readonly id: string | undefined;
  /** Whether this side initiated the stream. */
  readonly initiator: boolean;

  readonly #options: AcceptOptions;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #parser: XmlParser;
  readonly #queue: ParseEvent[];
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  #peerClosed = false;
  #sentClose = false;
  #closed = false;
  #failure: StreamError | null = null;
  #detached = false;

  private constructor(
    duplex: Duplex,
    parts: {
      reader: ReadableStreamDefaultReader<Uint8Array>;
      writer: WritableStreamDefaultWriter<Uint8Array>;
      parser: XmlParser;
      queue: ParseEvent[];
      header: StreamHeader;
      peerHeader: StreamHeader;
      initiator: boolean;
      options: AcceptOptions;
    },
  ) {
    this.duplex = duplex;
    this.#reader = parts.reader;
    this.#writer = parts.writer;
    this.#parser = parts.parser;
    this.#queue = parts.queue;
    this.header = parts.header;
    this.peerHeader = parts.peerHeader;
    this.initiator = parts.initiator;
    this.#options = parts.options;
    this.id = parts.initiator ? parts.peerHeader.id : parts.header.id;
  }

  /** What is known about the connection under this stream. */
  get info(): ConnectionInfo {
    return this.duplex.info;
  }

  /**
   * Whether the peer has sent data this stream has not handed out yet,
   * other than whitespace between elements (which carries nothing: some
   * clients write a newline after each element). Before a restart (after
   * `<proceed/>` or SASL success) this must be `false`; anything else is
   * data injected ahead of the new layer.
   */
  get buffered(): boolean {
    return this.#parser.buffered ||
      this.#queue.some((e) => e.type !== "text" || !ONLY_SPACE.test(e.text));
  }

  /**
   * Open a stream as the initiating entity: send a header, read the peer's.
   *
   * @example
   * ```ts
   * import { XmlStream } from "./xml_stream.ts";
   * import { fromConn } from "./conn_duplex.ts";
   *
   * export async function features(port: number) {
   *   const conn = await Deno.connect({ hostname: "127.0.0.1", port });
   *   const xs = await XmlStream.open(fromConn(conn), { to: "localhost" });
   *   const features = await xs.readFeatures();
   *   await xs.close();
   *   return features;
   * }
   * ```
   *
   * @param duplex The transport.
   * @param options Header attributes, limits and timeouts.
   * @returns The open stream.
   * @throws {StreamError} If the peer's header is wrong or it sends a stream
   * error; the duplex is then closed.
   */
  static async open(
    duplex: Duplex,
    options: XmlStreamOptions = {},
  ): Promise<XmlStream> {
    const header: StreamHeader = {
      ns: options.ns ?? CLIENT_NS,
      to: options.to,
      from: options.from,
      version: "1.0",
      lang: options.lang ?? "en",
    };
    return await XmlStream.#start(duplex, options, header, true);
  }

  /**
   * Accept a stream as the receiving entity: read the initiator's header,
   * answer with one of ours (with a fresh id).
   *
   * @example
   * ```ts
   * import { XmlStream } from "./xml_stream.ts";
   * import { fromConn } from "./conn_duplex.ts";
   *
   * export async function serveOne(listener: Deno.Listener) {
   *   const conn = await listener.accept();
   *   const xs = await XmlStream.accept(fromConn(conn), { domains: ["localhost"] });
   *   await xs.sendFeatures([]);
   *   for await (const stanza of xs) console.log(stanza.name);
   *   await xs.close();
   * }
   * ```
   *
   * @param duplex The transport.
   * @param options Served domains, header attributes, limits and timeouts.
   * @returns The accepted stream.
   * @throws {StreamError} If the initiator's header is wrong (the error is
   * also sent to it and the duplex closed).
   */
  static async accept(
    duplex: Duplex,
    options: AcceptOptions = {},
  ): Promise<XmlStream> {
    const header: StreamHeader = {
      ns: options.ns ?? CLIENT_NS,
      from: options.from,
      to: options.to,
      id: options.id ?? crypto.randomUUID(),
      version: "1.0",
      lang: options.lang ?? "en",
    };
    return await XmlStream.#start(duplex, options, header, false);
  }

  static async #start(
    duplex: Duplex,
    options: AcceptOptions,
    header: StreamHeader,
    initiator: boolean,
  ): Promise<XmlStream> {
    const reader = duplex.readable.getReader();
    const writer = duplex.writable.getWriter();
    const parser = new XmlParser(options.limits);
    const queue: ParseEvent[] = [];
    let headerSent = false;
    const sendHeader = async (h: StreamHeader) => {
      headerSent = true;
      await writer.write(encoder.encode(openingTag(h)));
    };
    const timeoutMs = options.headerTimeout ?? 30000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal
      ? AbortSignal.any([options.signal, timeout])
      : timeout;
    try {
      if (initiator) await sendHeader(header);
      let open: Extract<ParseEvent, { type: "open" }> | undefined;
      while (open === undefined) {
        const { value, done } = await raceAbort(reader.read(), signal);
        if (done) {
          throw new StreamError(
            "connection-timeout",
            "the peer closed the connection before sending its stream header",
          );
        }
        queue.push(...parser.write(value));
        const first = queue.shift();
        if (first !== undefined) {
          if (first.type !== "open") throw new Error("unreachable");
          open = first;
        }
      }
      const peerHeader = readHeader(open.element, open.namespaces, header.ns);
      if (!initiator) {
        if (
          options.domains && (peerHeader.to === undefined ||
            !options.domains.includes(peerHeader.to.toLowerCase()))
        ) {
          throw new StreamError(
            "host-unknown",
            `this server does not serve ${peerHeader.to ?? "(no 'to')"}`,
          );
        }
        if (header.from === undefined) header.from = peerHeader.to;
        if (header.to === undefined && peerHeader.from !== undefined) {
          header.to = peerHeader.from;
        }
        await sendHeader(header);
      }
      return new XmlStream(duplex, {
        reader,
        writer,
        parser,
        queue,
        header,
        peerHeader,
        initiator,
        options,
      });
    } catch (e) {
      const err = e === timeout.reason && timeout.aborted
        ? new StreamError(
          "connection-timeout",
          `no stream header from the peer within ${timeoutMs} ms`,
        )
        : e;
      if (err instanceof StreamError && err.origin === "local") {
        // RFC 6120 §4.9.1.2: the receiving entity opens a stream first.
        try {
          if (!headerSent) await sendHeader(header);
          await writer.write(encoder.encode(errorXml(err) + CLOSING_TAG));
        } catch { /* the connection is gone */ }
      }
      release(reader, writer);
      duplex.close();
      throw err;
    }
  }

  /**
   * Read the next element: a stanza, a nonza, or features.
   *
   * @example
   * ```ts
   * import type { XmlStream } from "./xml_stream.ts";
   *
   * export async function next(xs: XmlStream) {
   *   const stanza = await xs.read({ signal: AbortSignal.timeout(30_000) });
   *   if (stanza === null) console.log("the peer closed the stream");
   *   return stanza;
   * }
   * ```
   *
   * @param options An abort signal.
   * @returns The element, or `null` once the peer has closed the stream.
   * @throws {StreamError} When the peer sends `<stream:error/>` (origin
   * `"remote"`) or bad XML (origin `"local"`; the error was sent to the peer
   * and the connection closed).
   */
  async read(options: ReadOptions = {}): Promise<Element | null> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const event = this.#queue.shift();
      if (event !== undefined) {
        if (event.type === "element") {
          const el = event.element;
          if (el.ns === STREAMS_NS && el.name === "error") {
            await this.#fail(remoteError(el), false);
          }
          return el;
        }
        if (event.type === "close") {
          this.#peerClosed = true;
          if (this.#parser.buffered || this.#queue.length > 0) {
            await this.#fail(
              new StreamError("not-well-formed", "data after </stream:stream>"),
              true,
            );
          }
          return null;
        }
        if (event.type === "text") {
          if (/^[ \t\r\n]*$/.test(event.text)) continue; // whitespace ping
          await this.#fail(
            new StreamError(
              "bad-format",
              "text is not allowed directly inside the stream",
            ),
            true,
          );
        }
        continue;
      }
      if (this.#peerClosed) return null;
      if (this.#closed) {
        throw new Deno.errors.BadResource("the XML stream is closed");
      }
      if (this.#detached) {
        throw new Deno.errors.BadResource("the XML stream was restarted");
      }
      if (this.#pending === null) {
        this.#pending = this.#reader.read();
        this.#pending.catch(() => {}); // surfaced by the await below
      }
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = options.signal
          ? await raceAbort(this.#pending, options.signal)
          : await this.#pending;
      } catch (e) {
        if (options.signal?.aborted && e === options.signal.reason) throw e;
        this.#pending = null;
        this.#closed = true;
        this.duplex.close();
        throw e;
      }
      this.#pending = null;
      if (result.done) {
        this.#peerClosed = true;
        this.#closed = true;
        this.duplex.close();
        throw new StreamError(
          "connection-timeout",
          "the connection closed without </stream:stream>",
          { origin: "remote" },
        );
      }
      try {
        for (const ev of this.#parser.write(result.value)) this.#queue.push(ev);
      } catch (e) {
        if (e instanceof StreamError) await this.#fail(e, true);
        throw e;
      }
    }
  }

  /**
   * Read `<stream:features/>`, which must be the next element.
   *
   * @example
   * ```ts
   * import type { XmlStream } from "./xml_stream.ts";
   *
   * export async function offersTls(xs: XmlStream) {
   *   const features = await xs.readFeatures();
   *   return features.getChild("starttls", "urn:ietf:params:xml:ns:xmpp-tls") !== undefined;
   * }
   * ```
   *
   * @param options An abort signal.
   * @returns The features element.
   * @throws {StreamError} `bad-format` if something else arrives first.
   */
  async readFeatures(options: ReadOptions = {}): Promise<Element> {
    const el = await this.read(options);
    if (el === null) {
      throw new StreamError(
        "connection-timeout",
        "the peer closed the stream before sending features",
        { origin: "remote" },
      );
    }
    if (el.ns !== STREAMS_NS || el.name !== "features") {
      await this.#fail(
        new StreamError(
          "bad-format",
          `expected <stream:features/>, got <${el.name}> in ${el.ns}`,
        ),
        true,
      );
    }
    return el;
  }

  /**
   * Send elements, in order, as one write.
   *
   * @example
   * ```ts
   * import { Element } from "./element.ts";
   * import type { XmlStream } from "./xml_stream.ts";
   *
   * export async function online(xs: XmlStream) {
   *   await xs.send(new Element("presence", "jabber:client"));
   * }
   * ```
   *
   * @param elements One element or several.
   * @throws {TypeError} If an element cannot be serialized.
   */
  async send(elements: Element | Element[]): Promise<void> {
    if (this.#sentClose || this.#closed || this.#detached) {
      throw new Deno.errors.BadResource("the XML stream is closed");
    }
    const list = Array.isArray(elements) ? elements : [elements];
    let xml = "";
    for (const el of list) xml += this.#serialize(el);
    await this.#writer.write(encoder.encode(xml));
  }

  /**
   * Send `<stream:features/>` with these children.
   *
   * @example
   * ```ts
   * import { Element } from "./element.ts";
   * import type { XmlStream } from "./xml_stream.ts";
   *
   * export async function offerTls(xs: XmlStream) {
   *   const tls = "urn:ietf:params:xml:ns:xmpp-tls";
   *   await xs.sendFeatures([new Element("starttls", tls, {}, [new Element("required", tls)])]);
   * }
   * ```
   *
   * @param children The feature elements.
   */
  async sendFeatures(children: Element[]): Promise<void> {
    await this.send(new Element("features", STREAMS_NS, {}, children));
  }

  /**
   * Send a stream error, close the stream and the connection.
   *
   * @example
   * ```ts
   * import type { XmlStream } from "./xml_stream.ts";
   *
   * export async function tooFast(xs: XmlStream) {
   *   await xs.sendError("policy-violation", { text: "too many stanzas" });
   * }
   * ```
   *
   * @param condition The RFC 6120 condition.
   * @param options Text to include.
   */
  async sendError(
    condition: StreamErrorCondition,
    options: { text?: string } = {},
  ): Promise<void> {
    const err = new StreamError(condition, options.text);
    try {
      await this.#fail(err, true);
    } catch { /* #fail always throws after sending */ }
  }

  /**
   * Close the stream: send `</stream:stream>`, wait up to `closeTimeout` for
   * the peer's, then close the connection. Stanzas arriving meanwhile are
   * dropped, never handed out. Safe to call more than once.
   *
   * @example
   * ```ts
   * import type { XmlStream } from "./xml_stream.ts";
   *
   * export async function bye(xs: XmlStream) {
   *   await xs.close(); // waits up to closeTimeout for the peer's </stream:stream>
   * }
   * ```
   *
   * @param options `timeout`: milliseconds to wait for the peer's closing
   * tag, overriding `closeTimeout`; `0` closes at once without reading.
   */
  async close(options: { timeout?: number } = {}): Promise<void> {
    if (this.#closed) return;
    if (!this.#sentClose && !this.#detached) {
      this.#sentClose = true;
      try {
        await this.#writer.write(encoder.encode(CLOSING_TAG));
      } catch { /* the peer is gone */ }
    }
    const wait = options.timeout ?? this.#options.closeTimeout ?? 5000;
    if (!this.#peerClosed && !this.#failure && !this.#detached && wait > 0) {
      const timeout = AbortSignal.timeout(wait);
      try {
        while ((await this.read({ signal: timeout })) !== null) {
          // Drain until the peer's closing tag.
        }
      } catch { /* timeout, error or EOF: close anyway */ }
    }
    this.#shutdown();
  }

  /**
   * Restart the stream (after STARTTLS or SASL): start a fresh parser over
   * `duplex` (default: the same one) and exchange headers again. The old
   * parser's buffered bytes are never handed to the new stream.
   *
   * @example
   * ```ts
   * import type { XmlStream } from "./xml_stream.ts";
   *
   * export async function afterSaslSuccess(xs: XmlStream) {
   *   const next = await xs.restart(); // same duplex, fresh parser, new headers
   *   return await next.readFeatures();
   * }
   * ```
   *
   * @param duplex The duplex for the new stream, or a function that builds
   * it from the old one once it is released (such as a TLS handshake over
   * it, for STARTTLS). Default: the same duplex.
   * @param options Overrides of the options this stream was made with.
   * @returns The new stream. This one can no longer be used.
   * @throws {StreamError} `policy-violation` if data was buffered and
   * `options.buffered` is `"error"`; the connection is then closed.
   */
  async restart(
    duplex?: Duplex | ((raw: Duplex) => Promise<Duplex>),
    options: RestartOptions = {},
  ): Promise<XmlStream> {
    const raw = this.detach(options);
    let under = raw;
    if (typeof duplex === "function") {
      try {
        under = await duplex(raw);
      } catch (e) {
        raw.close();
        throw e;
      }
    } else if (duplex !== undefined) {
      under = duplex;
    }
    const next = { ...this.#options, ...options };
    if (this.initiator) {
      return await XmlStream.open(under, {
        ...next,
        to: options.to ?? this.header.to,
        from: options.from ?? this.header.from,
      });
    }
    return await XmlStream.accept(under, { ...next, id: options.id });
  }

  /**
   * Release the duplex without closing it, for a layer that takes over the
   * raw bytes (such as a TLS handshake after `<proceed/>`). This stream can
   * no longer be used.
   *
   * @example
   * ```ts
   * import type { Duplex } from "./duplex.ts";
   * import { XmlStream } from "./xml_stream.ts";
   *
   * export async function afterProceed(
   *   xs: XmlStream,
   *   upgrade: (raw: Duplex) => Promise<Duplex>,
   * ) {
   *   const raw = xs.detach(); // throws if the peer pipelined data after <proceed/>
   *   return await XmlStream.open(await upgrade(raw), { to: xs.header.to });
   * }
   * ```
   *
   * @param options What to do with data the peer sent that is still buffered.
   * @returns The underlying duplex.
   * @throws {StreamError} `policy-violation` if data was buffered and
   * `options.buffered` is `"error"` (the default); the connection is closed.
   */
  detach(options: { buffered?: "error" | "discard" } = {}): Duplex {
    if (this.#detached || this.#closed) {
      throw new Deno.errors.BadResource("the XML stream is already closed");
    }
    if (this.#pending !== null) {
      throw new Deno.errors.Busy("a read is still in progress on this stream");
    }
    const injected = this.buffered;
    this.#detached = true;
    this.#queue.length = 0;
    release(this.#reader, this.#writer);
    if (injected && (options.buffered ?? "error") === "error") {
      this.#closed = true;
      this.duplex.close();
      throw new StreamError(
        "policy-violation",
        "the peer sent data before the stream restart (possible injection); the connection was closed",
      );
    }
    return this.duplex;
  }

  /**
   * Iterate incoming elements until the peer closes the stream.
   *
   * @example
   * ```ts
   * import type { XmlStream } from "./xml_stream.ts";
   *
   * export async function logAll(xs: XmlStream) {
   *   for await (const stanza of xs) console.log(stanza.name);
   * }
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Element> {
    for (;;) {
      const el = await this.read();
      if (el === null) return;
      yield el;
    }
  }

  #serialize(el: Element): string {
    return serialize(el, {
      ns: this.header.ns,
      prefixes: { [STREAMS_NS]: "stream" },
    });
  }

  /** Record a failure, tell the peer if it is ours, close, and throw it. */
  async #fail(err: StreamError, send: boolean): Promise<never> {
    this.#failure = err;
    if (send && !this.#sentClose && !this.#closed) {
      this.#sentClose = true;
      try {
        await this.#writer.write(encoder.encode(errorXml(err) + CLOSING_TAG));
      } catch { /* the peer is gone */ }
    }
    this.#shutdown();
    throw err;
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#detached) release(this.#reader, this.#writer);
    this.duplex.close();
  }
}

/**
 * Release both locks. A read still pending is rejected by the release; its
 * rejection (and the reader's `closed`) are expected, so mark them handled.
 */
function release(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
): void {
  reader.closed.catch(() => {});
  writer.closed.catch(() => {});
  reader.releaseLock();
  writer.releaseLock();
}

/** `<stream:error/>` for a local error. */
function errorXml(err: StreamError): string {
  const children = [new Element(err.condition, STREAM_ERROR_NS)];
  if (err.text) {
    children.push(new Element("text", STREAM_ERROR_NS, {}, [err.text]));
  }
  return serialize(new Element("error", STREAMS_NS, {}, children), {
    ns: CLIENT_NS,
    prefixes: { [STREAMS_NS]: "stream" },
  });
}

/** A received `<stream:error/>` as a {@linkcode StreamError}. */
function remoteError(el: Element): StreamError {
  let condition: StreamErrorCondition = "undefined-condition";
  let text: string | undefined;
  let host: string | undefined;
  for (const c of el.elements) {
    if (c.ns !== STREAM_ERROR_NS) continue;
    if (c.name === "text") text = c.text;
    else if (isStreamErrorCondition(c.name)) {
      condition = c.name;
      if (c.name === "see-other-host") host = c.text;
    }
  }
  return new StreamError(condition, undefined, {
    origin: "remote",
    text,
    seeOtherHost: host,
  });
}
