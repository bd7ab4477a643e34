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
        maxVersion: 0x0304,
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
      hello: { serverName: "example.org", alpn: null, maxVersion: 0x0304 },
    });
  });
});

/** A minimal ClientHello: version, SNI only, optional supported_versions. */
function hello(legacy: number, supported?: number[]): Uint8Array {
  const ext: number[] = [];
  const name = [...new TextEncoder().encode("a.example")];
  ext.push(
    0,
    0,
    0,
    name.length + 5,
    0,
    name.length + 3,
    0,
    0,
    name.length,
    ...name,
  );
  if (supported) {
    const list = supported.flatMap((v) => [v >> 8, v & 0xff]);
    ext.push(0, 43, 0, list.length + 1, list.length, ...list);
  }
  const body = [
    legacy >> 8,
    legacy & 0xff,
    ...new Array(32).fill(0),
    0, // session id
    0,
    2,
    0xc0,
    0x2f, // one cipher suite
    1,
    0, // null compression
    ext.length >> 8,
    ext.length & 0xff,
    ...ext,
  ];
  const hs = [1, 0, body.length >> 8, body.length & 0xff, ...body];
  return Uint8Array.from([0x16, 3, 1, hs.length >> 8, hs.length & 0xff, ...hs]);
}

Deno.test("ClientHello: the highest version offered", async (t) => {
  const table: [string, Uint8Array, number][] = [
    ["TLS 1.1 only", hello(0x0302), 0x0302],
    ["TLS 1.0 only", hello(0x0301), 0x0301],
    ["TLS 1.2 legacy", hello(0x0303), 0x0303],
    ["supported_versions 1.3", hello(0x0303, [0x0304, 0x0303]), 0x0304],
    ["GREASE ignored", hello(0x0303, [0x7a7a, 0x0303]), 0x0303],
  ];
  for (const [name, bytes, max] of table) {
    await t.step(name, () => {
      const parsed = parseClientHello(bytes);
      assert.equal(parsed.state, "done");
      if (parsed.state === "done") {
        assert.equal(parsed.hello.maxVersion, max);
        assert.equal(parsed.hello.serverName, "a.example");
      }
    });
  }
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
