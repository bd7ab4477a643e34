import assert from "node:assert/strict";
import { _HeaderScanner } from "./_early_data.ts";

const enc = new TextEncoder();

/** Feed `parts` and return the header bytes seen and whether it ended. */
function scan(parts: string[]): { header: string; done: boolean } {
  const s = new _HeaderScanner();
  let header = "";
  for (const p of parts) {
    const bytes = enc.encode(p);
    const n = s.push(bytes);
    header += new TextDecoder().decode(bytes.subarray(0, n));
    if (s.done) break;
  }
  return { header, done: s.done };
}

const HEADER = "<?xml version='1.0'?>\n<stream:stream to='example.org' " +
  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
  "version='1.0'>";

Deno.test("_HeaderScanner: the header ends at its start tag's >", () => {
  assert.deepEqual(scan([HEADER + "<auth>secret</auth>"]), {
    header: HEADER,
    done: true,
  });
  // Any split.
  const all = HEADER + "<auth/>";
  for (let i = 1; i < all.length; i++) {
    assert.deepEqual(scan([all.slice(0, i), all.slice(i)]), {
      header: HEADER,
      done: true,
    }, `split at ${i}`);
  }
  // Byte by byte.
  assert.equal(scan([...all]).header, HEADER);
});

Deno.test("_HeaderScanner: quotes, no declaration, incomplete, garbage", () => {
  const quoted = `<stream:stream id='a>b' from="c>'d">`;
  assert.deepEqual(scan([quoted + "x"]), { header: quoted, done: true });
  assert.deepEqual(scan(["  <s>rest"]), { header: "  <s>", done: true });
  assert.deepEqual(scan(["<stream:stream to='x"]), {
    header: "<stream:stream to='x",
    done: false,
  });
  assert.deepEqual(scan(["<?xml ?> ?> <s>"]), {
    header: "<?xml ?> ",
    done: true,
  });
  assert.deepEqual(scan(["AUTH PLAIN"]), { header: "", done: true });
  const s = new _HeaderScanner();
  s.push(enc.encode("<a>"));
  assert.equal(s.push(enc.encode("<b>")), 0, "nothing after the end");
});
