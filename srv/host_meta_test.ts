import assert from "node:assert/strict";
import type { Candidate } from "./candidate.ts";
import { discover, type HostMetaSource } from "./discover.ts";
import { memoryResolver } from "./memory_resolver.ts";
import {
  createHostMetaFetch,
  createHostMetaSource,
  fetchHostMeta,
  HOST_META_MAX_TTL,
  hostMetaCandidates,
  HostMetaError,
  type HostMetaErrorCode,
  hostMetaUrl,
  mergeHostMeta,
  parseHostMeta,
  spkiSha256,
} from "./host_meta.ts";

const TESTDATA = new URL("../tests/testdata/", import.meta.url);
const readTestdata = (name: string) =>
  Deno.readTextFile(new URL(name, TESTDATA));

const TLS = "urn:xmpp:alt-connections:tls";
const QUIC = "urn:xmpp:alt-connections:quic";
const S2S_TLS = "urn:xmpp:alt-connections:s2s-tls";
const S2S_QUIC = "urn:xmpp:alt-connections:s2s-quic";
const WS = "urn:xmpp:alt-connections:websocket";
const BOSH = "urn:xmpp:alt-connections:xbosh";
const S2S_WS = "urn:xmpp:alt-connections:s2s-websocket";

const PIN_A = "4/mggdlVx8A3pvHAWW5sD+qJyMtUHgiRuPjVC48N0XQ=";
const PIN_B = "ILDwt8oWhnhkgBktXsgukakkjoLUn1NZ8DovBHW9jlo=";

/** A valid XEP-0487 endpoint link, with overrides. */
function endpoint(
  rel: string,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    rel,
    port: 443,
    priority: 10,
    weight: 50,
    sni: "example.org",
    ips: ["192.0.2.1", "2001:db8::1"],
    ...over,
  };
}

/** A Host Meta 2 document text. */
function doc(
  links: unknown[],
  xmpp: unknown = { ttl: 3000 },
): string {
  return JSON.stringify(xmpp === undefined ? { links } : { xmpp, links });
}

/** Assert a HostMetaError with a code, and optionally path and message. */
function assertHostMetaError(
  e: unknown,
  code: HostMetaErrorCode,
  path?: string,
  message?: RegExp,
): true {
  assert.ok(e instanceof HostMetaError, `HostMetaError expected, got ${e}`);
  assert.equal(e.code, code, e.message);
  if (path !== undefined) assert.equal(e.path, path, e.message);
  if (message) assert.match(e.message, message);
  return true;
}

// ---------------------------------------------------------------------------
// parseHostMeta

Deno.test("parseHostMeta: the XEP-0487 example document", () => {
  // The example of XEP-0487 §2.3, with the pin from its text.
  const text = JSON.stringify({
    xmpp: { ttl: 3000, "public-key-pins-sha-256": [PIN_A] },
    links: [
      {
        rel: WS,
        href: "wss://other.example.org/xmpp-websocket",
        ips: ["1.2.3.4", "fd00:feed:dad:beef::1"],
        priority: 15,
        weight: 50,
        sni: "example.org",
        ech: "eG1wcC1jbGllbnQ=",
      },
      endpoint(TLS, {
        ips: ["1.2.3.4", "fd00:feed:dad:beef::1"],
        ech: "eG1wcC1jbGllbnQ=",
      }),
      endpoint(QUIC, {
        priority: 5,
        ips: ["1.2.3.4", "fd00:feed:dad:beef::1"],
      }),
      {
        rel: S2S_WS,
        href: "wss://other.example.org/s2s-xmpp-websocket",
        priority: 15,
        weight: 50,
        sni: "example.org",
        ips: ["1.2.3.4"],
      },
      endpoint(S2S_TLS, { ips: ["1.2.3.4"] }),
      endpoint(S2S_QUIC, { priority: 5, ips: ["1.2.3.4"] }),
      { rel: BOSH, href: "https://web.example.com:5280/bosh" },
    ],
  });
  const hm = parseHostMeta(text, "Example.ORG");
  assert.equal(hm.domain, "example.org");
  assert.deepEqual(hm.xmpp, { ttl: 3000, declaredTtl: 3000, pins: [PIN_A] });
  assert.deepEqual(hm.endpoints, [
    {
      rel: TLS,
      kind: "client",
      transport: "directtls",
      port: 443,
      priority: 10,
      weight: 50,
      sni: "example.org",
      ips: ["1.2.3.4", "fd00:feed:dad:beef::1"],
      ech: "eG1wcC1jbGllbnQ=",
      index: 1,
    },
    {
      rel: QUIC,
      kind: "client",
      transport: "quic",
      port: 443,
      priority: 5,
      weight: 50,
      sni: "example.org",
      ips: ["1.2.3.4", "fd00:feed:dad:beef::1"],
      index: 2,
    },
    {
      rel: S2S_TLS,
      kind: "server",
      transport: "directtls",
      port: 443,
      priority: 10,
      weight: 50,
      sni: "example.org",
      ips: ["1.2.3.4"],
      index: 4,
    },
    {
      rel: S2S_QUIC,
      kind: "server",
      transport: "quic",
      port: 443,
      priority: 5,
      weight: 50,
      sni: "example.org",
      ips: ["1.2.3.4"],
      index: 5,
    },
  ]);
  assert.deepEqual(hm.webLinks, [
    {
      rel: WS,
      kind: "client",
      href: "wss://other.example.org/xmpp-websocket",
      secure: true,
      priority: 15,
      weight: 50,
      sni: "example.org",
      ips: ["1.2.3.4", "fd00:feed:dad:beef::1"],
      ech: "eG1wcC1jbGllbnQ=",
      index: 0,
    },
    {
      rel: S2S_WS,
      kind: "server",
      href: "wss://other.example.org/s2s-xmpp-websocket",
      secure: true,
      priority: 15,
      weight: 50,
      sni: "example.org",
      ips: ["1.2.3.4"],
      index: 3,
    },
    {
      rel: BOSH,
      kind: "client",
      href: "https://web.example.com:5280/bosh",
      secure: true,
      index: 6,
    },
  ]);
  assert.deepEqual(hm.ignored, []);
});

Deno.test("parseHostMeta: XEP-0156 document (no xmpp object)", () => {
  const hm = parseHostMeta(
    JSON.stringify({
      subject: "https://example.org",
      links: [
        { rel: BOSH, href: "https://web.example.com:5280/bosh" },
        { rel: WS, href: "wss://web.example.com:443/ws" },
        { rel: "lrdd", template: "https://example.org/lrdd?uri={uri}" },
        endpoint(TLS),
      ],
    }),
    "example.org",
  );
  assert.equal(hm.xmpp, undefined);
  assert.deepEqual(hm.endpoints, []);
  assert.deepEqual(hm.webLinks.map((l) => [l.rel, l.href]), [
    [BOSH, "https://web.example.com:5280/bosh"],
    [WS, "wss://web.example.com/ws"],
  ]);
  assert.deepEqual(hm.ignored, [
    { index: 2, rel: "lrdd", reason: "not an XMPP connection method" },
    {
      index: 3,
      rel: TLS,
      reason:
        "XEP-0487 link in a document without the xmpp object (XEP-0156 rules apply)",
    },
  ]);
  assert.deepEqual(hostMetaCandidates(hm, "client"), []);
});

