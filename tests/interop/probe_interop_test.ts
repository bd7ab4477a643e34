/**
 * The probe CLI against real peers: Prosody (Debian) on loopback ports,
 * found through SRV records served by Knot DNS, probed by running
 * `cli/probe.ts --json --nameserver 127.0.0.1:PORT --ca tests/testdata/ca.pem`
 * as a program, and its JSON and exit code checked:
 *
 * - good: SRV for both c2s services pointing at Prosody's STARTTLS and
 *   Direct TLS ports; both candidates secure, the certificate valid;
 * - wrong certificate: Prosody presenting `other.test` for `localhost`;
 *   `certificateValid: false` with the certificate's names, exit code 1;
 * - `.` target: `_xmpp-client` says "no service"; the verdict says so,
 *   exit code 1;
 * - no SRV: the RFC 6120 fallback, `localhost:5222`. When 127.0.0.1:5222 is
 *   free, a TCP relay listens there and forwards to Prosody's STARTTLS port
 *   (the harness picks Prosody's ports itself), so the fallback candidate
 *   is probed for real; otherwise only `--no-connect` is checked (and the
 *   test says so).
 *
 * The zones for `localhost` (Prosody's only VirtualHost) differ per
 * scenario, so each scenario gets its own knotd.
 *
 * Run with `deno task interop`; needs prosody and knot from Debian.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startKnot } from "./_knot.ts";
import { type RunningServer, startProsody, TESTDATA } from "./_servers.ts";

const PROBE = new URL("../../cli/probe.ts", import.meta.url).href;
const CA = `${TESTDATA}ca.pem`;

/** What one run of the CLI gave. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `cli/probe.ts` as a program. */
async function runProbe(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PROBE, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** Run it with `--json` and parse the report. */
async function probeJson(
  nameServer: { ipAddr: string; port: number },
  domain: string,
  extra: string[] = [],
  // deno-lint-ignore no-explicit-any
): Promise<{ code: number; json: any; stderr: string }> {
  const run = await runProbe([
    "--json",
    "--nameserver",
    `${nameServer.ipAddr}:${nameServer.port}`,
    "--ca",
    CA,
    "--timeout",
    "10000",
    ...extra,
    domain,
  ]);
  let json;
  try {
    json = JSON.parse(run.stdout);
  } catch (e) {
    throw new Error(
      `probe printed no JSON (exit ${run.code}): ${e}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
    );
  }
  return { code: run.code, json, stderr: run.stderr };
}

/** SRV for both c2s services of `localhost`, at Prosody's ports. */
function srvZone(srv: RunningServer): string {
  return [
    `_xmpp-client._tcp  SRV 10 5 ${srv.c2sPort} xmpp`,
    `_xmpps-client._tcp SRV 5 7 ${srv.c2sDirectTlsPort} xmpp`,
    `xmpp A 127.0.0.1`,
  ].join("\n");
}

// The harness asks origins[0] for its SOA through Deno.resolveDns, which
// may answer "localhost" itself: put another zone first.
const FIRST_ZONE = { "probe.test": "" };

Deno.test("probe interop: Prosody through SRV from knot (good, no SRV)", async (t) => {
  const srv = await startProsody({ users: {} });
  try {
    await t.step("good: both services, valid certificate", async () => {
      await using knot = await startKnot({
        zones: { ...FIRST_ZONE, localhost: srvZone(srv) },
      });
      const { code, json, stderr } = await probeJson(
        knot.nameServer,
        "localhost",
      );
      assert.equal(code, 0, stderr + JSON.stringify(json, null, 2));
      assert.equal(json.domain, "localhost");
      assert.equal(json.status, "ok");
      assert.equal(json.verdict, "ok: 2 secure candidates");
      assert.equal(json.lookups.starttls.status, "records");
      assert.equal(json.lookups.directTls.status, "records");
      // Direct TLS has the lower priority number, so it comes first.
      const [direct, starttls] = json.candidates;
      assert.deepEqual(
        [
          direct.transport,
          direct.host,
          direct.port,
          direct.priority,
          direct.weight,
        ],
        ["directtls", "xmpp.localhost", srv.c2sDirectTlsPort, 5, 7],
      );
      assert.deepEqual(
        [
          starttls.transport,
          starttls.host,
          starttls.port,
          starttls.priority,
          starttls.weight,
        ],
        ["starttls", "xmpp.localhost", srv.c2sPort, 10, 5],
      );
      for (const c of json.candidates) {
        const r = c.result;
        assert.equal(c.serverName, "localhost");
        assert.equal(c.source, "srv");
        assert.equal(r.ok, true, r.error);
        assert.equal(r.error, null);
        assert.equal(r.certificateValid, true);
        assert.equal(r.identity, "dns-id localhost");
        assert.ok(["TLSv1.2", "TLSv1.3"].includes(r.tlsVersion));
        // Prosody selects no ALPN protocol (see tls/README.md).
        assert.ok(r.alpn === null || r.alpn === "xmpp-client");
        assert.equal(r.sni, "localhost");
        assert.equal(r.address, "127.0.0.1");
        assert.deepEqual(r.certificate.dnsNames, ["localhost", "example.test"]);
        assert.ok(r.certificate.daysLeft > 0);
        assert.ok(r.mechanisms.includes("SCRAM-SHA-1"), r.mechanisms);
        console.log(
          `prosody ${c.transport}: TCP ${r.tcpMs} ms, TLS ${r.tlsMs} ms, ` +
            `${r.tlsVersion} ${r.cipher}, ALPN ${r.alpn}, STARTTLS ${r.starttls}`,
        );
      }
      assert.equal(direct.result.starttls, null);
      assert.equal(starttls.result.starttls, "required");

      // The same for people, shown in the test log.
      const text = await runProbe([
        "--nameserver",
        `${knot.nameServer.ipAddr}:${knot.nameServer.port}`,
        "--ca",
        CA,
        "localhost",
      ]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /Verdict: ok: 2 secure candidates/);
      assert.ok(!text.stdout.includes("\r"), "no progress when piped");
      console.log(text.stdout);
    });

    await t.step("no SRV: the fallback to localhost:5222", async () => {
      await using knot = await startKnot({
        zones: { ...FIRST_ZONE, localhost: "@ A 127.0.0.1" },
      });
      const relay = tryRelay(5222, srv.c2sPort);
      if (relay === undefined) {
        console.log(
          "127.0.0.1:5222 is taken: the fallback candidate is checked " +
            "with --no-connect only",
        );
        const { code, json } = await probeJson(
          knot.nameServer,
          "localhost",
          ["--no-connect"],
        );
        assert.equal(code, 0);
        assert.equal(json.status, "discovered");
        assertFallback(json);
        assert.equal(json.candidates[0].result, null);
        return;
      }
      try {
        const { code, json, stderr } = await probeJson(
          knot.nameServer,
          "localhost",
        );
        assert.equal(code, 0, stderr + JSON.stringify(json, null, 2));
        assert.equal(json.status, "ok");
        assert.equal(json.verdict, "ok: 1 secure candidate");
        assertFallback(json);
        const r = json.candidates[0].result;
        assert.equal(r.ok, true, r.error);
        assert.equal(r.starttls, "required");
        assert.equal(r.certificateValid, true);
        assert.equal(r.address, "127.0.0.1");
        assert.ok(relay.connections > 0);
      } finally {
        await relay.close();
      }
    });
  } finally {
    await srv.stop();
  }
});

// deno-lint-ignore no-explicit-any
function assertFallback(json: any): void {
  assert.equal(json.lookups.starttls.status, "empty");
  assert.equal(json.lookups.directTls.status, "empty");
  assert.equal(json.candidates.length, 1);
  const c = json.candidates[0];
  assert.deepEqual(
    [c.transport, c.host, c.port, c.source, c.priority, c.weight],
    ["starttls", "localhost", 5222, "fallback", 0, 0],
  );
}

Deno.test("probe interop: a certificate for another name", async () => {
  const srv = await startProsody({ users: {}, cert: "other.test" });
  try {
    await using knot = await startKnot({
      zones: { ...FIRST_ZONE, localhost: srvZone(srv) },
    });
    const { code, json, stderr } = await probeJson(
      knot.nameServer,
      "localhost",
    );
    assert.equal(code, 1, stderr);
    assert.equal(json.status, "no-secure-candidate");
    assert.match(json.verdict, /^no secure candidate: all 2 candidates/);
    assert.equal(json.candidates.length, 2);
    for (const c of json.candidates) {
      const r = c.result;
      assert.equal(r.ok, false);
      assert.equal(r.certificateValid, false);
      assert.equal(r.errorCode, "name-mismatch");
      assert.equal(r.failedStep, "tls");
      assert.match(r.error, /not valid for that domain/);
      // Shown with its names, from the inspecting handshake.
      assert.equal(r.inspected, true);
      assert.deepEqual(r.certificate.dnsNames, ["other.test"]);
      assert.match(r.certificate.subject, /CN=other\.test/);
      assert.ok(["TLSv1.2", "TLSv1.3"].includes(r.tlsVersion));
      if (c.transport === "starttls") assert.equal(r.starttls, "required");
    }
  } finally {
    await srv.stop();
  }
});

Deno.test('probe interop: the "." target says there is no service', async () => {
  await using knot = await startKnot({
    zones: { "probe.test": "_xmpp-client._tcp.nosvc SRV 0 0 0 ." },
  });
  const { code, json } = await probeJson(knot.nameServer, "nosvc.probe.test");
  assert.equal(code, 1);
  assert.equal(json.status, "no-service");
  assert.match(json.verdict, /^no service: nosvc\.probe\.test declares/);
  assert.deepEqual(json.candidates, []);
  assert.equal(json.lookups.starttls.status, "unavailable");
  assert.deepEqual(json.lookups.starttls.records, [
    { priority: 0, weight: 0, port: 0, target: "." },
  ]);
  assert.equal(json.lookups.directTls.status, "empty");
});

/** A TCP relay from 127.0.0.1:`from` to 127.0.0.1:`to`. */
interface Relay {
  readonly connections: number;
  close(): Promise<void>;
}

/** Start a relay, or `undefined` if the port is taken. */
function tryRelay(from: number, to: number): Relay | undefined {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: "127.0.0.1", port: from });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return undefined;
    throw e;
  }
  const conns = new Set<Deno.TcpConn>();
  const pipes = new Set<Promise<unknown>>();
  let connections = 0;
  const closeConn = (c: Deno.TcpConn) => {
    if (!conns.delete(c)) return;
    try {
      c.close();
    } catch { /* closed */ }
  };
  const loop = (async () => {
    try {
      for await (const down of listener) {
        connections++;
        conns.add(down);
        const pipe = (async () => {
          let up: Deno.TcpConn | undefined;
          try {
            up = await Deno.connect({ hostname: "127.0.0.1", port: to });
            conns.add(up);
            const copy = async (a: Deno.TcpConn, b: Deno.TcpConn) => {
              const buf = new Uint8Array(16384);
              try {
                for (;;) {
                  const n = await a.read(buf);
                  if (n === null) break;
                  let off = 0;
                  while (off < n) off += await b.write(buf.subarray(off, n));
                }
              } catch { /* closed */ }
              closeConn(a);
              closeConn(b);
            };
            await Promise.all([copy(down, up), copy(up, down)]);
          } finally {
            closeConn(down);
            if (up) closeConn(up);
          }
        })().catch(() => {});
        pipes.add(pipe);
        pipe.finally(() => pipes.delete(pipe));
      }
    } catch { /* closed */ }
  })();
  return {
    get connections() {
      return connections;
    },
    async close() {
      listener.close();
      await loop;
      for (const c of [...conns]) closeConn(c);
      await Promise.all([...pipes]);
    },
  };
}
