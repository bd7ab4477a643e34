/**
 * Test certificates for the transport adapter tests: a CA and a leaf
 * (CA:FALSE, SAN `DNS:localhost` and `IP:127.0.0.1`) signed by it. rustls
 * rejects a self-signed CA:TRUE certificate used as a leaf, hence the pair.
 *
 * Loaded from `tests/testdata/` when the files are there, otherwise generated
 * once per process with `openssl` into a temporary directory that is removed
 * again.
 *
 * @module
 */

/**
 * PEM text of the test CA and of the leaf it signed.
 *
 * @example
 * ```ts
 * import type { TestCerts } from "./_test_certs.ts";
 *
 * function serverOptions(c: TestCerts) {
 *   return { cert: c.cert, key: c.key };
 * }
 * console.log(typeof serverOptions); // "function"
 * ```
 */
export interface TestCerts {
  /** The CA certificate, for `ca` / `caCerts`. */
  caCert: string;
  /** The leaf certificate, for a server's `cert`. */
  cert: string;
  /** The leaf's private key (PKCS#8), for a server's `key`. */
  key: string;
}

const TESTDATA = new URL("../tests/testdata/", import.meta.url);

/**
 * File name triples `[ca, leaf cert, leaf key]` looked for in testdata, as
 * `tests/testdata/gen_certs.sh` writes them.
 */
const CANDIDATES: [string, string, string][] = [
  ["ca.pem", "localhost.pem", "localhost.key"],
];

let cached: Promise<TestCerts> | undefined;

/**
 * Load or generate the test CA and leaf.
 *
 * @example
 * ```ts
 * import { testCerts } from "./_test_certs.ts";
 *
 * const { caCert, cert, key } = await testCerts();
 * console.log(caCert.length > 0, cert.length > 0, key.length > 0);
 * ```
 */
export function testCerts(): Promise<TestCerts> {
  cached ??= loadFromTestdata().then((c) => c ?? generate());
  return cached;
}

async function loadFromTestdata(): Promise<TestCerts | null> {
  for (const [ca, leaf, key] of CANDIDATES) {
    try {
      const certs = {
        caCert: await Deno.readTextFile(new URL(ca, TESTDATA)),
        cert: await Deno.readTextFile(new URL(leaf, TESTDATA)),
        key: await Deno.readTextFile(new URL(key, TESTDATA)),
      };
      if (
        certs.caCert.includes("BEGIN CERTIFICATE") &&
        certs.cert.includes("BEGIN CERTIFICATE") &&
        certs.key.includes("PRIVATE KEY")
      ) {
        return certs;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return null;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

async function generate(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "xmpp-transport-certs-" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=xmpp-transport test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl(dir, [
      "req",
      "-new",
      ...ec,
      "-nodes",
      "-keyout",
      "leaf.key",
      "-out",
      "leaf.csr",
      "-subj",
      "/CN=localhost",
    ]);
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      [
        "basicConstraints=critical,CA:FALSE",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth,clientAuth",
        "",
      ].join("\n"),
    );
    const serial = Array.from(
      crypto.getRandomValues(new Uint8Array(8)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      `0x7${serial.slice(1)}`,
      "-days",
      "2",
      "-extfile",
      "leaf.ext",
      "-out",
      "leaf.pem",
    ]);
    return {
      caCert: await Deno.readTextFile(`${dir}/ca.pem`),
      cert: await Deno.readTextFile(`${dir}/leaf.pem`),
      key: await Deno.readTextFile(`${dir}/leaf.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