Deno.test("parseHostMeta: ttl", async (t) => {
  const good: [unknown, number, number][] = [
    [0, 0, 0],
    [1, 1, 1],
    [3000, 3000, 3000],
    [604800, 604800, 604800],
    [604801, 604801, HOST_META_MAX_TTL],
    [2147483647, 2147483647, HOST_META_MAX_TTL],
  ];
  for (const [ttl, declared, effective] of good) {
    await t.step(`ttl ${ttl}`, () => {
      const hm = parseHostMeta(doc([], { ttl }), "example.org");
      assert.equal(hm.xmpp?.declaredTtl, declared);
      assert.equal(hm.xmpp?.ttl, effective);
    });
  }
  await t.step("604800 written as 6.048e5 is the same integer", () => {
    const hm = parseHostMeta('{"xmpp":{"ttl":6.048e5}}', "example.org");
    assert.equal(hm.xmpp?.ttl, 604800);
  });
  await t.step("maxTtl option caps the effective ttl", () => {
    const hm = parseHostMeta(doc([], { ttl: 3000 }), "example.org", {
      maxTtl: 60,
    });
    assert.deepEqual(hm.xmpp, { ttl: 60, declaredTtl: 3000, pins: [] });
  });
  const bad: [string, string][] = [
    ["fraction", '{"xmpp":{"ttl":1.5}}'],
    ["604800.5", '{"xmpp":{"ttl":604800.5}}'],
    ["negative", '{"xmpp":{"ttl":-1}}'],
    ["string", '{"xmpp":{"ttl":"3000"}}'],
    ["null", '{"xmpp":{"ttl":null}}'],
    ["boolean", '{"xmpp":{"ttl":true}}'],
    ["array", '{"xmpp":{"ttl":[3000]}}'],
    ["2^31", '{"xmpp":{"ttl":2147483648}}'],
    ["2^53", '{"xmpp":{"ttl":9007199254740992}}'],
    ["1e300", '{"xmpp":{"ttl":1e300}}'],
    ["overflow to Infinity", '{"xmpp":{"ttl":1e999}}'],
  ];
  for (const [name, text] of bad) {
    await t.step(`rejects ttl: ${name}`, () => {
      assert.throws(
        () => parseHostMeta(text, "example.org"),
        (e) =>
          assertHostMetaError(
            e,
            "malformed",
            "xmpp.ttl",
            /integer from 0 to 2147483647/,
          ),
      );
    });
  }
  await t.step("rejects a missing ttl", () => {
    assert.throws(
      () => parseHostMeta('{"xmpp":{}}', "example.org"),
      (e) => assertHostMetaError(e, "malformed", "xmpp.ttl", /missing/),
    );
  });
  await t.step("rejects an xmpp that is not an object", () => {
    for (const x of ["[]", "null", "3000", '"x"']) {
      assert.throws(
        () => parseHostMeta(`{"xmpp":${x}}`, "example.org"),
        (e) => assertHostMetaError(e, "malformed", "xmpp"),
      );
    }
  });
});

Deno.test("parseHostMeta: public-key-pins-sha-256", async (t) => {
  const key = "public-key-pins-sha-256";
  await t.step("pins kept, duplicates dropped, [] when absent or empty", () => {
    assert.deepEqual(
      parseHostMeta(
        doc([], { ttl: 1, [key]: [PIN_A, PIN_B, PIN_A] }),
        "example.org",
      )
        .xmpp?.pins,
      [PIN_A, PIN_B],
    );
    assert.deepEqual(
      parseHostMeta(doc([], { ttl: 1, [key]: [] }), "example.org").xmpp?.pins,
      [],
    );
    assert.deepEqual(
      parseHostMeta(doc([], { ttl: 1 }), "example.org").xmpp?.pins,
      [],
    );
  });
  const thirtyOne = btoa("x".repeat(31));
  const thirtyThree = btoa("x".repeat(33));
  const bad: [string, unknown, string, RegExp][] = [
    ["not an array", PIN_A, `xmpp["${key}"]`, /array of base64/],
    ["an object", { a: PIN_A }, `xmpp["${key}"]`, /array of base64/],
    ["a number in it", [PIN_A, 1], `xmpp["${key}"][1]`, /must be a string/],
    ["31 bytes", [thirtyOne], `xmpp["${key}"][0]`, /32 bytes.*got 31/],
    ["33 bytes", [thirtyThree], `xmpp["${key}"][0]`, /32 bytes.*got 33/],
    ["empty string", [""], `xmpp["${key}"][0]`, /32 bytes.*got 0/],
    ["no padding", [PIN_A.slice(0, -1)], `xmpp["${key}"][0]`, /base64/],
    [
      "URL-safe alphabet",
      [PIN_A.replace("/", "_").replace("+", "-")],
      `xmpp["${key}"][0]`,
      /base64/,
    ],
    ["whitespace", [` ${PIN_A}`], `xmpp["${key}"][0]`, /base64/],
    [
      "hex",
      ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      `xmpp["${key}"][0]`,
      /32 bytes.*got 48/,
    ],
    [
      "non-canonical pad bits",
      [PIN_A.slice(0, -2) + "R="],
      `xmpp["${key}"][0]`,
      /non-zero padding/,
    ],
  ];
  for (const [name, pins, path, message] of bad) {
    await t.step(`rejects pins: ${name}`, () => {
      assert.throws(
        () => parseHostMeta(doc([], { ttl: 1, [key]: pins }), "example.org"),
        (e) => assertHostMetaError(e, "malformed", path, message),
      );
    });
  }
});

