import assert from "node:assert/strict";
import {
  matchesDnsId,
  matchServerIdentity,
  normalizeServerName,
  type PresentedIdentifiers,
  verifyServerIdentity,
} from "./identity.ts";
import { pemToDer } from "./_x509.ts";
import { TlsError } from "./tls_error.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const der = (f: string) => pemToDer(Deno.readTextFileSync(new URL(f, dir)))[0];

Deno.test("identity: DNS-ID matching (RFC 6125 §6.4)", async (t) => {
  const table: [string, string, string, boolean][] = [
    // [case, reference (JID domain), presented DNS-ID, match]
    ["exact", "example.org", "example.org", true],
    ["different name", "example.org", "example.net", false],
    ["case-insensitive", "Example.ORG", "eXample.org", true],
    ["trailing dot on either side", "example.org.", "example.org", true],
    ["subdomain is not the domain", "example.org", "xmpp.example.org", false],
    [
      "IDN: U-label reference, A-label presented",
      "bücher.example",
      "xn--bcher-kva.example",
      true,
    ],
    [
      "IDN: A-label reference, U-label presented",
      "xn--bcher-kva.example",
      "Bücher.example",
      true,
    ],
    ["IDN: different label", "bücher.example", "xn--bcher-kvb.example", false],
    [
      "wildcard covers one leftmost label",
      "chat.example.org",
      "*.example.org",
      true,
    ],
    ["wildcard, case-insensitive", "CHAT.example.org", "*.EXAMPLE.org", true],
    ["wildcard over an IDN label", "bücher.example.org", "*.example.org", true],
    [
      "wildcard does not cover the bare domain",
      "example.org",
      "*.example.org",
      false,
    ],
    [
      "wildcard never covers two labels",
      "a.b.example.org",
      "*.example.org",
      false,
    ],
    ["partial label x*", "chat.example.org", "c*.example.org", false],
    ["partial label *x", "chat.example.org", "*t.example.org", false],
    [
      "partial label in the middle",
      "chat.example.org",
      "ch*t.example.org",
      false,
    ],
    [
      "wildcard not leftmost",
      "chat.xmpp.example.org",
      "chat.*.example.org",
      false,
    ],
    ["two wildcards", "a.b.example.org", "*.*.example.org", false],
    ["wildcard at the TLD", "example.org", "*.org", false],
    ["bare wildcard", "org", "*", false],
    [
      "wildcard label of an A-label form",
      "xn--bcher-kva.example",
      "xn--*.example",
      false,
    ],
    ["empty label", "example.org", "example..org", false],
    ["IP text never a domain", "example.org", "192.0.2.1", false],
  ];
  for (const [name, reference, presented, expected] of table) {
    await t.step(`${name}: ${reference} vs ${presented}`, () => {
      assert.equal(matchesDnsId(reference, presented), expected);
    });
  }
});

