/**
 * The SCRAM message syntax (RFC 5802 §7): strict parsers for the four
 * messages and the `saslname` escaping. Every parser throws a
 * {@linkcode SaslError} (`malformed-request`, or `mechanism-too-weak` where
 * noted by the callers) naming what is wrong.
 *
 * @module
 */

import { SaslError } from "./sasl_error.ts";
import { decodeUtf8 } from "./_bytes.ts";

/** Longest SCRAM message accepted from a peer, in bytes. */
export const MAX_SCRAM_MESSAGE = 4096;

const NONCE = /^[\x21-\x2B\x2D-\x7E]+$/;
const CB_NAME = /^[A-Za-z0-9.-]+$/;
const ATTR_VAL = /^[A-Za-z]=[^,]+$/;
const POSIT_NUMBER = /^[1-9][0-9]*$/;

function malformed(message: string): SaslError {
  return new SaslError("malformed-request", message);
}

/** `saslname` escaping: `=` → `=3D`, `,` → `=2C`. */
export function escapeSaslname(s: string): string {
  return s.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

/**
 * Undo `saslname` escaping, strictly.
 *
 * @throws {SaslError} If an `=` is not followed by `2C` or `3D`, or the name
 * is empty or holds NUL.
 */
export function unescapeSaslname(s: string, what: string): string {
  if (s.length === 0) throw malformed(`empty ${what}`);
  if (s.includes("\0")) throw malformed(`${what} contains NUL`);
  if (/=(?!2C|3D)/.test(s)) {
    throw malformed(`${what} has an "=" not followed by 2C or 3D`);
  }
  return s.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

/** Whether a nonce uses only the allowed printable characters. */
export function isNonce(s: string): boolean {
  return NONCE.test(s);
}

/** Split into fields; each further field must be a non-empty `x=value`. */
function extensions(fields: string[], where: string): void {
  for (const f of fields) {
    if (!ATTR_VAL.test(f)) {
      throw malformed(`bad attribute ${JSON.stringify(f)} in ${where}`);
    }
  }
}

/** The parts of a client-first-message. */
export interface ClientFirst {
  /** `n`, `y` or `p`. */
  flag: "n" | "y" | "p";
  /** The channel binding type after `p=`. */
  cbName?: string;
  /** The authorization identity, unescaped. */
  authzid?: string;
  /** The GS2 header, as sent (including its final comma). */
  gs2Header: string;
  /** client-first-message-bare, as sent. */
  bare: string;
  /** The user name, unescaped (not yet SASLprep'd). */
  username: string;
  /** The client nonce. */
  nonce: string;
}

/** Parse a client-first-message. */
export function parseClientFirst(msg: string): ClientFirst {
  const c1 = msg.indexOf(",");
  const c2 = c1 < 0 ? -1 : msg.indexOf(",", c1 + 1);
  if (c2 < 0) throw malformed("client-first-message has no GS2 header");
  const flagField = msg.slice(0, c1);
  const authzField = msg.slice(c1 + 1, c2);
  let flag: ClientFirst["flag"];
  let cbName: string | undefined;
  if (flagField === "n" || flagField === "y") flag = flagField;
  else if (flagField.startsWith("p=")) {
    flag = "p";
    cbName = flagField.slice(2);
    if (!CB_NAME.test(cbName)) {
      throw malformed(`bad channel binding name ${JSON.stringify(cbName)}`);
    }
  } else {
    throw malformed(
      `bad GS2 channel binding flag ${
        JSON.stringify(flagField)
      } (want n, y or p=…)`,
    );
  }
  let authzid: string | undefined;
  if (authzField !== "") {
    if (!authzField.startsWith("a=")) {
      throw malformed(`bad GS2 authzid field ${JSON.stringify(authzField)}`);
    }
    authzid = unescapeSaslname(authzField.slice(2), "authzid");
  }
  const bare = msg.slice(c2 + 1);
  const fields = bare.split(",");
  if (fields[0].startsWith("m=")) {
    throw malformed("unsupported mandatory extension (m=)");
  }
  if (fields.length < 2 || !fields[0].startsWith("n=")) {
    throw malformed("client-first-message-bare must start with n=…,r=…");
  }
  if (!fields[1].startsWith("r=")) {
    throw malformed("client-first-message-bare has no r= after n=");
  }
  const username = unescapeSaslname(fields[0].slice(2), "user name");
  const nonce = fields[1].slice(2);
  if (!isNonce(nonce)) throw malformed("bad client nonce");
  extensions(fields.slice(2), "client-first-message");
  return {
    flag,
    cbName,
    authzid,
    gs2Header: msg.slice(0, c2 + 1),
    bare,
    username,
    nonce,
  };
}

/** The parts of a server-first-message. */
export interface ServerFirst {
  /** The combined nonce. */
  nonce: string;
  /** The salt, base64. */
  salt: string;
  /** The iteration count. */
  iterations: number;
}

/** Parse a server-first-message. */
export function parseServerFirst(msg: string): ServerFirst {
  const fields = msg.split(",");
  if (fields[0].startsWith("m=")) {
    throw malformed(
      "the server requires an unsupported mandatory extension (m=)",
    );
  }
  if (
    fields.length < 3 || !fields[0].startsWith("r=") ||
    !fields[1].startsWith("s=") || !fields[2].startsWith("i=")
  ) {
    throw malformed("server-first-message must be r=…,s=…,i=…");
  }
  const nonce = fields[0].slice(2);
  if (!isNonce(nonce)) throw malformed("bad server nonce");
  const salt = fields[1].slice(2);
  const count = fields[2].slice(2);
  if (!POSIT_NUMBER.test(count) || count.length > 10) {
    throw malformed(`bad iteration count ${JSON.stringify(count)}`);
  }
  extensions(fields.slice(3), "server-first-message");
  return { nonce, salt, iterations: Number(count) };
}

/** The parts of a client-final-message. */
export interface ClientFinal {
  /** The `c=` value, base64. */
  channelBinding: string;
  /** The combined nonce. */
  nonce: string;
  /** The proof, base64. */
  proof: string;
  /** client-final-message-without-proof, as sent. */
  withoutProof: string;
}

/** Parse a client-final-message. */
export function parseClientFinal(msg: string): ClientFinal {
  const fields = msg.split(",");
  if (
    fields.length < 3 || !fields[0].startsWith("c=") ||
    !fields[1].startsWith("r=")
  ) {
    throw malformed("client-final-message must be c=…,r=…,…,p=…");
  }
  const last = fields[fields.length - 1];
  if (!last.startsWith("p=")) {
    throw malformed("client-final-message must end with p=…");
  }
  extensions(fields.slice(2, -1), "client-final-message");
  return {
    channelBinding: fields[0].slice(2),
    nonce: fields[1].slice(2),
    proof: last.slice(2),
    withoutProof: msg.slice(0, msg.length - last.length - 1),
  };
}

/** A server-final-message: an error or the verifier. */
export type ServerFinal = { error: string } | { verifier: string };

/** Parse a server-final-message. */
export function parseServerFinal(msg: string): ServerFinal {
  const fields = msg.split(",");
  if (fields[0].startsWith("e=")) {
    const error = fields[0].slice(2);
    if (!/^[\x21-\x2B\x2D-\x3C\x3E-\x7E]+$/.test(error)) {
      throw malformed("bad server-error value");
    }
    return { error };
  }
  if (!fields[0].startsWith("v=")) {
    throw malformed("server-final-message must start with v= or e=");
  }
  extensions(fields.slice(1), "server-final-message");
  return { verifier: fields[0].slice(2) };
}

/**
 * A SCRAM message from a peer as text: at most
 * {@linkcode MAX_SCRAM_MESSAGE} bytes of valid UTF-8.
 */
export function scramText(data: Uint8Array, what: string): string {
  if (data.length > MAX_SCRAM_MESSAGE) {
    throw malformed(`${what} longer than ${MAX_SCRAM_MESSAGE} bytes`);
  }
  const s = decodeUtf8(data);
  if (s === null) throw malformed(`${what} is not UTF-8`);
  return s;
}