Deno.test("parseHostMeta: endpoint link fields", async (t) => {
  await t.step("every endpoint rel maps to its kind and transport", () => {
    const hm = parseHostMeta(
      doc([
        endpoint(TLS),
        endpoint(QUIC),
        endpoint(S2S_TLS),
        endpoint(S2S_QUIC),
      ]),
      "example.org",
    );
    assert.deepEqual(hm.endpoints.map((e) => [e.kind, e.transport]), [
      ["client", "directtls"],
      ["client", "quic"],
      ["server", "directtls"],
      ["server", "quic"],
    ]);
  });
  await t.step("boundary values are accepted", () => {
    const hm = parseHostMeta(
      doc([
        endpoint(TLS, { port: 1, priority: 0, weight: 0 }),
        endpoint(QUIC, { port: 65535, priority: 65535, weight: 65535 }),
      ]),
      "example.org",
    );
    assert.deepEqual(hm.endpoints.map((e) => [e.port, e.priority, e.weight]), [
      [1, 0, 0],
      [65535, 65535, 65535],
    ]);
  });
  await t.step("sni is converted to an A-label; ips are canonical", () => {
    const hm = parseHostMeta(
      doc([endpoint(TLS, {
        sni: "Bücher.Example.",
        ips: ["2001:DB8:0:0::1", "198.51.100.7"],
      })]),
      "bücher.example",
    );
    assert.equal(hm.domain, "xn--bcher-kva.example");
    assert.equal(hm.endpoints[0].sni, "xn--bcher-kva.example");
    assert.deepEqual(hm.endpoints[0].ips, ["2001:db8::1", "198.51.100.7"]);
  });
  await t.step("unknown fields and href on an endpoint are ignored", () => {
    const hm = parseHostMeta(
      doc([endpoint(TLS, { href: "https://ignored.example/", future: [1] })]),
      "example.org",
    );
    assert.equal(hm.endpoints.length, 1);
    assert.ok(!("href" in hm.endpoints[0]));
  });

  const p = "links[0]";
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ["port missing", { port: undefined }, `${p}.port`, /missing/],
    ["port 0", { port: 0 }, `${p}.port`, /1 to 65535, got 0/],
    ["port 65536", { port: 65536 }, `${p}.port`, /got 65536/],
    ["port fraction", { port: 443.5 }, `${p}.port`, /got 443.5/],
    ["port string", { port: "443" }, `${p}.port`, /got the string "443"/],
    ["port negative", { port: -443 }, `${p}.port`, /got -443/],
    ["port null", { port: null }, `${p}.port`, /got null/],
    ["priority missing", { priority: undefined }, `${p}.priority`, /missing/],
    ["priority -1", { priority: -1 }, `${p}.priority`, /0 to 65535/],
    ["priority 65536", { priority: 65536 }, `${p}.priority`, /0 to 65535/],
    ["priority fraction", { priority: 0.5 }, `${p}.priority`, /0 to 65535/],
    ["priority string", { priority: "10" }, `${p}.priority`, /0 to 65535/],
    ["weight missing", { weight: undefined }, `${p}.weight`, /missing/],
    ["weight -1", { weight: -1 }, `${p}.weight`, /0 to 65535/],
    ["weight 65536", { weight: 65536 }, `${p}.weight`, /0 to 65535/],
    ["weight fraction", { weight: 1.25 }, `${p}.weight`, /0 to 65535/],
    ["sni missing", { sni: undefined }, `${p}.sni`, /missing/],
    ["sni number", { sni: 1 }, `${p}.sni`, /must be a string/],
    ["sni empty", { sni: "" }, `${p}.sni`, /domain name/],
    ["sni with space", { sni: "exa mple.org" }, `${p}.sni`, /domain name/],
    ["sni IP", { sni: "192.0.2.1" }, `${p}.sni`, /IP address/],
    ["sni with port", { sni: "example.org:443" }, `${p}.sni`, /domain name/],
    ["sni bad label", { sni: "-x.example.org" }, `${p}.sni`, /invalid label/],
    ["ips missing", { ips: undefined }, `${p}.ips`, /missing/],
    ["ips empty", { ips: [] }, `${p}.ips`, /non-empty array/],
    ["ips a string", { ips: "192.0.2.1" }, `${p}.ips`, /non-empty array/],
    [
      "ips host name",
      { ips: ["example.org"] },
      `${p}.ips[0]`,
      /not an IPv4 or IPv6/,
    ],
    ["ips number", { ips: [1] }, `${p}.ips[0]`, /must be a string/],
    ["ips octet 256", { ips: ["192.0.2.256"] }, `${p}.ips[0]`, /IPv4 or IPv6/],
    [
      "ips leading zero",
      { ips: ["192.0.2.01"] },
      `${p}.ips[0]`,
      /IPv4 or IPv6/,
    ],
    [
      "ips with port",
      { ips: ["192.0.2.1:443"] },
      `${p}.ips[0]`,
      /IPv4 or IPv6/,
    ],
    [
      "ips bracketed",
      { ips: ["[2001:db8::1]"] },
      `${p}.ips[0]`,
      /IPv4 or IPv6/,
    ],
    ["ips zone", { ips: ["fe80::1%eth0"] }, `${p}.ips[0]`, /IPv4 or IPv6/],
    ["ips bad IPv6", { ips: ["2001:db8:::1"] }, `${p}.ips[0]`, /IPv4 or IPv6/],
    ["ips 0.0.0.0", { ips: ["0.0.0.0"] }, `${p}.ips[0]`, /unspecified/],
    ["ips ::", { ips: ["::"] }, `${p}.ips[0]`, /unspecified/],
    [
      "ips duplicate",
      { ips: ["2001:db8::1", "2001:DB8:0::1"] },
      `${p}.ips[1]`,
      /second time/,
    ],
    ["ech not base64", { ech: "not base64!" }, `${p}.ech`, /base64/],
    ["ech empty", { ech: "" }, `${p}.ech`, /must not be empty/],
    ["ech number", { ech: 5 }, `${p}.ech`, /must be a string/],
    ["href number", { href: 5 }, `${p}.href`, /must be a string/],
  ];
  for (const rel of [TLS, S2S_QUIC]) {
    for (const [name, over, path, message] of bad) {
      await t.step(`${rel.slice(25)}: rejects ${name}`, () => {
        const link = endpoint(rel, over);
        for (const [k, v] of Object.entries(over)) {
          if (v === undefined) delete link[k];
        }
        assert.throws(
          () => parseHostMeta(doc([link]), "example.org"),
          (e) => assertHostMetaError(e, "malformed", path, message),
        );
      });
    }
  }
  await t.step("a bad link after good ones still rejects the document", () => {
    assert.throws(
      () =>
        parseHostMeta(
          doc([endpoint(TLS), endpoint(QUIC), endpoint(TLS, { port: 0 })]),
          "example.org",
        ),
      (e) => assertHostMetaError(e, "malformed", "links[2].port"),
    );
  });
  await t.step("the message names the domain, field and value", () => {
    assert.throws(
      () => parseHostMeta(doc([endpoint(TLS, { port: 70000 })]), "example.org"),
      {
        name: "HostMetaError",
        message:
          "host-meta of example.org is malformed: links[0].port must be an integer from 1 to 65535, got 70000",
      },
    );
  });
});

Deno.test("parseHostMeta: document structure", async (t) => {
  const bad: [string, string, string, RegExp][] = [
    ["empty text", "", "the document", /not JSON/],
    ["truncated JSON", "{", "the document", /not JSON/],
    ["trailing garbage", "{} x", "the document", /not JSON/],
    ["single quotes", "{'links':[]}", "the document", /not JSON/],
    ["an array", "[]", "the document", /JSON object, got an array/],
    ["null", "null", "the document", /JSON object, got null/],
    ["a number", "42", "the document", /JSON object, got 42/],
    ["a string", '"{}"', "the document", /JSON object, got the string/],
    ["links an object", '{"links":{}}', "links", /must be an array/],
    ["links a string", '{"links":"x"}', "links", /must be an array/],
    ["links null", '{"links":null}', "links", /must be an array/],
    [
      "a link that is a string",
      '{"links":["x"]}',
      "links[0]",
      /must be an object/,
    ],
    [
      "a link that is null",
      '{"links":[null]}',
      "links[0]",
      /must be an object/,
    ],
    [
      "a link that is an array",
      '{"links":[[]]}',
      "links[0]",
      /must be an object/,
    ],
    [
      "rel missing",
      '{"links":[{"href":"x"}]}',
      "links[0].rel",
      /must be a string/,
    ],
    [
      "rel a number",
      '{"links":[{"rel":1}]}',
      "links[0].rel",
      /must be a string/,
    ],
    [
      "href a number (unknown rel)",
      '{"links":[{"rel":"x","href":1}]}',
      "links[0].href",
      /must be a string/,
    ],
  ];
  for (const [name, text, path, message] of bad) {
    await t.step(`rejects ${name}`, () => {
      assert.throws(
        () => parseHostMeta(text, "example.org"),
        (e) => assertHostMetaError(e, "malformed", path, message),
      );
    });
  }
  await t.step("an empty object is an empty XEP-0156 document", () => {
    assert.deepEqual(parseHostMeta("{}", "example.org"), {
      domain: "example.org",
      endpoints: [],
      webLinks: [],
      ignored: [],
    });
  });
  await t.step("a byte-order mark is not JSON", () => {
    assert.throws(
      () => parseHostMeta("\uFEFF{}", "example.org"),
      (e) => assertHostMetaError(e, "malformed"),
    );
  });
  await t.step("bad arguments are TypeError/RangeError", () => {
    assert.throws(() => parseHostMeta("{}", "not a domain"), TypeError);
    assert.throws(() => parseHostMeta("{}", "192.0.2.1"), TypeError);
    assert.throws(
      () => parseHostMeta(null as unknown as string, "example.org"),
      TypeError,
    );
    assert.throws(
      () => parseHostMeta("{}", "example.org", { maxTtl: -1 }),
      RangeError,
    );
    assert.throws(
      () => parseHostMeta("{}", "example.org", { maxTtl: 1.5 }),
      TypeError,
    );
  });
});

