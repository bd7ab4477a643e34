/**
 * The shared contract of SASL mechanisms (RFC 4422): a client side and a
 * server side, both pure state machines over bytes, with no I/O. The
 * exchange over an XML stream ({@linkcode ./negotiate.ts}) drives them.
 *
 * @module
 */

import type { SaslFailureCondition } from "./sasl_error.ts";

/** The mechanisms this module implements, strongest first. */
export const MECHANISM_NAMES = [
  "SCRAM-SHA-256-PLUS",
  "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
  "EXTERNAL",
] as const;

/** A mechanism this module implements. */
export type MechanismName = typeof MECHANISM_NAMES[number];

/**
 * Whether a string names a mechanism this module implements.
 *
 * @example
 * ```ts
 * import { isMechanismName } from "./mechanism.ts";
 * console.log(isMechanismName("SCRAM-SHA-1"), isMechanismName("DIGEST-MD5")); // true false
 * ```
 *
 * @param name A mechanism name.
 * @returns `true` if it is one of {@linkcode MECHANISM_NAMES}.
 */
export function isMechanismName(name: string): name is MechanismName {
  return (MECHANISM_NAMES as readonly string[]).includes(name);
}

/**
 * The client side of a mechanism.
 *
 * Methods throw a {@linkcode SaslError} (origin `"local"`) when the server's
 * data is malformed or fails verification.
 *
 * @example A trivial client mechanism
 * ```ts
 * import type { ClientMechanism } from "./mechanism.ts";
 *
 * const anonymous: ClientMechanism = {
 *   name: "ANONYMOUS",
 *   start: () => Promise.resolve(new TextEncoder().encode("trace")),
 *   challenge: () => Promise.reject(new Error("no challenges expected")),
 *   success: () => Promise.resolve(),
 * };
 * console.log(anonymous.name);
 * ```
 */
export interface ClientMechanism {
  /** The mechanism name sent in `<auth mechanism='…'/>`. */
  readonly name: string;
  /**
   * Begin: the initial response, or `null` to send none.
   */
  start(): Promise<Uint8Array | null>;
  /**
   * Answer a server challenge.
   *
   * @param data The decoded challenge.
   * @returns The response to send.
   */
  challenge(data: Uint8Array): Promise<Uint8Array>;
  /**
   * The server said success. Resolves only if the exchange is complete and,
   * where the mechanism can, the server proved itself (SCRAM's server
   * signature); otherwise throws.
   *
   * @param additionalData Additional data with success, `null` if none.
   */
  success(additionalData: Uint8Array | null): Promise<void>;
}

/** Who authenticated, and as whom they act. */
export interface Identity {
  /** The authentication identity (the user name the credentials belong to). */
  username: string;
  /** The requested authorization identity, if the client sent one. */
  authzid?: string;
}

/** What a server mechanism answers to one client message. */
export type ServerStep =
  | {
    /** Send this challenge and wait for a response. */
    challenge: Uint8Array;
  }
  | {
    /** The client is authenticated as this identity. */
    success: Identity;
    /** Additional data for `<success/>`, `null` for none. */
    additionalData: Uint8Array | null;
  }
  | {
    /** The exchange failed with this condition. */
    failure: SaslFailureCondition;
    /** Text for `<failure/>`, for the client. */
    text?: string;
  };

/**
 * The server side of a mechanism: one instance per exchange.
 *
 * @example A server mechanism that accepts a fixed token
 * ```ts
 * import type { ServerMechanism, ServerStep } from "./mechanism.ts";
 *
 * const token: ServerMechanism = {
 *   name: "X-TOKEN",
 *   step(response): Promise<ServerStep> {
 *     if (response === null) return Promise.resolve({ challenge: new Uint8Array() });
 *     const ok = new TextDecoder().decode(response) === "let-me-in";
 *     return Promise.resolve(
 *       ok
 *         ? { success: { username: "alice" }, additionalData: null }
 *         : { failure: "not-authorized" },
 *     );
 *   },
 * };
 * console.log(await token.step(new TextEncoder().encode("let-me-in")));
 * ```
 */
export interface ServerMechanism {
  /** The mechanism name. */
  readonly name: string;
  /**
   * Process the next client message: the initial response (`null` when the
   * client sent none), then each response.
   *
   * @param response The decoded client data.
   * @returns A challenge, success or failure. After success or failure the
   * exchange is over.
   */
  step(response: Uint8Array | null): Promise<ServerStep>;
}
