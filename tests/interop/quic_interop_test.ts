/**
 * Interop: XMPP over QUIC against a third-party QUIC stack.
 *
 * Debian's `ngtcp2-server` package ships `gtlsserver`, ngtcp2's HTTP/3
 * example server (ngtcp2 + GnuTLS), which offers only the ALPN `h3`. Dialed
 * with `xmpp-client` it must be refused with a clear `alpn-mismatch`
 * `TlsError`, while a plain `h3` QUIC connection to it succeeds (so the
 * refusal is about ALPN, not a broken server or certificate).
 *
 * The server runs on a free loopback UDP port with the test certificate,
 * as a child of the test, and is stopped by PID. Install it with
 * `apt-get install -y ngtcp2-server` (its systemd unit is not needed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { dialQuic } from "../../quic/dial.ts";
import { TlsError } from "../../tls/tls_error.ts";
import { testCaCert, TESTDATA } from "./_servers.ts";

const GTLSSERVER = "/usr/sbin/gtlsserver";
const hasNgtcp2 = await Deno.stat(GTLSSERVER).then(
  (s) => s.isFile,
  () => false,
);

function freeUdpPort(): number {
  const s = Deno.listenDatagram({
    hostname: "127.0.0.1",
    port: 0,
    transport: "udp",
  });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

/** Start gtlsserver; resolves once it completes an `h3` handshake. */
async function startNgtcp2(): Promise<{
  port: number;
  pid: number;
  h3Ms: number;
  stop(): Promise<Deno.CommandStatus>;
}> {
  const port = freeUdpPort();
  const dir = await Deno.makeTempDir({ prefix: "ngtcp2-" });
  const child = new Deno.Command(GTLSSERVER, {
    args: [
      "--quiet",
      "--htdocs",
      dir,
      "--timeout",
      "5s",
      "127.0.0.1",
      String(port),
      TESTDATA + "localhost.key",
      TESTDATA + "localhost.fullchain.pem",
    ],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch { /* exited */ }
    const status = await child.status;
    await Deno.remove(dir, { recursive: true });
    return status;
  };
  const ca = testCaCert();
  for (let i = 0; i < 100; i++) {
    const started = performance.now();
    try {
      const conn = await Deno.connectQuic({
        hostname: "127.0.0.1",
        port,
        serverName: "localhost",
        alpnProtocols: ["h3"],
        caCerts: [ca],
        maxIdleTimeout: 1000,
      });
      const h3Ms = performance.now() - started;
      assert.equal(conn.protocol, "h3");
      conn.close();
      conn.endpoint.close();
      return { port, pid: child.pid, h3Ms, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stop();
  throw new Error(`${GTLSSERVER} did not start on UDP ${port}`);
}

Deno.test({
  name: "interop ngtcp2: an HTTP/3-only QUIC server is refused (ALPN)",
  ignore: !hasNgtcp2,
  async fn(t) {
    const server = await startNgtcp2();
    try {
      console.log(
        `gtlsserver pid ${server.pid} on UDP ${server.port}: h3 handshake in ${
          server.h3Ms.toFixed(1)
        } ms`,
      );
      for (const alpn of ["xmpp-client", "xmpp-server"] as const) {
        await t.step(`${alpn}: TlsError alpn-mismatch`, async () => {
          await assert.rejects(
            dialQuic({
              transport: "quic",
              host: "127.0.0.1",
              port: server.port,
              serverName: "localhost",
              alpn,
              priority: 0,
              weight: 0,
              source: "srv",
            }, { ca: testCaCert(), systemCa: false, timeout: 5000 }),
            (e) => {
              assert.ok(e instanceof TlsError, String(e));
              assert.equal(e.code, "alpn-mismatch");
              assert.equal(e.serverName, "localhost");
              assert.match(e.message, new RegExp(`refused ALPN "${alpn}"`));
              assert.match(e.message, /only "h3"/);
              console.log(`  ${alpn}: ${e.message}`);
              return true;
            },
          );
        });
      }
    } finally {
      const status = await server.stop();
      assert.equal(status.signal, "SIGTERM");
    }
  },
});