Deno.test("identity: identifier types and the CN fallback", async (t) => {
  const table: [string, PresentedIdentifiers, string, string | undefined][] = [
    // [case, presented identifiers, reference, matched type]
    ["DNS-ID", { dnsNames: ["example.org"] }, "example.org", "dns-id"],
    [
      "CN ignored when a SAN is present",
      { dnsNames: ["other.example"], commonNames: ["example.org"] },
      "example.org",
      undefined,
    ],
    [
      "CN ignored with only an IP SAN",
      {
        dnsNames: [],
        ipAddresses: ["192.0.2.1"],
        commonNames: ["example.org"],
      },
      "example.org",
      undefined,
    ],
    [
      "CN ignored when the SAN extension is there but empty of names",
      { dnsNames: [], hasSubjectAltName: true, commonNames: ["example.org"] },
      "example.org",
      undefined,
    ],
    [
      "CN used without any SAN",
      { dnsNames: [], hasSubjectAltName: false, commonNames: ["example.org"] },
      "example.org",
      "cn-id",
    ],
    [
      "CN with the same wildcard rules",
      { dnsNames: [], commonNames: ["*.org"] },
      "example.org",
      undefined,
    ],
    [
      "two CNs are ambiguous",
      { dnsNames: [], commonNames: ["example.org", "other.example"] },
      "example.org",
      undefined,
    ],
    [
      "IP SAN never matches a domain",
      { dnsNames: [], ipAddresses: ["127.0.0.1"] },
      "localhost",
      undefined,
    ],
    [
      "SRV-ID _xmpp-client",
      { dnsNames: [], srvNames: ["_xmpp-client.example.org"] },
      "example.org",
      "srv-id",
    ],
    [
      "SRV-ID _xmpps-client (Direct TLS)",
      { dnsNames: [], srvNames: ["_xmpps-client.example.org"] },
      "example.org",
      "srv-id",
    ],
    [
      "SRV-ID for another service",
      { dnsNames: [], srvNames: ["_xmpp-server.example.org"] },
      "example.org",
      undefined,
    ],
    [
      "SRV-ID with a wildcard",
      { dnsNames: [], srvNames: ["_xmpp-client.*.org"] },
      "example.org",
      undefined,
    ],
    [
      "XmppAddr of the domain",
      { dnsNames: [], xmppAddrs: ["example.org"] },
      "example.org",
      "xmppaddr",
    ],
  ];
  for (const [name, ids, reference, type] of table) {
    await t.step(name, () => {
      assert.equal(matchServerIdentity(ids, reference)?.type, type);
    });
  }
  await t.step("SRV-ID for xmpp-server", () => {
    const ids = { dnsNames: [], srvNames: ["_xmpp-server.example.org"] };
    assert.equal(
      matchServerIdentity(ids, "example.org", { service: "xmpp-server" })?.type,
      "srv-id",
    );
  });
  await t.step("commonName: false never uses the CN (RFC 9525)", () => {
    const ids = { dnsNames: [], commonNames: ["example.org"] };
    assert.equal(
      matchServerIdentity(ids, "example.org", { commonName: false }),
      undefined,
    );
  });
});

Deno.test("identity: the reference must be a domain", async (t) => {
  for (
    const bad of [
      "127.0.0.1",
      "::1",
      "[::1]",
      "",
      "exa mple.org",
      "*.example.org",
    ]
  ) {
    await t.step(JSON.stringify(bad), () => {
      assert.throws(() => normalizeServerName(bad), TypeError);
    });
  }
  await t.step("not a string", () => {
    assert.throws(
      () => normalizeServerName(42 as unknown as string),
      TypeError,
    );
  });
  assert.equal(normalizeServerName("Bücher.Example."), "xn--bcher-kva.example");
});

Deno.test("identity: test certificates", async (t) => {
  await t.step("localhost leaf: DNS-IDs, IP SAN ignored", () => {
    const cert = der("localhost.pem");
    assert.deepEqual(verifyServerIdentity(cert, "localhost"), {
      type: "dns-id",
      presented: "localhost",
    });
    assert.equal(
      verifyServerIdentity(cert, "EXAMPLE.test").presented,
      "example.test",
    );
  });
  await t.step("other.test leaf is refused for example.test", () => {
    assert.throws(
      () => verifyServerIdentity(der("other.test.pem"), "example.test"),
      (e: unknown) => e instanceof TlsError && e.code === "name-mismatch",
    );
  });
  await t.step("target leaf is valid only for the SRV target", () => {
    const cert = der("target.test.pem");
    assert.equal(verifyServerIdentity(cert, "xmpp.target.test").type, "dns-id");
    assert.throws(
      () => verifyServerIdentity(cert, "target.test"),
      (e: unknown) =>
        e instanceof TlsError && e.code === "name-mismatch" &&
        e.serverName === "target.test" &&
        /DNS:xmpp\.target\.test/.test(e.message) &&
        /never the SRV target/.test(e.message),
    );
  });
  await t.step("CA certificate (no SAN): CN fallback", () => {
    // The CN is not a host name, so nothing matches, but it is looked at.
    assert.throws(
      () => verifyServerIdentity(der("ca.pem"), "localhost"),
      (e: unknown) =>
        e instanceof TlsError && /CN=xmpp-transport Test CA/.test(e.message),
    );
  });
});
