/**
 * A tiny XMPP server built on `serve()`: users registered in memory log in
 * over STARTTLS or Direct TLS, and a message from one user to another is
 * relayed to the recipient's session(s).
 *
 * ```sh
 * deno run -A examples/relay_server.ts                  # free ports, printed
 * deno run -A examples/relay_server.ts --starttls-port 5222 --directtls-port 5223
 * ```
 *
 * It serves `localhost` and `example.test` with the test certificate from
 * `tests/testdata/` (clients must trust the test CA, `tests/testdata/ca.pem`:
 * a test-only CA whose private key is public), and knows the users `alice`
 * and `bob`, both with the password `secret`.
 *
 * Routing, in brief (RFC 6121, much simplified: no rosters, presence
 * subscriptions or offline storage):
 *
 * - the server stamps every stanza with the sender's full JID as `from`;
 * - a `<message/>` to a bare JID goes to every session of that user; to a
 *   full JID, to that session, else to every session of the user; with no
 *   session, the sender gets a `service-unavailable` error;
 * - a directed `<presence/>` is relayed the same way (never answered);
 * - an `<iq/>` to a full JID is relayed; one to the server, or to the
 *   sender's own bare JID, is answered here: ping, an empty roster, the
 *   legacy session, service discovery; anything else gets
 *   `service-unavailable`;
 * - stanzas for other domains get `remote-server-not-found`.
 *
 * @module
 */

import { Element } from "../stream/element.ts";
import { STANZAS_NS } from "../sasl/bind.ts";
import { MemoryCredentialStore } from "../sasl/credentials.ts";
import {
  serve,
  type ServeError,
  type Server,
  type Session,
  type SessionHandler,
} from "../session/serve.ts";

const CLIENT_NS = "jabber:client";
const DISCO_INFO_NS = "http://jabber.org/protocol/disco#info";
const PING_NS = "urn:xmpp:ping";
const ROSTER_NS = "jabber:iq:roster";
const SESSION_NS = "urn:ietf:params:xml:ns:xmpp-session";

/** A JID split into its parts (local part and domain lower-cased). */
interface Jid {
  local: string;
  domain: string;
  resource: string;
  bare: string;
}

function parseJid(jid: string): Jid {
  const slash = jid.indexOf("/");
  const bareText = slash < 0 ? jid : jid.slice(0, slash);
  const resource = slash < 0 ? "" : jid.slice(slash + 1);
  const at = bareText.indexOf("@");
  const local = at < 0 ? "" : bareText.slice(0, at).toLowerCase();
  const domain = bareText.slice(at + 1).toLowerCase();
  return {
    local,
    domain,
    resource,
    bare: local ? `${local}@${domain}` : domain,
  };
}

/**
 * Routes stanzas between the sessions of its users. Its `handle` is the
 * `serve()` handler.
 *
 * @example
 * ```ts
 * import { Relay } from "./relay_server.ts";
 * import { serve } from "../session/serve.ts";
 *
 * export function relayServer(certificates: Record<string, { cert: string; key: string }>) {
 *   const relay = new Relay({ domains: ["localhost"] });
 *   return serve({
 *     domains: ["localhost"],
 *     listen: [{ transport: "directtls", port: 5223 }],
 *     tls: { certificates },
 *   }, relay.handle);
 * }
 * ```
 */
export class Relay {
  readonly #domains: Set<string>;
  readonly #online = new Map<string, Set<Session>>();
  readonly #log: (line: string) => void;

  /**
   * Make a relay.
   *
   * @param options `domains`: the domains served (stanzas to others get
   *   `remote-server-not-found`); `log`: where to report sessions and
   *   relayed stanzas (default: nowhere).
   */
  constructor(
    options: { domains: readonly string[]; log?: (line: string) => void },
  ) {
    this.#domains = new Set(options.domains.map((d) => d.toLowerCase()));
    this.#log = options.log ?? (() => {});
  }

