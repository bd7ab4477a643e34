import assert from "node:assert/strict";
import { memoryPair } from "../stream/memory_duplex.ts";
import { ThrowawayCa } from "./throwaway_ca.ts";
import { tlsAccept, tlsConnect } from "./mod.ts";
import { TlsError } from "./mod.ts";

Deno.test("throwaway CA: its leaves pass the TLS policy, for their names only", async (t) => {
  const ca = await ThrowawayCa.create();
  const leaf = await ca.issue(["example.test"], { ips: ["127.0.0.1"] });
  const handshake = async (serverName: string, trust: string[]) => {
    const [a, b] = memoryPair();
    const server = tlsAccept(b, {
      certificates: { "example.test": leaf },
      unknownServerName: "default",
      defaultCertificate: leaf,
    });
    server.catch(() => {});
    try {
      const client = await tlsConnect(a, {
        serverName,
        ca: trust,
        systemCa: false,
      });
      const s = await server;
      return [client, s] as const;
    } finally {
      server.then((s) => s.close(), () => b.close());
    }
  };
  await t.step("trusted for its name", async () => {
    const [client] = await handshake("example.test", [ca.cert]);
    assert.equal(client.info.secure, true);
    assert.deepEqual(client.info.peerCertificate?.dnsNames, ["example.test"]);
    client.close();
  });
  await t.step("refused for another name", async () => {
    await assert.rejects(
      handshake("other.test", [ca.cert]),
      (e) => e instanceof TlsError && e.code === "name-mismatch",
    );
  });
  await t.step("refused without the CA", async () => {
    const other = await ThrowawayCa.create();
    await assert.rejects(
      handshake("example.test", [other.cert]),
      (e) => e instanceof TlsError && e.code === "untrusted-certificate",
    );
  });
  await t.step("bad arguments", async () => {
    await assert.rejects(ca.issue([]), TypeError);
    await assert.rejects(ca.issue(["bad name"]), TypeError);
    await assert.rejects(ThrowawayCa.create({ days: 0 }), RangeError);
  });
});
