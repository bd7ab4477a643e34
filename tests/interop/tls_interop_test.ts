/**
 * The TLS module against real peers on loopback:
 *
 * - the Direct TLS dialer against Prosody's and ejabberd's Direct TLS c2s
 *   ports, up to `<stream:features>` over TLS with `XmlStream` (SNI
 *   `localhost`, the test CA), recording the ALPN protocol, TLS version and
 *   cipher each server negotiates, and the identity check refusing a name the
 *   server's certificate does not carry;
 * - `openssl s_server` / `s_client` as peers that only speak what this side
 *   must refuse: TLS 1.1, TLS 1.2 with CBC or non-ECDHE suites;
 * - Python's `ssl` (OpenSSL) as the reference for `tls-unique`, showing
 *   that Deno's `getFinished()` is not usable for SCRAM `-PLUS`.
 *
 * Run with `deno task interop`; needs prosody, ejabberd and openssl from
 * Debian (see `.ci/run`); python3 is optional.
 *
 * @module
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import type { Candidate } from "../../srv/candidate.ts";
import { XmlStream } from "../../stream/xml_stream.ts";
import { dialDirectTls, listenDirectTls } from "../../tls/direct_tls.ts";
import { TlsError } from "../../tls/tls_error.ts";
import {
  freePorts,
  type RunningServer,
  startEjabberd,
  startProsody,
  testCaCert,
  TESTDATA,
} from "./_servers.ts";

const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";
const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";

function candidate(port: number, over: Partial<Candidate> = {}): Candidate {
  return {
    transport: "directtls",
    host: "127.0.0.1",
    port,
    serverName: "localhost",
    alpn: "xmpp-client",
    priority: 0,
    weight: 0,
    source: "srv",
    ...over,
  };
}

const trust = () => ({ ca: testCaCert(), systemCa: false });

const servers: [string, () => Promise<RunningServer>][] = [
  ["prosody", startProsody],
  ["ejabberd", startEjabberd],
];

for (const [name, start] of servers) {
  Deno.test(`interop ${name}: Direct TLS dialer`, async (t) => {
    const srv = await start();
    try {
      await t.step("reaches <stream:features> over TLS", async () => {
        const duplex = await dialDirectTls(
          candidate(srv.c2sDirectTlsPort),
          trust(),
        );
        const info = duplex.info;
        console.log(
          `${name}: Direct TLS ${info.tlsVersion} ${info.cipher}, ` +
            `ALPN ${JSON.stringify(info.alpn)} (offered "xmpp-client"), ` +
            `certificate ${info.peerCertificate?.subject}`,
        );
        assert.equal(info.secure, true);
        assert.equal(info.serverName, "localhost");
        assert.ok(info.alpn === null || info.alpn === "xmpp-client");
        assert.deepEqual(info.peerCertificate?.dnsNames, [
          "localhost",
          "example.test",
        ]);
        const xs = await XmlStream.open(duplex, {
          to: srv.domain,
          ns: "jabber:client",
        });
        try {
          const features = await xs.readFeatures();
          assert.equal(features.getChild("starttls", TLS_NS), undefined);
          assert.ok(features.getChild("mechanisms", SASL_NS));
        } finally {
          await xs.close();
        }
      });

      await t.step(
        "requireAlpn: accepted only if the server selects ALPN",
        async () => {
          const result = await dialDirectTls(candidate(srv.c2sDirectTlsPort), {
            ...trust(),
            requireAlpn: true,
          }).then((d) => {
            d.close();
            return "accepted";
          }, (e) => e);
          console.log(
            `${name}: requireAlpn -> ${
              result instanceof TlsError ? result.code : result
            }`,
          );
          if (result instanceof TlsError) {
            assert.equal(result.code, "alpn-missing");
          } else assert.equal(result, "accepted");
        },
      );

      await t.step("xmpp-server offered on the c2s port", async () => {
        const result = await dialDirectTls(
          candidate(srv.c2sDirectTlsPort, { alpn: "xmpp-server" }),
          trust(),
        ).then((d) => {
          const alpn = d.info.alpn;
          d.close();
          return `accepted, ALPN ${JSON.stringify(alpn)}`;
        }, (e) => `refused: ${e instanceof TlsError ? e.code : e}`);
        console.log(`${name}: ALPN xmpp-server on the c2s port -> ${result}`);
      });

      await t.step("a JID domain the certificate does not name", async () => {
        await assert.rejects(
          dialDirectTls(
            candidate(srv.c2sDirectTlsPort, { serverName: "other.test" }),
            trust(),
          ),
          (e: unknown) =>
            e instanceof TlsError &&
            (e.code === "name-mismatch" || e.code === "unknown-server-name"),
        );
      });

      await t.step("the STARTTLS port dialled as Direct TLS", async () => {
        const e = await dialDirectTls(candidate(srv.c2sPort), {
          ...trust(),
          timeout: 5000,
        }).then((d) => {
          d.close();
          return undefined;
        }, (e) => e);
        assert.ok(e instanceof TlsError, String(e));
        console.log(
          `${name}: Direct TLS to the STARTTLS port -> ${e.code}: ${e.message}`,
        );
        assert.ok(
          e.code === "handshake-failed" || e.code === "handshake-timeout",
        );
      });

      await t.step("without the test CA", async () => {
        await assert.rejects(
          dialDirectTls(candidate(srv.c2sDirectTlsPort), { systemCa: false }),
          (e: unknown) =>
            e instanceof TlsError && e.code === "untrusted-certificate",
        );
      });
    } catch (e) {
      const log = await srv.readLog();
      console.error(`--- ${name} log (last 60 lines) ---`);
      console.error(log.split("\n").slice(-60).join("\n"));
      throw e;
    } finally {
      await srv.stop();
    }
  });
}

const hasOpenssl = await new Deno.Command("openssl", { args: ["version"] })
  .output().then((o) => o.success, () => false);

/** Run `openssl s_server` until `stop()`; resolves once it accepts TCP. */
async function sServer(args: string[]): Promise<{
  port: number;
  stop(): Promise<void>;
}> {
  const [port] = freePorts(1);
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      TESTDATA + "localhost.pem",
      "-key",
      TESTDATA + "localhost.key",
      "-quiet",
      ...args,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
  };
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { port, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await stop();
  throw new Error("openssl s_server did not start");
}

