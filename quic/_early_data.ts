/**
 * Where the stream header ends in a byte stream, so that only the header
 * travels in (client) or is acted on from (server) QUIC early data: an
 * optional XML declaration (or other processing instructions), whitespace,
 * then the first start tag, up to and including its `>` (a `>` inside a
 * quoted attribute value does not count). Anything else before the start
 * tag ends the header where it stands, so unknown bytes are never treated
 * as replay-safe.
 *
 * @module
 */

const LT = 0x3c;
const GT = 0x3e;
const QM = 0x3f;
const DQ = 0x22;
const SQ = 0x27;

/** Scans the stream header; feed it the bytes in order. */
export class _HeaderScanner {
  #state: "prolog" | "lt" | "pi" | "tag" = "prolog";
  #quote = 0;
  #piQuestion = false;
  #done = false;

  /** Whether the end of the header has been found. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Feed the next bytes.
   *
   * @param chunk The next bytes of the stream.
   * @returns How many bytes at the start of `chunk` belong to the header:
   *   all of them while it has not ended, `0` once it has.
   */
  push(chunk: Uint8Array): number {
    if (this.#done) return 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      switch (this.#state) {
        case "prolog":
          if (b === LT) this.#state = "lt";
          else if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) {
            this.#done = true;
            return i;
          }
          break;
        case "lt":
          if (b === QM) {
            this.#state = "pi";
            this.#piQuestion = false;
          } else {
            this.#state = "tag";
            i--; // the byte is part of the tag
          }
          break;
        case "pi":
          if (this.#piQuestion && b === GT) this.#state = "prolog";
          this.#piQuestion = b === QM;
          break;
        case "tag":
          if (this.#quote !== 0) {
            if (b === this.#quote) this.#quote = 0;
          } else if (b === DQ || b === SQ) {
            this.#quote = b;
          } else if (b === GT) {
            this.#done = true;
            return i + 1;
          }
          break;
      }
    }
    return chunk.length;
  }
}
