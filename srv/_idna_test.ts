import assert from "node:assert/strict";
import { hostToALabel, jidDomainToALabel } from "./_idna.ts";

Deno.test("jidDomainToALabel: domains and JIDs", async (t) => {
  const table: [string, string][] = [
    ["example.org", "example.org"],
    ["EXAMPLE.Org", "example.org"],
    ["example.org.", "example.org"],
    ["Bücher.example", "xn--bcher-kva.example"],
    ["faß.de", "xn--fa-hia.de"], // nontransitional UTS #46
    ["日本.jp", "xn--wgv71a.jp"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["localhost", "localhost"],
    ["user@example.org", "example.org"],
    ["user@Bücher.example/phone", "xn--bcher-kva.example"],
    ["example.org/res@with/slash", "example.org"],
    ["a" + ".b".repeat(20), "a" + ".b".repeat(20)],
  ];
  for (const [input, want] of table) {
    await t.step(`${input} -> ${want}`, () => {
      assert.equal(jidDomainToALabel(input), want);
    });
  }
});

Deno.test("jidDomainToALabel: invalid input is a TypeError", async (t) => {
  const table: [string, RegExp][] = [
    ["", /empty/],
    [".", /empty/],
    ["user@", /empty/],
    ["/res", /empty/],
    ["exa mple.org", /not allowed/],
    ["example.org:5222", /not allowed/],
    ["ex%41.org", /not allowed/],
    ["a@b@example.org", /not allowed/],
    ["[::1]", /not allowed/],
    ["xn--zz.org", /not a valid internationalized/],
    ["127.0.0.1", /IP address/],
    ["0x7f.1", /IP address/],
    ["a..b", /label ""/],
    ["-a.org", /label "-a"/],
    ["a_b.org", /label "a_b"/],
    ["x".repeat(64) + ".org", /label/],
    [("x".repeat(60) + ".").repeat(5) + "org", /253/],
  ];
  for (const [input, message] of table) {
    await t.step(JSON.stringify(input).slice(0, 40), () => {
      assert.throws(() => jidDomainToALabel(input), (e: Error) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, message);
        return true;
      });
    });
  }
  await t.step("not a string", () => {
    assert.throws(() => jidDomainToALabel(42 as never), TypeError);
  });
});

Deno.test("hostToALabel: DNS host names to A-labels", async (t) => {
  const table: [string, string][] = [
    ["xmpp.example.org", "xmpp.example.org"],
    ["XMPP.Example.org", "xmpp.example.org"],
    ["xmpp.bücher.example", "xmpp.xn--bcher-kva.example"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["odd_name.example", "odd_name.example"],
    ["bad host ü", "bad host ü"],
  ];
  for (const [input, want] of table) {
    await t.step(`${input} -> ${want}`, () => {
      assert.equal(hostToALabel(input), want);
    });
  }
});