Deno.test("parseHostMeta: unknown rels, web links and duplicates", async (t) => {
  await t.step("unknown rels are ignored with a reason", () => {
    const hm = parseHostMeta(
      doc([
        {
          rel: "urn:xmpp:alt-connections:httppoll",
          href: "https://x.example/",
        },
        { rel: "urn:xmpp:alt-connections:future", port: "whatever" },
        { rel: "http://webfinger.net/rel/profile-page", href: "https://x/" },
        endpoint(TLS),
      ]),
      "example.org",
    );
    assert.deepEqual(hm.ignored, [
      {
        index: 0,
        rel: "urn:xmpp:alt-connections:httppoll",
        reason: "unsupported XMPP connection method",
      },
      {
        index: 1,
        rel: "urn:xmpp:alt-connections:future",
        reason: "unsupported XMPP connection method",
      },
      {
        index: 2,
        rel: "http://webfinger.net/rel/profile-page",
        reason: "not an XMPP connection method",
      },
    ]);
    assert.equal(hm.endpoints.length, 1);
  });

  await t.step("insecure web links are kept and flagged", () => {
    const hm = parseHostMeta(
      doc([
        { rel: WS, href: "ws://example.org/ws" },
        { rel: BOSH, href: "http://example.org/bosh" },
      ], undefined),
      "example.org",
    );
    assert.deepEqual(hm.webLinks.map((l) => l.secure), [false, false]);
  });

  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ["websocket without href", { rel: WS }, "links[0].href", /missing/],
    [
      "websocket with https",
      { rel: WS, href: "https://example.org/ws" },
      "links[0].href",
      /wss: or ws:/,
    ],
    [
      "BOSH with wss",
      { rel: BOSH, href: "wss://example.org/bosh" },
      "links[0].href",
      /https: or http:/,
    ],
    [
      "s2s websocket with ftp",
      { rel: S2S_WS, href: "ftp://example.org/" },
      "links[0].href",
      /wss: or ws:/,
    ],
    ["relative href", { rel: WS, href: "/ws" }, "links[0].href", /not a URL/],
    [
      "websocket with bad ips",
      { rel: WS, href: "wss://example.org/ws", ips: ["x"] },
      "links[0].ips[0]",
      /IPv4 or IPv6/,
    ],
    [
      "websocket with bad priority",
      { rel: WS, href: "wss://example.org/ws", priority: -1 },
      "links[0].priority",
      /0 to 65535/,
    ],
    [
      "BOSH with bad sni",
      { rel: BOSH, href: "https://example.org/bosh", sni: "a b" },
      "links[0].sni",
      /domain name/,
    ],
  ];
  for (const [name, link, path, message] of bad) {
    await t.step(`rejects ${name}`, () => {
      assert.throws(
        () => parseHostMeta(doc([link]), "example.org"),
        (e) => assertHostMetaError(e, "malformed", path, message),
      );
    });
  }

  await t.step("duplicate endpoints: the better one is kept", () => {
    const hm = parseHostMeta(
      doc([
        endpoint(TLS, { priority: 20 }),
        endpoint(QUIC), // same port and ips, another rel: not a duplicate
        endpoint(TLS, { priority: 10, ips: ["2001:db8::1", "192.0.2.1"] }),
        endpoint(TLS, { priority: 10, weight: 1 }),
        endpoint(TLS, { port: 5223 }), // another port: not a duplicate
      ]),
      "example.org",
    );
    assert.deepEqual(hm.endpoints.map((e) => [e.rel, e.index]), [
      [QUIC, 1],
      [TLS, 2],
      [TLS, 4],
    ]);
    assert.deepEqual(hm.ignored, [
      {
        index: 0,
        rel: TLS,
        reason: "duplicate of links[2] (same rel, port and ips)",
      },
      {
        index: 3,
        rel: TLS,
        reason: "duplicate of links[2] (same rel, port and ips)",
      },
    ]);
  });
});

// ---------------------------------------------------------------------------
// hostMetaCandidates

Deno.test("hostMetaCandidates: mapping to Candidate", async (t) => {
  const hm = parseHostMeta(
    doc(
      [
        endpoint(TLS, { port: 5223, priority: 1, weight: 2 }),
        endpoint(QUIC, { priority: 3, weight: 4, ips: ["192.0.2.9"] }),
        endpoint(S2S_TLS, {
          port: 5270,
          sni: "s2s.other.example",
          ips: ["2001:db8::5"],
        }),
        endpoint(S2S_QUIC, { port: 8443 }),
        { rel: WS, href: "wss://example.org/ws" },
      ],
      { ttl: 60, "public-key-pins-sha-256": [PIN_A, PIN_B] },
    ),
    "Example.org",
  );

  await t.step("client", () => {
    const want: Candidate[] = [
      {
        transport: "directtls",
        host: "192.0.2.1",
        port: 5223,
        serverName: "example.org",
        alpn: "xmpp-client",
        priority: 1,
        weight: 2,
        source: "host-meta",
        ips: ["192.0.2.1", "2001:db8::1"],
        pins: [PIN_A, PIN_B],
      },
      {
        transport: "quic",
        host: "192.0.2.9",
        port: 443,
        serverName: "example.org",
        alpn: "xmpp-client",
        priority: 3,
        weight: 4,
        source: "host-meta",
        ips: ["192.0.2.9"],
        pins: [PIN_A, PIN_B],
      },
    ];
    assert.deepEqual(hostMetaCandidates(hm, "client"), want);
  });

  await t.step(
    "server; serverName stays the JID domain whatever sni says",
    () => {
      const cs = hostMetaCandidates(hm, "server");
      assert.deepEqual(
        cs.map((c) => [c.transport, c.host, c.port, c.serverName, c.alpn]),
        [
          ["directtls", "2001:db8::5", 5270, "example.org", "xmpp-server"],
          ["quic", "192.0.2.1", 8443, "example.org", "xmpp-server"],
        ],
      );
    },
  );

  await t.step("no pins: no pins field", () => {
    const plain = parseHostMeta(doc([endpoint(TLS)]), "example.org");
    assert.ok(!("pins" in hostMetaCandidates(plain, "client")[0]));
  });

  await t.step("candidates are copies", () => {
    const [c] = hostMetaCandidates(hm, "client");
    c.ips!.push("198.51.100.1");
    c.pins!.pop();
    assert.equal(hm.endpoints[0].ips.length, 2);
    assert.equal(hm.xmpp!.pins.length, 2);
  });

  await t.step("a bad kind is a TypeError", () => {
    assert.throws(
      () => hostMetaCandidates(hm, "component" as "client"),
      {
        name: "TypeError",
        message: 'stream kind must be "client" or "server", got component',
      },
    );
  });
});