  /**
   * The sessions of a user online now.
   *
   * @example
   * ```ts
   * import { Relay } from "./relay_server.ts";
   * console.log(new Relay({ domains: ["localhost"] }).sessionsOf("bob@localhost").length); // 0
   * ```
   *
   * @param bareJid The user's bare JID.
   * @returns The sessions.
   */
  sessionsOf(bareJid: string): Session[] {
    return [...this.#online.get(parseJid(bareJid).bare) ?? []];
  }

  /** The `serve()` handler: register the session, route what it sends. */
  readonly handle: SessionHandler = async (session) => {
    let set = this.#online.get(session.bareJid);
    if (!set) this.#online.set(session.bareJid, set = new Set());
    set.add(session);
    this.#log(
      `+ ${session.jid} (${session.endpoint.transport}, ${
        session.info.tlsVersion ?? "TLS"
      })`,
    );
    try {
      if (session.pending) await this.#route(session, session.pending);
      for await (const stanza of session.stream) {
        await this.#route(session, stanza);
      }
    } finally {
      set.delete(session);
      if (set.size === 0) this.#online.delete(session.bareJid);
      this.#log(`- ${session.jid}`);
    }
  };

  async #route(from: Session, stanza: Element): Promise<void> {
    if (
      stanza.ns !== CLIENT_NS ||
      !["message", "presence", "iq"].includes(stanza.name)
    ) {
      await from.stream.sendError("unsupported-stanza-type", {
        text: `<${stanza.name}/> in ${stanza.ns} is not a stanza`,
      });
      return;
    }
    stanza.attrs.from = from.jid; // never trust the client's `from`
    const toText = stanza.attrs.to;
    const to = toText ? parseJid(toText) : undefined;
    if (to !== undefined && !this.#domains.has(to.domain)) {
      await this.#bounce(from, stanza, "remote-server-not-found");
      return;
    }
    if (
      to === undefined || to.local === "" ||
      (stanza.name === "iq" && to.bare === from.bareJid && !to.resource)
    ) {
      await this.#serverAnswers(from, stanza);
      return;
    }
    const sessions = this.#online.get(to.bare) ?? new Set<Session>();
    const exact = [...sessions].find((s) =>
      s.jid === `${to.bare}/${to.resource}`
    );
    let targets: Session[];
    if (exact) targets = [exact];
    else if (stanza.name === "iq") targets = []; // an iq needs its resource
    else if (stanza.name === "presence" && to.resource) targets = [];
    else targets = [...sessions];
    if (targets.length === 0) {
      if (stanza.name !== "presence") {
        await this.#bounce(from, stanza, "service-unavailable");
      }
      return;
    }
    for (const target of targets) {
      try {
        await target.stream.send(stanza);
      } catch { /* that session just ended */ }
    }
    this.#log(
      `${from.jid} -> ${
        targets.map((t) => t.jid).join(", ")
      }: <${stanza.name}>`,
    );
  }

  /** Stanzas to the server (or an iq to one's own account). */
  async #serverAnswers(from: Session, stanza: Element): Promise<void> {
    if (stanza.name !== "iq") return; // presence and messages to the server: dropped
    const type = stanza.attrs.type;
    if (type !== "get" && type !== "set") return;
    const payload = stanza.elements[0];
    const reply = (children: Element[]) =>
      new Element("iq", CLIENT_NS, {
        type: "result",
        id: stanza.attrs.id ?? "",
        from: stanza.attrs.to ?? from.domain,
        to: from.jid,
      }, children);
    if (payload?.is("ping", PING_NS) || payload?.is("session", SESSION_NS)) {
      await from.stream.send(reply([]));
    } else if (payload?.is("query", ROSTER_NS) && type === "get") {
      await from.stream.send(reply([new Element("query", ROSTER_NS)]));
    } else if (payload?.is("query", DISCO_INFO_NS) && type === "get") {
      await from.stream.send(reply([
        new Element("query", DISCO_INFO_NS, {}, [
          new Element("identity", DISCO_INFO_NS, {
            category: "server",
            type: "im",
            name: "relay",
          }),
          new Element("feature", DISCO_INFO_NS, { var: DISCO_INFO_NS }),
          new Element("feature", DISCO_INFO_NS, { var: PING_NS }),
        ]),
      ]));
    } else {
      await this.#bounce(from, stanza, "service-unavailable");
    }
  }

  /** Answer a stanza with an error (never an error to an error). */
  async #bounce(from: Session, stanza: Element, condition: string) {
    if (stanza.attrs.type === "error" || stanza.attrs.type === "result") return;
    const attrs: Record<string, string> = {
      type: "error",
      from: stanza.attrs.to ?? from.domain,
      to: from.jid,
    };
    if (stanza.attrs.id !== undefined) attrs.id = stanza.attrs.id;
    await from.stream.send(
      new Element(stanza.name, CLIENT_NS, attrs, [
        new Element("error", CLIENT_NS, { type: "cancel" }, [
          new Element(condition, STANZAS_NS),
        ]),
      ]),
    );
  }
}

