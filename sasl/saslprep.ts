/**
 * SASLprep (RFC 4013), the stringprep (RFC 3454) profile SCRAM and PLAIN
 * apply to user names and passwords, as a "query" (unassigned code points
 * are allowed).
 *
 * What is implemented:
 * - mapping: non-ASCII spaces (table C.1.2) to U+0020, and the "commonly
 *   mapped to nothing" characters (table B.1) removed;
 * - normalization: Unicode NFKC;
 * - prohibited output: tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7,
 *   C.8 and C.9, checked after normalization;
 * - bidirectional strings (RFC 3454 §6): a string with a right-to-left
 *   character must not also hold a left-to-right one, and must begin and end
 *   with a right-to-left character.
 *
 * Gaps, by design or by what the runtime offers:
 * - NFKC is the runtime's (current Unicode), not Unicode 3.2 as stringprep
 *   pins; the two differ only for characters assigned or corrected since
 *   3.2.
 * - JavaScript regular expressions have no Bidi_Class property, so the
 *   bidirectional categories are approximated: "RandALCat" is a letter in
 *   the Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan, Mandaic, Adlam or
 *   Hanifi Rohingya script, or U+200F; "LCat" is any other letter or a
 *   spacing mark. Strings in a single script behave as the tables say.
 * - Unassigned code points (table A.1) are not rejected: SCRAM and PLAIN
 *   prepare names and passwords as queries, where they are allowed.
 *
 * @module
 */

// Table C.1.2: non-ASCII space characters (mapped to U+0020).
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
// Table B.1: commonly mapped to nothing.
const MAPPED_TO_NOTHING =
  /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;

/** Prohibited output, with the table each range comes from. */
const PROHIBITED: [RegExp, string][] = [
  [/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/u, "a non-ASCII space"],
  // deno-lint-ignore no-control-regex
  [/[\u0000-\u001F\u007F]/u, "an ASCII control character"],
  [
    /[\u0080-\u009F\u06DD\u070F\u180E\u200C\u200D\u2028\u2029\u2060-\u2063\u206A-\u206F\uFEFF\uFFF9-\uFFFC\u{1D173}-\u{1D17A}]/u,
    "a non-ASCII control character",
  ],
  [/\p{Co}/u, "a private use character"],
  [
    /[\uFDD0-\uFDEF\uFFFE\uFFFF\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}\u{FFFFE}\u{FFFFF}\u{10FFFE}\u{10FFFF}]/u,
    "a non-character code point",
  ],
  [/\p{Cs}/u, "a lone surrogate"],
  [/[\uFFF9-\uFFFD]/u, "a character inappropriate for plain text"],
  [
    /[\u2FF0-\u2FFB]/u,
    "a character inappropriate for canonical representation",
  ],
  [
    /[\u0340\u0341\u200E\u200F\u202A-\u202E\u206A-\u206F]/u,
    "a display-changing or deprecated character",
  ],
  [/[\u{E0001}\u{E0020}-\u{E007F}]/u, "a tagging character"],
];

const RTL_SCRIPTS =
  "\\p{Script=Hebrew}\\p{Script=Arabic}\\p{Script=Syriac}\\p{Script=Thaana}" +
  "\\p{Script=Nko}\\p{Script=Samaritan}\\p{Script=Mandaic}\\p{Script=Adlam}" +
  "\\p{Script=Hanifi_Rohingya}";
const RAND_AL = new RegExp(`^(?:[${RTL_SCRIPTS}](?<=\\p{L})|\\u200F)$`, "u");
const L_CAT = /[\p{L}\p{Mc}]/u;

/** Options for {@linkcode saslprep}. */
export interface SaslprepOptions {
  /**
   * What the string is, for error messages ("user name", "password").
   *
   * @default {"string"}
   */
  what?: string;
}

/**
 * Prepare a user name or password with SASLprep (RFC 4013), as a query.
 * See the module documentation for what differs from the RFC's tables.
 *
 * @example
 * ```ts
 * import { saslprep } from "./saslprep.ts";
 *
 * console.log(saslprep("I\u00ADX")); // "IX" (soft hyphen mapped to nothing)
 * console.log(saslprep("\u2168")); // "IX" (NFKC)
 * console.log(saslprep("a\u00A0b")); // "a b" (non-ASCII space to SPACE)
 * try {
 *   saslprep("\u0007");
 * } catch (e) {
 *   console.log((e as TypeError).message); // string contains an ASCII control character (U+0007)
 * }
 * ```
 *
 * @param input The string.
 * @param options What the string is, for error messages.
 * @returns The prepared string (possibly empty: callers that need a
 * non-empty one check that).
 * @throws {TypeError} If the result contains a prohibited character or
 * breaks the bidirectional rules.
 */
export function saslprep(input: string, options: SaslprepOptions = {}): string {
  const what = options.what ?? "string";
  if (typeof input !== "string") {
    throw new TypeError(`${what} must be a string, got ${typeof input}`);
  }
  // Fast path: printable ASCII is its own SASLprep.
  if (/^[\x20-\x7E]*$/.test(input)) return input;
  if (/\p{Cs}/u.test(input)) {
    throw new TypeError(`${what} contains a lone surrogate`);
  }
  const out = input
    .replace(NON_ASCII_SPACE, " ")
    .replace(MAPPED_TO_NOTHING, "")
    .normalize("NFKC");
  for (const [re, name] of PROHIBITED) {
    const m = re.exec(out);
    if (m) {
      const cp = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(
        4,
        "0",
      );
      throw new TypeError(`${what} contains ${name} (U+${cp})`);
    }
  }
  checkBidi(out, what);
  return out;
}

function checkBidi(s: string, what: string): void {
  const chars = [...s];
  const isRandAL = (c: string) => RAND_AL.test(c);
  if (!chars.some(isRandAL)) return;
  if (chars.some((c) => !isRandAL(c) && L_CAT.test(c))) {
    throw new TypeError(
      `${what} mixes right-to-left and left-to-right characters (RFC 3454 §6)`,
    );
  }
  if (!isRandAL(chars[0]) || !isRandAL(chars[chars.length - 1])) {
    throw new TypeError(
      `${what} has right-to-left characters but does not begin and end with one (RFC 3454 §6)`,
    );
  }
}
