import assert from "node:assert/strict";
import { memoryPair } from "../stream/memory_duplex.ts";
import { alertRecord, parseClientHello } from "./_client_hello.ts";
import { tlsConnect } from "./client.ts";

/** The first flight of a real `tlsConnect`. */
async function captureHello(
  serverName: string,
  alpn: string[] | null,
): Promise<Uint8Array> {
  const [a, b] = memoryPair();
  const client = tlsConnect(a, {
    serverName,
    alpn,
    systemCa: false,
    timeout: 2000,
  })
    .catch(() => {});
  const reader = b.readable.getReader();
  let data = new Uint8Array();
  while (parseClientHello(data).state === "more") {
    const { value, done } = await reader.read();
    if (done) break;
    const next = new Uint8Array(data.length + value.length);
    next.set(data);
    next.set(value, data.length);
    data = next;
  }
  reader.releaseLock();
  b.close();
  await client;
  return data;
}

Deno.test("ClientHello: SNI and ALPN of a real handshake", async (t) => {
  const hello = await captureHello("bücher.example", [
    "xmpp-client",
    "xmpp-server",
  ]);
  await t.step("whole", () => {
    assert.deepEqual(parseClientHello(hello), {
      state: "done",
      hello: {
        serverName: "xn--bcher-kva.example",
        alpn: ["xmpp-client", "xmpp-server"],
      },
    });
  });
  await t.step("every shorter prefix asks for more", () => {
    for (let n = 0; n < hello.length; n++) {
      assert.equal(
        parseClientHello(hello.subarray(0, n)).state,
        "more",
        `prefix ${n}`,
      );
    }
  });
  await t.step("split over two records", () => {
    const body = hello.subarray(5);
    const cut = 37;
    const rec = (b: Uint8Array) =>
      Uint8Array.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff, ...b]);
    const two = Uint8Array.from([
      ...rec(body.subarray(0, cut)),
      ...rec(body.subarray(cut)),
    ]);
    const parsed = parseClientHello(two);
    assert.equal(parsed.state, "done");
    if (parsed.state === "done") {
      assert.equal(parsed.hello.serverName, "xn--bcher-kva.example");
    }
  });
  await t.step("without ALPN", async () => {
    const parsed = parseClientHello(await captureHello("example.org", null));
    assert.deepEqual(parsed, {
      state: "done",
      hello: { serverName: "example.org", alpn: null },
    });
  });
});

Deno.test("ClientHello: not TLS", async (t) => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const table: [string, Uint8Array, RegExp][] = [
    [
      "plaintext XMPP",
      enc("<?xml version='1.0'?><stream:stream"),
      /plaintext XMPP/,
    ],
    ["SSLv2 hello", Uint8Array.from([0x80, 0x2e, 0x01, 0x00, 0x02]), /SSLv2/],
    [
      "application data record",
      Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0]),
      /not a ClientHello/,
    ],
    [
      "bad record length",
      Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x00]),
      /record length/,
    ],
    [
      "bad record version",
      Uint8Array.from([0x16, 0x07, 0x01, 0x00, 0x01, 0x01]),
      /record version/,
    ],
  ];
  for (const [name, bytes, why] of table) {
    await t.step(name, () => {
      const parsed = parseClientHello(bytes);
      assert.equal(parsed.state, "not-tls");
      if (parsed.state === "not-tls") assert.match(parsed.why, why);
    });
  }
  await t.step("alert record", () => {
    assert.deepEqual([...alertRecord(112)], [0x15, 3, 3, 0, 2, 2, 112]);
  });
});
