import assert from "node:assert/strict";
import {
  DEFAULT_TIMEOUT_MS,
  parseNameServer,
  parseProbeArgs,
  PROBE_USAGE,
  UsageError,
} from "./_probe_args.ts";

Deno.test("parseProbeArgs: defaults", () => {
  assert.deepEqual(parseProbeArgs(["example.org"]), {
    help: false,
    domain: "example.org",
    json: false,
    nameServer: undefined,
    caFiles: [],
    server: false,
    timeout: DEFAULT_TIMEOUT_MS,
    connect: true,
  });
});

Deno.test("parseProbeArgs: every option, before and after the domain", () => {
  assert.deepEqual(
    parseProbeArgs([
      "--json",
      "--nameserver",
      "127.0.0.1:5353",
      "user@example.org/res",
      "--ca=a.pem",
      "--ca",
      "b.pem",
      "--server",
      "--timeout",
      "2500",
      "--no-connect",
    ]),
    {
      help: false,
      domain: "user@example.org/res",
      json: true,
      nameServer: { ipAddr: "127.0.0.1", port: 5353 },
      caFiles: ["a.pem", "b.pem"],
      server: true,
      timeout: 2500,
      connect: false,
    },
  );
});

Deno.test("parseProbeArgs: help needs no domain", () => {
  assert.equal(parseProbeArgs(["--help"]).help, true);
  assert.equal(parseProbeArgs(["-h", "--json"]).help, true);
  assert.match(PROBE_USAGE, /^Usage: probe \[options\] DOMAIN/);
  for (
    const option of [
      "--json",
      "--nameserver",
      "--ca",
      "--server",
      "--timeout",
      "--no-connect",
      "--help",
    ]
  ) {
    assert.ok(PROBE_USAGE.includes(option), option);
  }
});

Deno.test("parseProbeArgs: -- ends the options", () => {
  assert.equal(parseProbeArgs(["--", "example.org"]).domain, "example.org");
  assert.throws(() => parseProbeArgs(["--", "--json"]), UsageError);
});

Deno.test("parseProbeArgs: usage errors say what is wrong", () => {
  const cases: [string[], RegExp][] = [
    [[], /give the domain/],
    [["a.example", "b.example"], /one domain to probe, not 2/],
    [["--bogus", "example.org"], /unknown option --bogus/],
    [["example.org", "--timeout"], /--timeout needs a value/],
    [["--timeout", "0", "example.org"], /whole number/],
    [["--timeout=1.5", "example.org"], /whole number/],
    [["--timeout", "-5", "example.org"], /whole number|unknown option/],
    [["--timeout", "99999999999", "example.org"], /whole number/],
    [["--json=yes", "example.org"], /--json takes no value/],
    [["--nameserver", "dns.example", "example.org"], /IP address/],
    [["--nameserver", "127.0.0.1:0", "example.org"], /port must be/],
    [["--nameserver", "127.0.0.1:x", "example.org"], /port must be/],
    [["--ca=", "example.org"], /--ca needs a file name/],
    [["not a domain"], /not a domain or JID/],
    [["192.0.2.1"], /not a domain or JID.*IP address/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseProbeArgs(args), (e) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, message, args.join(" "));
      return true;
    });
  }
});

Deno.test("parseNameServer: forms", () => {
  assert.deepEqual(parseNameServer("192.0.2.53"), {
    ipAddr: "192.0.2.53",
    port: 53,
  });
  assert.deepEqual(parseNameServer("192.0.2.53:5353"), {
    ipAddr: "192.0.2.53",
    port: 5353,
  });
  assert.deepEqual(parseNameServer("[2001:db8::53]:5353"), {
    ipAddr: "2001:db8::53",
    port: 5353,
  });
  assert.deepEqual(parseNameServer("[::1]"), { ipAddr: "::1", port: 53 });
  assert.deepEqual(parseNameServer("2001:db8::53"), {
    ipAddr: "2001:db8::53",
    port: 53,
  });
  assert.throws(() => parseNameServer("[::1]:70000"), UsageError);
  assert.throws(() => parseNameServer("[fe80::1%eth0]:53"), UsageError);
  assert.throws(() => parseNameServer(""), UsageError);
});