// ---------------------------------------------------------------------------
// mergeHostMeta

/** A seeded PRNG (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cand(over: Partial<Candidate>): Candidate {
  return {
    transport: "directtls",
    host: "192.0.2.1",
    port: 443,
    serverName: "example.org",
    alpn: "xmpp-client",
    priority: 0,
    weight: 0,
    source: "host-meta",
    ...over,
  };
}

Deno.test("mergeHostMeta: XEP-0487 §2.2", async (t) => {
  const srv = [
    cand({
      transport: "directtls",
      host: "xmpp.example.org",
      port: 5223,
      priority: 20,
      source: "srv",
    }),
    cand({
      transport: "starttls",
      host: "xmpp.example.org",
      port: 5222,
      priority: 10,
      source: "srv",
    }),
  ];
  const hm = [
    cand({ transport: "quic", priority: 20, weight: 1 }),
    cand({ transport: "directtls", priority: 10, weight: 1 }),
    cand({ transport: "directtls", port: 5223, priority: 10, weight: 3 }),
  ];

  await t.step("no host-meta candidates: SRV in RFC 2782 order", () => {
    const out = mergeHostMeta(srv, []);
    assert.deepEqual(out, [srv[1], srv[0]]);
  });

  await t.step("host-meta candidates replace SRV, in RFC 2782 order", () => {
    const out = mergeHostMeta(srv, hm, { random: seeded(3) });
    assert.equal(out.length, 3);
    assert.ok(out.every((c) => c.source === "host-meta"));
    assert.deepEqual(out.map((c) => c.priority), [10, 10, 20]);
  });

  await t.step("keepSrv appends SRV after host-meta", () => {
    const out = mergeHostMeta(srv, hm, { keepSrv: true, random: seeded(3) });
    assert.deepEqual(out.map((c) => c.source), [
      "host-meta",
      "host-meta",
      "host-meta",
      "srv",
      "srv",
    ]);
    assert.deepEqual(out.slice(3), [srv[1], srv[0]]);
  });

  await t.step("within a priority the draw follows the weights", () => {
    const random = seeded(11);
    let heavyFirst = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      if (mergeHostMeta([], hm, { random })[0].port === 5223) heavyFirst++;
    }
    // weight 3 vs 1: the heavy one is first with chance 3/5 (draw in [0, 4],
    // weight 1 takes draws 0 and 1 when it comes first in the running sum).
    const share = heavyFirst / n;
    assert.ok(share > 0.55 && share < 0.65, `share ${share}`);
  });

  await t.step("same seed, same order", () => {
    assert.deepEqual(
      mergeHostMeta(srv, hm, { random: seeded(5) }),
      mergeHostMeta(srv, hm, { random: seeded(5) }),
    );
  });

  await t.step("a custom order is used", () => {
    const out = mergeHostMeta(srv, hm, {
      order: (cs) => cs.filter((c) => c.transport === "quic"),
    });
    assert.deepEqual(out.map((c) => c.transport), ["quic"]);
  });

  await t.step("inputs are not modified", () => {
    const copy = structuredClone(hm);
    mergeHostMeta(srv, hm);
    assert.deepEqual(hm, copy);
  });

  await t.step("bad arguments are TypeErrors", () => {
    assert.throws(
      () => mergeHostMeta(null as unknown as Candidate[], hm),
      TypeError,
    );
    assert.throws(
      () => mergeHostMeta(srv, {} as unknown as Candidate[]),
      TypeError,
    );
    assert.throws(() => mergeHostMeta(srv, srv), {
      name: "TypeError",
      message: 'hostMeta candidates must have source "host-meta", got "srv"',
    });
    assert.throws(
      () => mergeHostMeta(srv, hm, { random: 1 as unknown as () => number }),
      TypeError,
    );
    assert.throws(
      () =>
        mergeHostMeta(srv, hm, {
          order: "x" as unknown as (c: Candidate[]) => Candidate[],
        }),
      TypeError,
    );
  });
});

// ---------------------------------------------------------------------------
// spkiSha256

function pemToDer(pem: string): Uint8Array {
  const b64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(
    /\s+/g,
    "",
  );
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

Deno.test("spkiSha256: matches openssl on the test certificates", async (t) => {
  // Computed once with:
  //   openssl x509 -in tests/testdata/<name>.pem -pubkey -noout |
  //     openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
  const expected: [string, string][] = [
    ["ca.pem", "EX6qk358UseMAVL36CYQpDSGUyqn3JMPhObyeU36ZU8="],
    ["localhost.pem", "ILDwt8oWhnhkgBktXsgukakkjoLUn1NZ8DovBHW9jlo="],
    ["other.test.pem", "6zlC2fEdIiPHPAjhvppVWe1MPPOj6E4Oh2pyD2xdpks="],
    ["target.test.pem", "tdCUp21KDyODvIYCjLg+KiIGxMRifupihqiw9iLWdcU="],
  ];
  for (const [name, pin] of expected) {
    await t.step(name, async () => {
      assert.equal(await spkiSha256(pemToDer(await readTestdata(name))), pin);
    });
  }

  await t.step("EC P-256 and v1 Ed25519 certificates", async () => {
    // Made with `openssl req -x509 -new -key <P-256 key> -subj /CN=ec.test`
    // and (v1, no extensions) `openssl x509 -req -signkey <Ed25519 key>`;
    // pins by the same openssl pipeline as above.
    const ec = `
MIIBeTCCAR+gAwIBAgIUVoPS9EclX9OuCT6PcQMbTQafRPUwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHZWMudGVzdDAeFw0yNjExMjIwMzM4MzBaFw0zNjExMTkwMzM4
MzBaMBIxEDAOBgNVBAMMB2VjLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAQnikGKFienK7biqUAC1bAQUfK2Gi2JZ38iC7Nn8uYk6ymIRASrsNghItW+ykbw
nWGS00ybkPcWHHAcZV5aGxS6o1MwUTAdBgNVHQ4EFgQUnlIvqX3ruzjmQ+wbtHU1
quHn2rQwHwYDVR0jBBgwFoAUnlIvqX3ruzjmQ+wbtHU1quHn2rQwDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBRF8ulll089zC/1Y7iAb21WxfZM8q3
dtw+2hjOZawmHQIhALC3JMjsVuKJ2LQ5QsyihydxCd5wD/ZZ2podgkTR+GSA`;
    const ed = `
MIHKMH4CAQEwBQYDK2VwMBIxEDAOBgNVBAMMB3YxLnRlc3QwHhcNMjYxMTIyMDMz
ODMwWhcNMzYxMTE5MDMzODMwWjASMRAwDgYDVQQDDAd2MS50ZXN0MCowBQYDK2Vw
AyEAqABhRiODba5wzDg1jZb9XMSLSDsHI126xR+kjxAPHYkwBQYDK2VwA0EAhYBh
qbxmOG3KgOKFdpUHNd66k5FuXNxJ5g5ZAqe5rdgGiJj/4+U54dxgW6aDoAzdR4OC
FFsLPTGf8xLSm5HZCg==`;
    assert.equal(
      await spkiSha256(pemToDer(ec)),
      "oIxNXypZOpjlJCxjebPolgGRuhy7lyMeLj4wmeW+KZM=",
    );
    assert.equal(
      await spkiSha256(pemToDer(ed)),
      "FPa57vISZfcmtjsT9hBrqR+KfzjCd5AFaZ7telBeoGY=",
    );
  });

  await t.step("a pin from host-meta parses and matches", async () => {
    const pin = await spkiSha256(pemToDer(await readTestdata("localhost.pem")));
    const hm = parseHostMeta(
      doc([endpoint(TLS)], { ttl: 1, "public-key-pins-sha-256": [pin] }),
      "localhost",
    );
    assert.deepEqual(hostMetaCandidates(hm, "client")[0].pins, [pin]);
  });

  await t.step("malformed input is a TypeError", async () => {
    const der = pemToDer(await readTestdata("localhost.pem"));
    for (
      const bad of [
        new Uint8Array(),
        der.subarray(0, der.length - 1),
        new Uint8Array([...der, 0]),
      ]
    ) {
      await assert.rejects(spkiSha256(bad), TypeError);
    }
    await assert.rejects(
      spkiSha256("MIIB" as unknown as Uint8Array),
      TypeError,
    );
  });
});

// ---------------------------------------------------------------------------
// fetchHostMeta with an injected fetch

const GOOD_DOC = doc([endpoint(TLS), endpoint(S2S_QUIC)]);

/** A fetch that answers with `respond` and records requests. */
function fakeFetch(
  respond: (url: URL, init: RequestInit) => Response | Promise<Response>,
) {
  const calls: { url: URL; init: RequestInit }[] = [];
  const fn = ((input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : input);
    calls.push({ url, init });
    return Promise.resolve(respond(url, init));
  }) as typeof fetch;
  return { fn, calls };
}

