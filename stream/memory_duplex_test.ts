import assert from "node:assert/strict";
import { memoryPair } from "./memory_duplex.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves to `"pending"` if `p` has not settled within a few ticks. */
async function settled(p: Promise<unknown>): Promise<"pending" | "settled"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    p.then(() => "settled" as const, () => "settled" as const),
    new Promise<"pending">((r) => timer = setTimeout(() => r("pending"), 20)),
  ]);
  clearTimeout(timer);
  return result;
}

Deno.test("memoryPair", async (t) => {
  await t.step("info defaults and overrides", () => {
    const [a, b] = memoryPair();
    assert.deepEqual(a.info, { transport: "memory", secure: false });
    assert.deepEqual(b.info, { transport: "memory", secure: false });
    a.close();

    const [c, d] = memoryPair({
      info: { secure: true, alpn: "xmpp-client" },
      infoA: { serverName: "a.example" },
      infoB: { serverName: "b.example" },
    });
    assert.deepEqual(c.info, {
      transport: "memory",
      secure: true,
      alpn: "xmpp-client",
      serverName: "a.example",
    });
    assert.equal(d.info.serverName, "b.example");
    assert.equal(d.info.secure, true);
    c.close();
  });

  await t.step("rejects a bad highWaterMark", () => {
    assert.throws(() => memoryPair({ highWaterMark: -1 }), RangeError);
    assert.throws(() => memoryPair({ highWaterMark: NaN }), RangeError);
    assert.throws(() => memoryPair({ highWaterMark: Infinity }), RangeError);
  });

  await t.step("bytes both ways", async () => {
    const [a, b] = memoryPair();
    const aw = a.writable.getWriter();
    const bw = b.writable.getWriter();
    const ar = a.readable.getReader();
    const br = b.readable.getReader();
    await aw.write(enc.encode("ping"));
    assert.equal(dec.decode((await br.read()).value), "ping");
    await bw.write(enc.encode("pong"));
    assert.equal(dec.decode((await ar.read()).value), "pong");
    a.close();
    b.close();
  });

  await t.step("chunk boundaries are preserved", async () => {
    const [a, b] = memoryPair();
    const w = a.writable.getWriter();
    const chunks = ["<str", "eam:stream ", "", "x", "mlns='jabber:client'>"];
    for (const c of chunks) await w.write(enc.encode(c));
    await w.close();
    const got: string[] = [];
    for await (const c of b.readable) got.push(dec.decode(c));
    // The empty chunk is dropped; every other chunk arrives on its own.
    assert.deepEqual(got, chunks.filter((c) => c !== ""));
    a.close();
  });

  await t.step("written chunks are copied", async () => {
    const [a, b] = memoryPair();
    const w = a.writable.getWriter();
    const buf = enc.encode("abc");
    await w.write(buf);
    buf[0] = 0x7a; // "z"; must not change what the peer reads
    const { value } = await b.readable.getReader().read();
    assert.equal(dec.decode(value), "abc");
    a.close();
  });

  await t.step("writable close half-closes", async () => {
    const [a, b] = memoryPair();
    const aw = a.writable.getWriter();
    await aw.write(enc.encode("last"));
    await aw.close();
    const br = b.readable.getReader();
    assert.equal(dec.decode((await br.read()).value), "last");
    assert.equal((await br.read()).done, true);
    // The other direction still works.
    const bw = b.writable.getWriter();
    await bw.write(enc.encode("reply"));
    const ar = a.readable.getReader();
    assert.equal(dec.decode((await ar.read()).value), "reply");
    b.close();
  });

  await t.step("close: peer sees EOF, writes fail, idempotent", async () => {
    const [a, b] = memoryPair();
    const aw = a.writable.getWriter();
    const bw = b.writable.getWriter();
    const br = b.readable.getReader();
    const ar = a.readable.getReader();
    await aw.write(enc.encode("queued"));
    const pendingRead = ar.read();
    a.close();
    a.close();
    // Bytes written before close are still delivered, then EOF.
    assert.equal(dec.decode((await br.read()).value), "queued");
    assert.deepEqual(await br.read(), { value: undefined, done: true });
    // A read pending on the closing end itself ends too.
    assert.equal((await pendingRead).done, true);
    await assert.rejects(aw.write(enc.encode("x")), Deno.errors.BrokenPipe);
    await assert.rejects(bw.write(enc.encode("x")), Deno.errors.BrokenPipe);
    b.close();
    b.close();
  });

  await t.step("close from the other end, before any use", async () => {
    const [a, b] = memoryPair();
    b.close();
    assert.equal((await a.readable.getReader().read()).done, true);
    await assert.rejects(
      a.writable.getWriter().write(enc.encode("x")),
      Deno.errors.BrokenPipe,
    );
    a.close();
  });

  await t.step("backpressure: a writer with no reader stalls", async () => {
    const [a, b] = memoryPair({ highWaterMark: 1024 });
    const w = a.writable.getWriter();
    const chunk = new Uint8Array(256);
    // 1024 bytes fit; the write that fills the buffer stalls.
    for (let i = 0; i < 3; i++) await w.write(chunk);
    const stalled = w.write(chunk);
    assert.equal(await settled(stalled), "pending");
    // Further writes queue in the writable; its desiredSize says "stop".
    assert.ok((w.desiredSize ?? 0) <= 0);

    // Reading one chunk makes room and releases the stalled write.
    const r = b.readable.getReader();
    assert.equal((await r.read()).value?.byteLength, 256);
    await stalled;

    // The buffer is full again (768 + 256): close while a write stalls.
    const stalled2 = w.write(chunk);
    assert.equal(await settled(stalled2), "pending");
    a.close();
    await assert.rejects(stalled2, Deno.errors.BrokenPipe);
  });

  await t.step("backpressure: memory stays bounded", async () => {
    const highWaterMark = 4096;
    const [a, b] = memoryPair({ highWaterMark });
    const w = a.writable.getWriter();
    const chunk = new Uint8Array(100);
    let written = 0;
    // A writer that respects backpressure stops after about highWaterMark.
    const writing = (async () => {
      while (true) {
        await w.ready;
        await w.write(chunk);
        written += chunk.byteLength;
      }
    })();
    writing.catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      written <= highWaterMark + chunk.byteLength,
      `written ${written} bytes with nobody reading`,
    );
    // A slow reader lets it continue, still bounded.
    const r = b.readable.getReader();
    let read = 0;
    for (let i = 0; i < 100; i++) read += (await r.read()).value!.byteLength;
    assert.equal(read, 100 * chunk.byteLength);
    assert.ok(written - read <= highWaterMark + chunk.byteLength);
    a.close();
    await assert.rejects(writing, Deno.errors.BrokenPipe);
  });

  await t.step(
    "abort releases a stalled write and errors the peer",
    async () => {
      const [a, b] = memoryPair({ highWaterMark: 0 });
      const w = a.writable.getWriter();
      const stalled = w.write(enc.encode("x"));
      assert.equal(await settled(stalled), "pending");
      const reason = new Error("gave up");
      await w.abort(reason);
      await assert.rejects(stalled, (e) => e === reason);
      const r = b.readable.getReader();
      await assert.rejects(r.read(), (e) => e === reason);
      b.close();
    },
  );

  await t.step("cancelling a readable breaks the peer's writes", async () => {
    const [a, b] = memoryPair();
    await b.readable.cancel();
    await assert.rejects(
      a.writable.getWriter().write(enc.encode("x")),
      Deno.errors.BrokenPipe,
    );
    a.close();
  });

  await t.step("rejects non-Uint8Array chunks", async () => {
    const [a] = memoryPair();
    const w = a.writable.getWriter() as WritableStreamDefaultWriter<unknown>;
    await assert.rejects(w.write("text"), TypeError);
    a.close();
  });

  await t.step("pipes through pipeTo", async () => {
    const [a, b] = memoryPair({ highWaterMark: 16 });
    const data = new Uint8Array(10_000).map((_, i) => i & 0xff);
    const source = ReadableStream.from(
      Array.from({ length: 100 }, (_, i) => data.slice(i * 100, i * 100 + 100)),
    );
    const piping = source.pipeTo(a.writable);
    const got = new Uint8Array(10_000);
    let off = 0;
    for await (const c of b.readable) {
      got.set(c, off);
      off += c.byteLength;
    }
    await piping;
    assert.equal(off, 10_000);
    assert.deepEqual(got, data);
    a.close();
  });
});