Deno.test({
  name: "interop openssl: peers outside the policy are refused",
  ignore: !hasOpenssl,
  fn: async (t) => {
    const servers: [string, string[], string][] = [
      [
        "TLS 1.1 server",
        ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        "protocol-version",
      ],
      [
        "TLS 1.0 server",
        ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        "protocol-version",
      ],
      ["TLS 1.2, CBC without ECDHE (AES256-SHA)", [
        "-tls1_2",
        "-cipher",
        "AES256-SHA:@SECLEVEL=0",
      ], "handshake-failed"],
      [
        "TLS 1.2, ECDHE but CBC",
        ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"],
        "handshake-failed",
      ],
      ["TLS 1.2, DHE + GCM", [
        "-tls1_2",
        "-cipher",
        "DHE-RSA-AES128-GCM-SHA256",
      ], "handshake-failed"],
    ];
    for (const [name, args, code] of servers) {
      await t.step(`dialer refuses a ${name}`, async () => {
        const server = await sServer(args);
        try {
          await assert.rejects(
            dialDirectTls(candidate(server.port), trust()),
            (e: unknown) => e instanceof TlsError && e.code === code,
          );
        } finally {
          await server.stop();
        }
      });
    }

    await t.step(
      "dialer accepts a TLS 1.2 ECDHE-GCM openssl server",
      async () => {
        const server = await sServer([
          "-tls1_2",
          "-cipher",
          "ECDHE-RSA-AES128-GCM-SHA256",
        ]);
        try {
          const d = await dialDirectTls(candidate(server.port), trust());
          assert.equal(d.info.tlsVersion, "TLSv1.2");
          assert.equal(d.info.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
          d.close();
        } finally {
          await server.stop();
        }
      },
    );

    for (
      const [name, args] of [["TLS 1.1", ["-tls1_1"]], ["TLS 1.0", ["-tls1"]]]
    ) {
      await t.step(`listener refuses an openssl ${name} client`, async () => {
        const errors: unknown[] = [];
        const listener = listenDirectTls({
          hostname: "127.0.0.1",
          port: 0,
          certificates: {
            localhost: {
              cert: Deno.readTextFileSync(TESTDATA + "localhost.pem"),
              key: Deno.readTextFileSync(TESTDATA + "localhost.key"),
            },
          },
          onError: (e) => errors.push(e),
        });
        try {
          const out = await new Deno.Command("openssl", {
            args: [
              "s_client",
              "-connect",
              `127.0.0.1:${listener.addr.port}`,
              "-servername",
              "localhost",
              ...args,
              "-cipher",
              "DEFAULT:@SECLEVEL=0",
            ],
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(out.success, false, "openssl s_client connected");
          for (let i = 0; i < 50 && errors.length === 0; i++) {
            await new Promise((r) => setTimeout(r, 10));
          }
          assert.equal(errors.length, 1);
          assert.ok(errors[0] instanceof TlsError, String(errors[0]));
          assert.equal((errors[0] as TlsError).code, "protocol-version");
        } finally {
          await listener.close();
        }
      });
    }
  },
});

const hasPython = await new Deno.Command("python3", {
  args: ["-c", "import ssl"],
}).output().then((o) => o.success, () => false);

Deno.test({
  name: "interop python: Deno's getFinished() is not tls-unique",
  ignore: !hasPython,
  fn: async () => {
    // A node:tls server (Deno) and a Python client over TLS 1.2: Python
    // reports tls-unique (the client's Finished verify_data, 12 bytes);
    // Deno's getPeerFinished() on the server should be the same bytes.
    const server = tls.createServer({
      cert: Deno.readTextFileSync(TESTDATA + "localhost.pem"),
      key: Deno.readTextFileSync(TESTDATA + "localhost.key"),
      maxVersion: "TLSv1.2",
    });
    const finished = new Promise<string>((resolve) => {
      server.once("secureConnection", (s: tls.TLSSocket) => {
        resolve(Buffer.from(s.getPeerFinished() ?? []).toString("hex"));
        s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    try {
      const out = await new Deno.Command("python3", {
        args: [
          "-c",
          `
import socket, ssl
ctx = ssl.create_default_context(cafile=${JSON.stringify(TESTDATA + "ca.pem")})
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", ${port})), server_hostname="localhost") as s:
    print(s.get_channel_binding("tls-unique").hex())
`,
        ],
        stdout: "piped",
      }).output();
      const tlsUnique = new TextDecoder().decode(out.stdout).trim();
      const deno = await finished;
      console.log(`tls-unique (Python/OpenSSL): ${tlsUnique}`);
      console.log(`getPeerFinished() (Deno):    ${deno}`);
      assert.equal(tlsUnique.length, 24); // 12 bytes
      // If this starts failing, Deno fixed getFinished(): SCRAM -PLUS with
      // tls-unique becomes possible on TLS 1.2.
      assert.notEqual(deno, tlsUnique);
      assert.equal(
        typeof (tls.TLSSocket.prototype as unknown as Record<string, unknown>)
          .exportKeyingMaterial,
        "undefined",
        "exportKeyingMaterial exists now: tls-exporter may be possible",
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  },
});