Deno.test("fetchHostMeta: request and response handling", async (t) => {
  await t.step(
    "fetches https://<A-label>/.well-known/host-meta.json",
    async () => {
      const f = fakeFetch(() =>
        new Response(GOOD_DOC, { headers: { "content-type": "text/html" } })
      );
      const hm = await fetchHostMeta("Bücher.Example", { fetch: f.fn });
      assert.equal(f.calls.length, 1);
      assert.equal(
        f.calls[0].url.href,
        "https://xn--bcher-kva.example/.well-known/host-meta.json",
      );
      assert.equal(f.calls[0].init.redirect, "manual");
      assert.ok(f.calls[0].init.signal instanceof AbortSignal);
      assert.equal(hm.domain, "xn--bcher-kva.example");
      assert.equal(hm.endpoints.length, 2);
    },
  );

  await t.step("the port option (test/advanced use)", async () => {
    const f = fakeFetch(() => new Response(GOOD_DOC));
    await fetchHostMeta("example.org", { fetch: f.fn, port: 8443 });
    assert.equal(
      f.calls[0].url.href,
      "https://example.org:8443/.well-known/host-meta.json",
    );
    assert.equal(
      hostMetaUrl("example.org").href,
      "https://example.org/.well-known/host-meta.json",
    );
  });

  await t.step(
    "Content-Type is not trusted: a bad body fails whatever it says",
    async () => {
      const f = fakeFetch(() =>
        new Response("<XRD/>", {
          headers: { "content-type": "application/json" },
        })
      );
      await assert.rejects(
        fetchHostMeta("example.org", { fetch: f.fn }),
        (e) => assertHostMetaError(e, "malformed", "the document", /not JSON/),
      );
    },
  );

  await t.step("invalid UTF-8 is malformed", async () => {
    const f = fakeFetch(() => new Response(new Uint8Array([0x7b, 0xff, 0x7d])));
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: f.fn }),
      (e) => assertHostMetaError(e, "malformed", "the document", /not UTF-8/),
    );
  });

  for (const status of [204, 404, 500, 304]) {
    await t.step(`HTTP ${status} is an http-status error`, async () => {
      const f = fakeFetch(() =>
        new Response(status === 204 || status === 304 ? null : "nope", {
          status,
        })
      );
      await assert.rejects(
        fetchHostMeta("example.org", { fetch: f.fn }),
        (e) => {
          assertHostMetaError(
            e,
            "http-status",
            undefined,
            new RegExp(`HTTP ${status}`),
          );
          assert.equal((e as HostMetaError).status, status);
          assert.equal((e as HostMetaError).domain, "example.org");
          return true;
        },
      );
    });
  }

  await t.step(
    "a network failure is a network error with its cause",
    async () => {
      const cause = new TypeError("connection refused");
      const fn = (() => Promise.reject(cause)) as typeof fetch;
      await assert.rejects(fetchHostMeta("example.org", { fetch: fn }), (e) => {
        assertHostMetaError(e, "network", undefined, /connection refused/);
        assert.equal((e as Error).cause, cause);
        return true;
      });
    },
  );

  await t.step("bad options are TypeError/RangeError", async () => {
    const f = fakeFetch(() => new Response(GOOD_DOC));
    const cases: [Parameters<typeof fetchHostMeta>[1], ErrorConstructor][] = [
      [{ timeout: 0 }, RangeError],
      [{ timeout: -1 }, RangeError],
      [{ timeout: NaN }, RangeError],
      [{ maxBytes: 0 }, RangeError],
      [{ maxBytes: 1.5 }, TypeError],
      [{ maxBytes: 17 * 1024 * 1024 }, RangeError],
      [{ maxRedirects: -1 }, RangeError],
      [{ maxRedirects: 11 }, RangeError],
      [{ port: 0 }, RangeError],
      [{ port: 65536 }, RangeError],
      [{ port: "443" as unknown as number }, TypeError],
      [{ maxTtl: -5 }, RangeError],
      [{ fetch: "nope" as unknown as typeof fetch }, TypeError],
      [{ caCerts: "pem" as unknown as string[] }, TypeError],
    ];
    for (const [options, type] of cases) {
      await assert.rejects(
        fetchHostMeta("example.org", { fetch: f.fn, ...options }),
        type,
      );
    }
    await assert.rejects(
      fetchHostMeta("http://example.org", { fetch: f.fn }),
      TypeError,
    );
    await assert.rejects(
      fetchHostMeta("127.0.0.1", { fetch: f.fn }),
      TypeError,
    );
    assert.equal(f.calls.length, 0);
  });
});

