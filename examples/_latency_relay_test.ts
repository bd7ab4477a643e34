import assert from "node:assert/strict";
import { startLatencyRelay } from "./_latency_relay.ts";

Deno.test("latency relay: bytes pass in order and each round trip costs the RTT", async () => {
  const echo = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await echo.accept();
    const buf = new Uint8Array(1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await conn.write(buf.subarray(0, n));
    }
    conn.close();
  })();
  const relay = await startLatencyRelay((echo.addr as Deno.NetAddr).port, {
    rtt: 40,
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: relay.port });
  conn.setNoDelay(true);
  const enc = new TextEncoder();
  const buf = new Uint8Array(64);
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) {
    await conn.write(enc.encode(`ping${i}`));
    let got = "";
    while (got.length < 5) {
      const n = await conn.read(buf);
      got += new TextDecoder().decode(buf.subarray(0, n!));
    }
    assert.equal(got, `ping${i}`);
  }
  // A lower bound only: three round trips cannot be faster than 3 × RTT.
  assert.ok(performance.now() - t0 >= 3 * 40 - 1);
  conn.close();
  await served;
  echo.close();
  await relay.close();
  assert.equal(relay.connections(), 1);
});
