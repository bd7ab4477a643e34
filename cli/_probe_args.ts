/**
 * The probe's command line: {@linkcode parseProbeArgs} turns arguments into
 * {@linkcode ProbeArgs}, or throws a {@linkcode UsageError} (exit code 2)
 * that says what is wrong; {@linkcode PROBE_USAGE} is the `--help` text.
 *
 * @module
 */

import { ipFamily } from "../srv/addresses.ts";
import { normalizeServerName } from "../tls/identity.ts";

/** The `--help` text. */
export const PROBE_USAGE: string = `\
Usage: probe [options] DOMAIN

Discover the XMPP service of DOMAIN (SRV for STARTTLS and Direct TLS, in one
RFC 2782 order, with the "." rules and the RFC 6120 fallback), then connect to
every candidate: TCP, STARTTLS offered/required, the TLS handshake (SNI =
DOMAIN, ALPN), TLS version, cipher, ALPN, the certificate (subject, names,
expiry) and whether it is valid for DOMAIN, and the stream features over TLS.

Options:
  --json                 print one JSON object (domain, candidates[] with a
                         result each, verdict); no progress output
  --nameserver IP[:PORT] ask this DNS server (port 53 by default; IPv6 as
                         [2001:db8::53]:53)
  --ca FILE              also trust the CA certificate(s) in this PEM file
                         (repeatable)
  --server               probe server-to-server: _xmpp-server/_xmpps-server,
                         ALPN xmpp-server, stream namespace jabber:server
  --timeout MS           time allowed for discovery, and for each candidate
                         (default 10000)
  --no-connect           discovery only: list the candidates, connect to none
  -h, --help             show this help

Exit status: 0 when at least one candidate gives a secure stream (with
--no-connect: when candidates were found), 1 when none does (or the domain
declares no service, or discovery failed), 2 for usage errors.
`;

/** A command line that cannot be used; exit code 2. */
export class UsageError extends Error {
  /**
   * Make a usage error.
   *
   * @param message What is wrong with the command line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The parsed command line. */
export interface ProbeArgs {
  /** `--help` was given: print the usage and exit 0. */
  help: boolean;
  /** The domain (or JID) to probe; `""` only with `help`. */
  domain: string;
  /** `--json`. */
  json: boolean;
  /** `--nameserver`, or `undefined` for the system's. */
  nameServer: { ipAddr: string; port: number } | undefined;
  /** `--ca` files, in order. */
  caFiles: string[];
  /** `--server`: s2s instead of c2s. */
  server: boolean;
  /** `--timeout`, in milliseconds. */
  timeout: number;
  /** `false` with `--no-connect`. */
  connect: boolean;
}

/** The default `--timeout`. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Parse `--nameserver`: `IP`, `IP:PORT`, `[IPv6]`, `[IPv6]:PORT`, or a bare
 * IPv6 address (then the port is 53).
 *
 * @example
 * ```ts
 * import { parseNameServer } from "./_probe_args.ts";
 * console.log(parseNameServer("127.0.0.1:5353")); // { ipAddr: "127.0.0.1", port: 5353 }
 * console.log(parseNameServer("[::1]")); // { ipAddr: "::1", port: 53 }
 * ```
 *
 * @param text The option's value.
 * @returns The address and port.
 * @throws {UsageError} If it is not an IP address with an optional port.
 */
export function parseNameServer(
  text: string,
): { ipAddr: string; port: number } {
  let ip = text;
  let port = "53";
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket) {
    ip = bracket[1];
    if (bracket[2] !== undefined) port = bracket[2];
  } else if (ipFamily(text) === undefined) {
    const colon = text.lastIndexOf(":");
    if (colon > 0 && !text.slice(0, colon).includes(":")) {
      ip = text.slice(0, colon);
      port = text.slice(colon + 1);
    }
  }
  if (ipFamily(ip) === undefined || ip.includes("%")) {
    throw new UsageError(
      `--nameserver needs an IP address with an optional port, such as ` +
        `127.0.0.1:53 or [::1]:53; got ${JSON.stringify(text)}`,
    );
  }
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65535)) {
    throw new UsageError(
      `--nameserver port must be from 1 to 65535; got ${JSON.stringify(port)}`,
    );
  }
  return { ipAddr: ip, port: n };
}

/** The domainpart of a JID (or the domain itself). */
function _domainPart(jid: string): string {
  const slash = jid.indexOf("/");
  const bare = slash === -1 ? jid : jid.slice(0, slash);
  const at = bare.lastIndexOf("@");
  return at === -1 ? bare : bare.slice(at + 1);
}

/**
 * Parse the probe's arguments (see {@linkcode PROBE_USAGE}). Options may
 * come before or after the domain, values as `--opt VALUE` or
 * `--opt=VALUE`; `--` ends the options.
 *
 * @example
 * ```ts
 * import { parseProbeArgs } from "./_probe_args.ts";
 * const args = parseProbeArgs(["--json", "--timeout=5000", "example.org"]);
 * console.log(args.domain, args.json, args.timeout, args.connect); // example.org true 5000 true
 * ```
 *
 * @param args The command-line arguments (`Deno.args`).
 * @returns The parsed arguments.
 * @throws {UsageError} For an unknown option, a missing or bad value, no
 *   domain, an invalid domain, or more than one domain.
 */
export function parseProbeArgs(args: readonly string[]): ProbeArgs {
  const out: ProbeArgs = {
    help: false,
    domain: "",
    json: false,
    nameServer: undefined,
    caFiles: [],
    server: false,
    timeout: DEFAULT_TIMEOUT_MS,
    connect: true,
  };
  const positional: string[] = [];
  let options = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!options || !arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    if (arg === "--") {
      options = false;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = args[i + 1];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      i++;
      return v;
    };
    const flag = () => {
      if (inline !== undefined) {
        throw new UsageError(`${name} takes no value`);
      }
    };
    switch (name) {
      case "-h":
      case "--help":
        flag();
        out.help = true;
        break;
      case "--json":
        flag();
        out.json = true;
        break;
      case "--server":
        flag();
        out.server = true;
        break;
      case "--no-connect":
        flag();
        out.connect = false;
        break;
      case "--nameserver":
        out.nameServer = parseNameServer(value());
        break;
      case "--ca": {
        const file = value();
        if (file === "") throw new UsageError("--ca needs a file name");
        out.caFiles.push(file);
        break;
      }
      case "--timeout": {
        const v = value();
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!(n >= 1 && n <= 2 ** 31 - 1)) {
          throw new UsageError(
            `--timeout needs a whole number of milliseconds from 1 to ${
              2 ** 31 - 1
            }; got ${JSON.stringify(v)}`,
          );
        }
        out.timeout = n;
        break;
      }
      default:
        throw new UsageError(`unknown option ${name} (see --help)`);
    }
  }
  if (out.help) return out;
  if (positional.length === 0) {
    throw new UsageError("give the domain to probe, such as example.org");
  }
  if (positional.length > 1) {
    throw new UsageError(
      `give one domain to probe, not ${positional.length}: ${
        positional.join(" ")
      }`,
    );
  }
  const domain = positional[0];
  try {
    normalizeServerName(_domainPart(domain));
  } catch (e) {
    throw new UsageError(
      `${JSON.stringify(domain)} is not a domain or JID: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  }
  out.domain = domain;
  return out;
}