Deno.test("fetchHostMeta: HTTPS only, redirects", async (t) => {
  const redirect = (location: string, status = 302) =>
    new Response(null, { status, headers: { location } });

  await t.step("a redirect to http: is refused", async () => {
    const f = fakeFetch(() =>
      redirect("http://example.org/.well-known/host-meta.json", 301)
    );
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: f.fn }),
      (e) =>
        assertHostMetaError(
          e,
          "redirect",
          undefined,
          /to http:\/\/example\.org.*not HTTPS/,
        ),
    );
    assert.equal(f.calls.length, 1);
  });

  await t.step("a redirect to another host is refused", async () => {
    for (
      const to of [
        "https://evil.example/host-meta.json",
        "https://example.org:8443/x",
        "//evil.example/x",
      ]
    ) {
      const f = fakeFetch(() => redirect(to));
      await assert.rejects(
        fetchHostMeta("example.org", { fetch: f.fn }),
        (e) => assertHostMetaError(e, "redirect", undefined, /another host/),
      );
    }
  });

  await t.step("a redirect without Location is refused", async () => {
    const f = fakeFetch(() => new Response(null, { status: 307 }));
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: f.fn }),
      (e) => assertHostMetaError(e, "redirect", undefined, /no valid Location/),
    );
  });

  await t.step(
    "same-host HTTPS redirects are followed, relative too",
    async () => {
      const f = fakeFetch((url) => {
        if (url.pathname === "/.well-known/host-meta.json") {
          return redirect("/hm.json", 308);
        }
        if (url.pathname === "/hm.json") {
          return redirect("https://example.org/final.json", 301);
        }
        return new Response(GOOD_DOC);
      });
      const hm = await fetchHostMeta("example.org", { fetch: f.fn });
      assert.equal(hm.endpoints.length, 2);
      assert.deepEqual(f.calls.map((c) => c.url.pathname), [
        "/.well-known/host-meta.json",
        "/hm.json",
        "/final.json",
      ]);
    },
  );

  await t.step("more than maxRedirects is refused", async () => {
    const f = fakeFetch((url) => redirect(`${url.pathname}x`));
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: f.fn, maxRedirects: 2 }),
      (e) =>
        assertHostMetaError(e, "redirect", undefined, /more than 2 redirects/),
    );
    assert.equal(f.calls.length, 3);
    const g = fakeFetch(() => redirect("/other"));
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: g.fn, maxRedirects: 0 }),
      (e) => assertHostMetaError(e, "redirect"),
    );
  });

  await t.step(
    "a response whose final URL is http: or another host is refused",
    async () => {
      for (
        const final of [
          "http://example.org/.well-known/host-meta.json",
          "https://cdn.example/x",
        ]
      ) {
        const fn = (() => {
          const res = new Response(GOOD_DOC);
          Object.defineProperty(res, "url", { value: final });
          return Promise.resolve(res);
        }) as typeof fetch;
        await assert.rejects(
          fetchHostMeta("example.org", { fetch: fn }),
          (e) => assertHostMetaError(e, "redirect", undefined, /came from/),
        );
      }
    },
  );
});

/** A body that streams `chunk` forever (or `count` times), recording cancel. */
function endless(chunk: Uint8Array, count = Infinity) {
  const state = { sent: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.sent >= count) return controller.close();
      state.sent++;
      controller.enqueue(chunk);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { body, state };
}

Deno.test("fetchHostMeta: size limit, timeout, abort", async (t) => {
  await t.step("a body streaming past maxBytes is cut off", async () => {
    const { body, state } = endless(new Uint8Array(1024).fill(0x20));
    const f = fakeFetch(() => new Response(body));
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: f.fn, maxBytes: 8 * 1024 }),
      (e) =>
        assertHostMetaError(
          e,
          "too-large",
          undefined,
          /larger than 8192 bytes \(cut off while reading\)/,
        ),
    );
    assert.ok(state.cancelled, "the body was cancelled");
    assert.ok(
      state.sent <= 10,
      `read only about the limit, sent ${state.sent} KiB`,
    );
  });

  await t.step("the default limit is 64 KiB", async () => {
    const pad = " ".repeat(64 * 1024 - 2);
    const ok = fakeFetch(() => new Response(`{${pad}}`));
    assert.equal(
      (await fetchHostMeta("example.org", { fetch: ok.fn })).endpoints.length,
      0,
    );
    const big = fakeFetch(() => new Response(`{${pad} }`));
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: big.fn }),
      (e) => assertHostMetaError(e, "too-large", undefined, /65536/),
    );
  });

  await t.step(
    "a Content-Length over the limit is refused before reading",
    async () => {
      const { body, state } = endless(new Uint8Array(16));
      const f = fakeFetch(() =>
        new Response(body, { headers: { "content-length": "100000" } })
      );
      await assert.rejects(
        fetchHostMeta("example.org", { fetch: f.fn }),
        (e) =>
          assertHostMetaError(
            e,
            "too-large",
            undefined,
            /Content-Length 100000/,
          ),
      );
      assert.ok(state.cancelled);
      assert.ok(state.sent <= 1);
    },
  );

  /** A fetch whose body never ends until aborted. */
  const stalling = () => {
    let cancelled = false;
    const fn = ((_input: unknown, init: RequestInit = {}) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("{"));
          init.signal?.addEventListener(
            "abort",
            () => controller.error(init.signal!.reason),
          );
        },
        cancel() {
          cancelled = true;
        },
      });
      return Promise.resolve(new Response(body));
    }) as typeof fetch;
    return { fn, cancelled: () => cancelled };
  };

  await t.step("a stalled body times out", async () => {
    const s = stalling();
    const started = performance.now();
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: s.fn, timeout: 50 }),
      (e) => assertHostMetaError(e, "timeout", undefined, /within 50 ms/),
    );
    assert.ok(performance.now() - started < 2000);
  });

  await t.step("a fetch that never answers times out", async () => {
    const fn = ((_input: unknown, init: RequestInit = {}) =>
      new Promise((_, reject) => {
        init.signal?.addEventListener("abort", () =>
          reject(init.signal!.reason));
      })) as typeof fetch;
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: fn, timeout: 30 }),
      (e) =>
        assertHostMetaError(e, "timeout"),
    );
  });

  await t.step("the caller's signal aborts with its reason", async () => {
    const s = stalling();
    const controller = new AbortController();
    const reason = new Error("user gave up");
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(
      fetchHostMeta("example.org", { fetch: s.fn, signal: controller.signal }),
      (e) => e === reason,
    );
  });

  await t.step(
    "an already-aborted signal rejects before fetching",
    async () => {
      const f = fakeFetch(() => new Response(GOOD_DOC));
      const reason = new DOMException("stop", "AbortError");
      await assert.rejects(
        fetchHostMeta("example.org", {
          fetch: f.fn,
          signal: AbortSignal.abort(reason),
        }),
        (e) => e === reason,
      );
      assert.equal(f.calls.length, 0);
    },
  );
});

// ---------------------------------------------------------------------------
// createHostMetaFetch

Deno.test("createHostMetaFetch: the discovery hook", async (t) => {
  let clock = 1_000_000;
  let answer: () => Response = () => new Response(GOOD_DOC);
  const f = fakeFetch(() => answer());
  const hook = createHostMetaFetch({ fetch: f.fn, now: () => clock });

  await t.step("returns candidates for the kind", async () => {
    const client = await hook("example.org", "client");
    assert.deepEqual(client.map((c) => [c.transport, c.alpn, c.source]), [
      ["directtls", "xmpp-client", "host-meta"],
    ]);
    const server = await hook("example.org", "server");
    assert.deepEqual(server.map((c) => c.transport), ["quic"]);
    assert.equal(f.calls.length, 1, "the second call came from the cache");
  });

  await t.step(
    "refetches after ttl; falls back to the expired copy for one more ttl",
    async () => {
      clock += 3000 * 1000; // ttl 3000 s has passed
      answer = () => new Response("down", { status: 503 });
      const stale = await hook("EXAMPLE.org.", "client");
      assert.equal(stale.length, 1);
      assert.equal(f.calls.length, 2);
      clock += 3000 * 1000; // two ttls: too old to use
      await assert.rejects(
        hook("example.org", "client"),
        (e) => assertHostMetaError(e, "http-status"),
      );
    },
  );

  await t.step(
    "a XEP-0156 document is not cached and gives no candidates",
    async () => {
      answer = () => new Response('{"links":[]}');
      const before = f.calls.length;
      assert.deepEqual(await hook("plain.example", "client"), []);
      assert.deepEqual(await hook("plain.example", "client"), []);
      assert.equal(f.calls.length, before + 2);
    },
  );

  await t.step("cache: false always fetches", async () => {
    const g = fakeFetch(() => new Response(GOOD_DOC));
    const uncached = createHostMetaFetch({ fetch: g.fn, cache: false });
    await uncached("example.org", "client");
    await uncached("example.org", "client");
    assert.equal(g.calls.length, 2);
  });

  await t.step("maxEntries evicts the oldest", async () => {
    const g = fakeFetch(() => new Response(GOOD_DOC));
    const small = createHostMetaFetch({ fetch: g.fn, maxEntries: 1 });
    await small("a.example", "client");
    await small("b.example", "client");
    await small("a.example", "client");
    assert.deepEqual(g.calls.map((c) => c.url.hostname), [
      "a.example",
      "b.example",
      "a.example",
    ]);
  });

  await t.step("the signal is passed on; bad arguments", async () => {
    const reason = new Error("stop");
    await assert.rejects(
      hook("new.example", "client", AbortSignal.abort(reason)),
      (e) => e === reason,
    );
    await assert.rejects(hook("example.org", "bogus" as "client"), TypeError);
    await assert.rejects(hook("not a domain", "client"), TypeError);
    assert.throws(() => createHostMetaFetch({ maxEntries: 0 }), RangeError);
    assert.throws(() => createHostMetaFetch({ timeout: 0 }), RangeError);
    assert.throws(() => createHostMetaFetch({ port: 1.5 }), TypeError);
    assert.throws(() => createHostMetaSource({ maxBytes: -1 }), RangeError);
  });
});

