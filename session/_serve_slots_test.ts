import assert from "node:assert/strict";
import { Slots } from "./_serve_slots.ts";

Deno.test("Slots: tryAcquire up to max, release frees", () => {
  const s = new Slots(2);
  assert.equal(s.tryAcquire(), true);
  assert.equal(s.tryAcquire(), true);
  assert.equal(s.tryAcquire(), false);
  assert.equal(s.used, 2);
  s.release();
  assert.equal(s.used, 1);
  s.release();
  s.release(); // never below zero
  assert.equal(s.used, 0);
});

Deno.test("Slots: acquire waits in order, a release hands the slot on", async () => {
  const s = new Slots(1);
  await s.acquire();
  const order: number[] = [];
  const a = s.acquire().then(() => order.push(1));
  const b = s.acquire().then(() => order.push(2));
  s.release();
  await a;
  assert.equal(s.used, 1);
  s.release();
  await b;
  assert.deepEqual(order, [1, 2]);
  assert.equal(s.used, 1);
});

Deno.test("Slots: an aborted wait rejects with the reason and takes nothing", async () => {
  const s = new Slots(1);
  s.tryAcquire();
  const ctl = new AbortController();
  const waiting = s.acquire(ctl.signal);
  ctl.abort(new Error("stop"));
  await assert.rejects(waiting, /stop/);
  s.release();
  assert.equal(s.used, 0);
  await assert.rejects(
    s.acquire(AbortSignal.abort(new Error("early"))),
    /early/,
  );
});

Deno.test("Slots: max must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => new Slots(bad, "maxConnections"), /maxConnections/);
  }
});
