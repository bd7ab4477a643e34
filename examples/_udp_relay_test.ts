import assert from "node:assert/strict";
import { startUdpRelay } from "./_udp_relay.ts";

function udp(): Deno.DatagramConn {
  return Deno.listenDatagram({
    hostname: "127.0.0.1",
    port: 0,
    transport: "udp",
  });
}

function portOf(s: Deno.DatagramConn): number {
  return (s.addr as Deno.NetAddr).port;
}

Deno.test("udp relay: delay, rebinding, dropping", async () => {
  const server = udp();
  const client = udp();
  const relay = startUdpRelay(portOf(server), { rtt: 40 });
  const to = {
    transport: "udp" as const,
    hostname: "127.0.0.1",
    port: relay.port,
  };
  const enc = new TextEncoder();

  const started = performance.now();
  await client.send(enc.encode("ping"), to);
  const [data, from] = await server.receive();
  assert.equal(new TextDecoder().decode(data), "ping");
  const first = (from as Deno.NetAddr).port;
  assert.deepEqual(relay.upstreamPorts(), [first]);
  await server.send(enc.encode("pong"), from);
  await client.receive();
  const rtt = performance.now() - started;
  assert.ok(rtt >= 38, `round trip ${rtt} ms`);

  const [second] = relay.rebind();
  assert.notEqual(second, first);
  await client.send(enc.encode("again"), to);
  const [, from2] = await server.receive();
  assert.equal((from2 as Deno.NetAddr).port, second, "new source port");
  assert.equal(relay.datagrams(), 3);

  relay.setDropping(true);
  await client.send(enc.encode("lost"), to);
  await new Promise((r) => setTimeout(r, 60));
  relay.setDropping(false);
  await client.send(enc.encode("kept"), to);
  const [kept] = await server.receive();
  assert.equal(new TextDecoder().decode(kept), "kept");

  await relay.close();
  await relay.close();
  assert.throws(() => relay.rebind(), Deno.errors.BadResource);
  client.close();
  server.close();
});

Deno.test("udp relay: bad arguments", () => {
  assert.throws(() => startUdpRelay(0), RangeError);
  assert.throws(() => startUdpRelay(443, { rtt: -1 }), RangeError);
});