// ---------------------------------------------------------------------------
// createHostMetaSource with discover()

Deno.test("createHostMetaSource: plugged into discover()", async (t) => {
  const zone = {
    "_xmpp-client._tcp.example.org": {
      srv: [{ priority: 0, weight: 0, port: 5222, target: "xmpp.example.org" }],
    },
    "_xmpps-client._tcp.example.org": {
      srv: [{ priority: 0, weight: 0, port: 5223, target: "xmpp.example.org" }],
    },
  };
  const resolver = memoryResolver(zone);
  const served = doc([
    endpoint(TLS, { priority: 5, weight: 0, ips: ["192.0.2.1"] }),
    endpoint(QUIC, { priority: 1, weight: 0, ips: ["192.0.2.1"] }),
  ]);

  await t.step("its type fits discover's hostMeta option", () => {
    const source: HostMetaSource = createHostMetaSource();
    assert.equal(typeof source.fetch, "function");
  });

  await t.step("a Host Meta 2 document replaces SRV", async () => {
    const f = fakeFetch(() => new Response(served));
    const d = await discover("user@Example.org", {
      resolver,
      seed: 1,
      hostMeta: createHostMetaSource({ fetch: f.fn }),
    });
    assert.equal(f.calls[0].url.hostname, "example.org");
    assert.deepEqual(
      d.candidates.map((c) => [c.source, c.transport, c.port]),
      [["host-meta", "quic", 443], ["host-meta", "directtls", 443]],
    );
  });

  await t.step("keepSrv keeps SRV after the host-meta candidates", async () => {
    const f = fakeFetch(() => new Response(served));
    const d = await discover("example.org", {
      resolver,
      seed: 1,
      hostMeta: createHostMetaSource({ fetch: f.fn, keepSrv: true }),
    });
    assert.deepEqual(d.candidates.map((c) => c.source), [
      "host-meta",
      "host-meta",
      "srv",
      "srv",
    ]);
  });

  await t.step("a failed fetch leaves SRV alone", async () => {
    const f = fakeFetch(() => new Response("nope", { status: 404 }));
    const d = await discover("example.org", {
      resolver,
      seed: 1,
      hostMeta: createHostMetaSource({ fetch: f.fn }),
    });
    assert.deepEqual(d.candidates.map((c) => c.source), ["srv", "srv"]);
    assert.equal(d.hostMeta?.status, "error");
    assert.ok(d.hostMeta?.error instanceof HostMetaError);
  });
});

// ---------------------------------------------------------------------------
// End to end against a local HTTPS server

Deno.test("fetchHostMeta: end to end over HTTPS with a test CA", async (t) => {
  const [ca, cert, key] = await Promise.all([
    readTestdata("ca.pem"),
    readTestdata("localhost.pem"),
    readTestdata("localhost.key"),
  ]);
  const pin = await spkiSha256(pemToDer(cert));
  const served = doc(
    [endpoint(TLS, { ips: ["127.0.0.1"], sni: "localhost", port: 5223 })],
    { ttl: 604800, "public-key-pins-sha-256": [pin] },
  );
  const streams: { cancelled: boolean }[] = [];
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", cert, key, onListen() {} },
    (req) => {
      const url = new URL(req.url);
      switch (url.pathname) {
        case "/.well-known/host-meta.json":
          return new Response(served, {
            headers: { "content-type": "application/json" },
          });
        default:
          return new Response("not found", { status: 404 });
      }
    },
  );
  const port = server.addr.port;
  const bigServer = Deno.serve(
    { port: 0, hostname: "127.0.0.1", cert, key, onListen() {} },
    () => {
      const { body, state } = endless(new Uint8Array(4096).fill(0x20));
      streams.push(state);
      return new Response(body);
    },
  );
  const redirectServer = Deno.serve(
    { port: 0, hostname: "127.0.0.1", cert, key, onListen() {} },
    () =>
      new Response(null, {
        status: 301,
        headers: {
          location: `http://localhost:${port}/.well-known/host-meta.json`,
        },
      }),
  );
  try {
    await t.step("fetches, parses and maps", async () => {
      const hm = await fetchHostMeta("localhost", { port, caCerts: [ca] });
      assert.deepEqual(hm.xmpp, {
        ttl: 604800,
        declaredTtl: 604800,
        pins: [pin],
      });
      assert.deepEqual(hostMetaCandidates(hm, "client"), [{
        transport: "directtls",
        host: "127.0.0.1",
        port: 5223,
        serverName: "localhost",
        alpn: "xmpp-client",
        priority: 10,
        weight: 50,
        source: "host-meta",
        ips: ["127.0.0.1"],
        pins: [pin],
      }]);
    });

    await t.step("through the discovery hook", async () => {
      const hook = createHostMetaFetch({ port, caCerts: [ca] });
      const cs = await hook("localhost", "client", AbortSignal.timeout(5000));
      assert.equal(cs.length, 1);
      assert.deepEqual(await hook("localhost", "server"), []);
    });

    await t.step("without the test CA the certificate is refused", async () => {
      await assert.rejects(
        fetchHostMeta("localhost", { port }),
        (e) => assertHostMetaError(e, "network"),
      );
    });

    await t.step("a server streaming past the limit is cut off", async () => {
      await assert.rejects(
        fetchHostMeta("localhost", {
          port: bigServer.addr.port,
          caCerts: [ca],
          maxBytes: 32 * 1024,
        }),
        (e) => assertHostMetaError(e, "too-large", undefined, /cut off/),
      );
      // The server sees the cancellation once the connection goes away.
      for (let i = 0; i < 100 && !streams[0]?.cancelled; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(streams[0]?.cancelled, "server stream cancelled");
    });

    await t.step("a redirect to http: is refused", async () => {
      await assert.rejects(
        fetchHostMeta("localhost", {
          port: redirectServer.addr.port,
          caCerts: [ca],
        }),
        (e) => assertHostMetaError(e, "redirect", undefined, /not HTTPS/),
      );
    });
  } finally {
    await Promise.all([
      server.shutdown(),
      bigServer.shutdown(),
      redirectServer.shutdown(),
    ]);
  }
});