/** Options for {@linkcode startRelayServer}. */
export interface RelayServerOptions {
  /**
   * Users and their passwords.
   *
   * @default {{ alice: "secret", bob: "secret" }}
   */
  users?: Record<string, string>;
  /**
   * The domains served (the test certificate covers both defaults).
   *
   * @default {["localhost", "example.test"]}
   */
  domains?: string[];
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The STARTTLS port (0: any free port).
   *
   * @default {0}
   */
  starttlsPort?: number;
  /**
   * The Direct TLS port (0: any free port).
   *
   * @default {0}
   */
  directTlsPort?: number;
  /**
   * SCRAM iteration count of the stored credentials.
   *
   * @default {10000}
   */
  iterations?: number;
  /**
   * Where the relay reports sessions and relayed stanzas.
   *
   * @default {() => {}}
   */
  log?: (line: string) => void;
  /**
   * Told about failed connections and sessions.
   *
   * @default {serve()'s default}
   */
  onError?: (error: ServeError) => void;
  /**
   * Aborting it stops the server.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** A running relay server. */
export interface RelayServer {
  /** The server (its `addrs`, `close()`). */
  server: Server<MemoryCredentialStore>;
  /** The relay (who is online). */
  relay: Relay;
}

/**
 * Start the relay server with the test certificate.
 *
 * @example
 * ```ts
 * import { startRelayServer } from "./relay_server.ts";
 *
 * const { server } = await startRelayServer({ iterations: 4096 });
 * console.log(server.addrs.map((a) => a.transport)); // [ "starttls", "directtls" ]
 * await server.close();
 * ```
 *
 * @param options Users, domains, address, ports, logging.
 * @returns The server and the relay.
 */
export async function startRelayServer(
  options: RelayServerOptions = {},
): Promise<RelayServer> {
  const dir = new URL("../tests/testdata/", import.meta.url);
  const read = (f: string) => Deno.readTextFile(new URL(f, dir));
  const leaf = {
    cert: await read("localhost.pem"),
    key: await read("localhost.key"),
  };
  const domains = options.domains ?? ["localhost", "example.test"];
  const store = new MemoryCredentialStore({ iterations: options.iterations });
  const users = options.users ?? { alice: "secret", bob: "secret" };
  for (const [user, password] of Object.entries(users)) {
    await store.setPassword(user, password);
  }
  const relay = new Relay({ domains, log: options.log });
  const hostname = options.hostname ?? "127.0.0.1";
  const server = serve({
    domains,
    listen: [
      { transport: "starttls", hostname, port: options.starttlsPort ?? 0 },
      { transport: "directtls", hostname, port: options.directTlsPort ?? 0 },
    ],
    tls: {
      certificates: Object.fromEntries(domains.map((d) => [d, leaf])),
    },
    store,
    onError: options.onError,
    signal: options.signal,
  }, relay.handle);
  return { server, relay };
}

function portArg(name: string): number | undefined {
  const i = Deno.args.indexOf(name);
  if (i < 0) return undefined;
  const port = Number(Deno.args[i + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${name} needs a port number`);
  }
  return port;
}

if (import.meta.main) {
  const { server } = await startRelayServer({
    starttlsPort: portArg("--starttls-port"),
    directTlsPort: portArg("--directtls-port"),
    log: (line) => console.log(line),
    onError: (e) => console.log(`! ${e.message}`),
  });
  const ca = new URL("../tests/testdata/ca.pem", import.meta.url).pathname;
  console.log("relay server for localhost and example.test");
  for (const a of server.addrs) {
    const name = a.transport === "starttls" ? "STARTTLS  " : "Direct TLS";
    console.log(`  ${name} ${a.hostname}:${a.port}`);
  }
  console.log('users: alice, bob (password "secret")');
  console.log(
    `TLS: the test certificate; clients must trust the test CA ${ca}\n` +
      `  (for example slixmpp: xmpp.ca_certs = "${ca}"; Go clients: SSL_CERT_FILE=${ca})`,
  );
  console.log("Ctrl-C stops it");
  const stop = () => {
    Deno.removeSignalListener("SIGINT", stop);
    server.close();
  };
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
}
