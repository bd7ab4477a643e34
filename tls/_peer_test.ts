import assert from "node:assert/strict";
import { Duplex as NodeDuplex } from "node:stream";
import tls from "node:tls";
import { memoryPair } from "../stream/memory_duplex.ts";
import { peerCertificate, peerChain, sameBytes } from "./_peer.ts";
import { pemToDer } from "./_x509.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFileSync(new URL(f, dir));

Deno.test("peer: chain and certificate from node:tls", async () => {
  const [a, b] = memoryPair();
  const server = new tls.TLSSocket(NodeDuplex.fromWeb(b as never), {
    isServer: true,
    cert: read("localhost.pem"),
    key: read("localhost.key"),
  } as tls.TLSSocketOptions);
  const client = tls.connect({
    socket: NodeDuplex.fromWeb(a as never),
    servername: "localhost",
    ca: read("ca.pem"),
  });
  await Promise.all([
    new Promise((r) => server.once("secure", r)),
    new Promise((r) => client.once("secureConnect", r)),
  ]);
  const chain = peerChain(client);
  assert.equal(chain.length, 2);
  assert.ok(sameBytes(chain[0], pemToDer(read("localhost.pem"))[0]));
  assert.ok(sameBytes(chain[1], pemToDer(read("ca.pem"))[0]));
  const cert = peerCertificate(client, chain[0])!;
  assert.match(cert.subject!, /CN=localhost/);
  assert.deepEqual(cert.dnsNames, ["localhost", "example.test"]);
  assert.equal(peerCertificate(client, undefined), undefined);
  assert.deepEqual(peerChain(server), []); // no client certificate
  client.destroy();
  server.destroy();
});

Deno.test("peer: sameBytes", () => {
  assert.ok(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!sameBytes(new Uint8Array([1]), new Uint8Array([1, 2])));
});
