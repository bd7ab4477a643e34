/**
 * A strict streaming UTF-8 decoder for {@linkcode XmlParser}: the same
 * results and errors as `new TextDecoder("utf-8", { fatal: true, ignoreBOM:
 * true })` with `{ stream: true }`, but faster.
 *
 * The engine's non-fatal one-shot decoding is several times faster than its
 * fatal or streaming decoding, so each chunk is cut after its last complete
 * character and decoded that way. Invalid input always decodes to at least
 * one U+FFFD, and only then is the chunk decoded again, strictly, to tell a
 * real U+FFFD from an error. The bytes of a character split across chunks
 * wait here, and are checked as they come, so an error surfaces in the same
 * chunk as it would with a streaming fatal decoder.
 *
 * @module
 */

/** How many bytes a sequence starting with `b` has, or 0 if none can. */
function seqLength(b: number): number {
  if (b < 0x80) return 1;
  if (b < 0xc2) return 0;
  if (b < 0xe0) return 2;
  if (b < 0xf0) return 3;
  if (b < 0xf5) return 4;
  return 0;
}

/** Whether `b[from, to)` can begin a UTF-8 sequence that is still incomplete. */
function validPrefix(b: Uint8Array, from: number, to: number): boolean {
  const lead = b[from];
  const n = seqLength(lead);
  if (n < 2 || to - from >= n) return false;
  for (let i = from + 1; i < to; i++) {
    const c = b[i];
    let lo = 0x80, hi = 0xbf;
    if (i === from + 1) {
      if (lead === 0xe0) lo = 0xa0;
      else if (lead === 0xed) hi = 0x9f;
      else if (lead === 0xf0) lo = 0x90;
      else if (lead === 0xf4) hi = 0x8f;
    }
    if (c < lo || c > hi) return false;
  }
  return true;
}

/** See the module documentation. */
export class Utf8Decoder {
  readonly #lenient = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #strict = new TextDecoder("utf-8", {
    fatal: true,
    ignoreBOM: true,
  });
  /** The start of a character the last chunk split, or null. */
  #pending: Uint8Array | null = null;
  /** Whether the last decoded chunk was all ASCII. */
  ascii = true;

  /** Whether bytes of an unfinished character are waiting. */
  get pending(): boolean {
    return this.#pending !== null;
  }

  /**
   * Decode the next chunk.
   *
   * @throws {TypeError} If the input is not valid UTF-8.
   */
  decode(chunk: Uint8Array): string {
    let head = "";
    let start = 0;
    const pending = this.#pending;
    this.ascii = pending === null;
    if (pending !== null) {
      const need = seqLength(pending[0]) - pending.length;
      const take = Math.min(need, chunk.length);
      const piece = new Uint8Array(pending.length + take);
      piece.set(pending);
      piece.set(chunk.subarray(0, take), pending.length);
      if (take < need) {
        if (!validPrefix(piece, 0, piece.length)) this.#strict.decode(piece);
        this.#pending = piece;
        return "";
      }
      this.#pending = null;
      head = this.#strict.decode(piece);
      start = take;
    }
    const len = chunk.length;
    let cut = len;
    if (len > start && chunk[len - 1] >= 0x80) {
      // Where an unfinished last character would start: an incomplete
      // sequence has at most 3 bytes, so its lead is at most 2 bytes back.
      let p = len - 1;
      while (p > start && p > len - 3 && (chunk[p] & 0xc0) === 0x80) p--;
      if (validPrefix(chunk, p, len)) {
        cut = p;
        this.#pending = chunk.slice(p);
        this.ascii = false;
      }
    }
    const body = chunk.subarray(start, cut);
    let str = this.#lenient.decode(body);
    if (str.indexOf("\uFFFD") !== -1) str = this.#strict.decode(body);
    if (str.length !== body.length) this.ascii = false;
    return head === "" ? str : head + str;
  }
}
