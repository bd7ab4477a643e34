import assert from "node:assert/strict";
import { memoryResolver, type MemoryZone } from "../srv/memory_resolver.ts";
import { main, type ProbeCliIo } from "./probe.ts";
import {
  directTlsServer,
  startTlsServer,
  testCertificate,
} from "./_probe_test_servers.ts";

const CA_FILE = new URL("../tests/testdata/ca.pem", import.meta.url).pathname;
const DOMAIN = "example.test";

function capture(over: Partial<ProbeCliIo> = {}) {
  const out = { stdout: "", stderr: "" };
  const io: Partial<ProbeCliIo> = {
    stdout: (t) => out.stdout += t,
    stderr: (t) => out.stderr += t,
    isTerminal: false,
    systemCa: false,
    ...over,
  };
  return { out, io };
}

function zone(starttls: number, directTls: number): MemoryZone {
  return {
    [`_xmpp-client._tcp.${DOMAIN}`]: {
      srv: [{
        priority: 10,
        weight: 0,
        port: starttls,
        target: "xmpp.example.test",
      }],
    },
    [`_xmpps-client._tcp.${DOMAIN}`]: {
      srv: [{
        priority: 5,
        weight: 0,
        port: directTls,
        target: "xmpp.example.test",
      }],
    },
    "xmpp.example.test": { a: ["127.0.0.1"] },
  };
}

Deno.test("main: usage errors exit 2 with a hint on stderr", async () => {
  for (
    const args of [
      [],
      ["--bogus", DOMAIN],
      ["--timeout", "x", DOMAIN],
      ["--ca", "/nonexistent/ca.pem", DOMAIN],
    ]
  ) {
    const { out, io } = capture();
    assert.equal(await main(args, io), 2, args.join(" "));
    assert.match(out.stderr, /^probe: .+\nTry: probe --help\n$/);
    assert.equal(out.stdout, "");
  }
  const { out, io } = capture({
    readTextFile: () => Promise.resolve("not PEM"),
  });
  assert.equal(await main(["--ca", "x.pem", DOMAIN], io), 2);
  assert.match(out.stderr, /--ca x\.pem holds no usable PEM certificate/);
});

Deno.test("main: --help prints the usage and exits 0", async () => {
  const { out, io } = capture();
  assert.equal(await main(["--help"], io), 0);
  assert.match(out.stdout, /^Usage: probe/);
  assert.equal(out.stderr, "");
});

Deno.test("main: --json against good servers exits 0", async () => {
  const cert = testCertificate("localhost");
  await using st = startTlsServer({ cert });
  await using dt = directTlsServer({ cert });
  const { out, io } = capture({
    resolver: memoryResolver(zone(st.port, dt.port)),
    isTerminal: true, // --json: still no progress
  });
  assert.equal(await main(["--json", "--ca", CA_FILE, DOMAIN], io), 0);
  assert.equal(out.stderr, "");
  assert.ok(!/\r/.test(out.stdout) && !out.stdout.includes("\x1b"));
  const json = JSON.parse(out.stdout);
  assert.equal(json.domain, DOMAIN);
  assert.equal(json.verdict, "ok: 2 secure candidates");
  assert.deepEqual(
    json.candidates.map((c: { transport: string }) => c.transport),
    ["directtls", "starttls"],
  );
  for (const c of json.candidates) {
    assert.equal(c.result.ok, true);
    assert.equal(c.result.certificateValid, true);
    assert.equal(c.result.error, null);
    assert.ok(c.result.tlsVersion);
    assert.ok("alpn" in c.result);
  }
});

Deno.test("main: a wrong certificate exits 1 and shows its names", async () => {
  const cert = testCertificate("other.test");
  await using st = startTlsServer({ cert });
  await using dt = directTlsServer({ cert });
  const { out, io } = capture({
    resolver: memoryResolver(zone(st.port, dt.port)),
  });
  assert.equal(await main(["--ca", CA_FILE, DOMAIN], io), 1);
  assert.match(out.stdout, /names: other\.test/);
  assert.match(out.stdout, /NOT valid for example\.test/);
  assert.match(out.stdout, /Verdict: no secure candidate/);
});

Deno.test("main: progress on a terminal, none when piped", async () => {
  const cert = testCertificate("localhost");
  await using st = startTlsServer({ cert });
  await using dt = directTlsServer({ cert });
  const resolver = memoryResolver(zone(st.port, dt.port));
  const tty = capture({ resolver, isTerminal: true, columns: 100 });
  assert.equal(await main(["--ca", CA_FILE, DOMAIN], tty.io), 0);
  assert.ok(
    tty.out.stdout.startsWith("\r\x1b[2Kexample.test: looking up SRV"),
  );
  // The line is erased before the report.
  assert.ok(tty.out.stdout.includes("\r\x1b[2KXMPP client-to-server probe"));
  const piped = capture({ resolver, isTerminal: false });
  assert.equal(await main(["--ca", CA_FILE, DOMAIN], piped.io), 0);
  assert.match(piped.out.stdout, /^XMPP client-to-server probe/);
  assert.ok(
    !/\r/.test(piped.out.stdout) && !piped.out.stdout.includes("\x1b"),
  );
});

Deno.test('main: the "." target exits 1; --no-connect exits 0', async () => {
  const noService = capture({
    resolver: memoryResolver({
      [`_xmpp-client._tcp.${DOMAIN}`]: {
        srv: [{ priority: 0, weight: 0, port: 0, target: "." }],
      },
    }),
  });
  assert.equal(await main(["--json", DOMAIN], noService.io), 1);
  const json = JSON.parse(noService.out.stdout);
  assert.equal(json.status, "no-service");
  assert.match(json.verdict, /^no service/);
  assert.deepEqual(json.candidates, []);

  const discovered = capture({ resolver: memoryResolver({}) });
  assert.equal(
    await main(["--no-connect", "--server", DOMAIN], discovered.io),
    0,
  );
  assert.match(discovered.out.stdout, /server-to-server probe/);
  assert.match(discovered.out.stdout, /_xmpp-server\._tcp\.example\.test/);
  assert.match(discovered.out.stdout, /example\.test:5269/);
});

Deno.test("main: an abort exits 1 with the reason on stderr", async () => {
  const { out, io } = capture({
    resolver: memoryResolver({}),
    signal: AbortSignal.abort(new Error("interrupted")),
  });
  assert.equal(await main([DOMAIN], io), 1);
  assert.equal(out.stderr, "probe: example.test: interrupted\n");
});

Deno.test("cli/probe.ts runs as a program", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./probe.ts", import.meta.url).href, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /^Usage: probe/);
  const bad = await run(["--timeout"]);
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /--timeout needs a value/);
});
