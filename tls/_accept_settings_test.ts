import assert from "node:assert/strict";
import { acceptSettings, checkCertificateKey } from "./_accept_settings.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFileSync(new URL(f, dir));
const LOCALHOST = { cert: read("localhost.pem"), key: read("localhost.key") };

Deno.test("accept settings: defaults and normalisation", async () => {
  const s = acceptSettings({ certificates: { "LocalHost.": LOCALHOST } });
  assert.deepEqual(s.alpn, ["xmpp-client", "xmpp-server"]);
  assert.equal(s.requireAlpn, false);
  assert.equal(s.clientCertificate, "none");
  assert.equal(s.timeout, 10000);
  assert.equal(s.fallback, undefined);
  assert.equal(await s.select("localhost"), LOCALHOST);
  assert.equal(await s.select(null), undefined);
});

Deno.test("accept settings: certificate and key checked", () => {
  assert.equal(checkCertificateKey(LOCALHOST, "x"), LOCALHOST);
  assert.throws(
    () =>
      checkCertificateKey(
        { cert: LOCALHOST.cert, key: read("other.test.key") },
        "x",
      ),
    /does not belong/,
  );
  assert.throws(() => checkCertificateKey(null, "x"), TypeError);
  assert.throws(
    () => acceptSettings({ certificates: {}, alpn: [""] }),
    TypeError,
  );
  assert.throws(
    () => acceptSettings({ certificates: {}, highWaterMark: NaN }),
    RangeError,
  );
  assert.throws(() => acceptSettings(null as never), TypeError);
});
