import assert from "node:assert/strict";
import { tlsConnect } from "../tls/client.ts";
import { fromConn } from "../stream/conn_duplex.ts";
import type { ServeListen } from "./serve.ts";
import { listenEndpoint } from "./_serve_listeners.ts";

const dir = new URL("../tests/testdata/", import.meta.url);
const read = (f: string) => Deno.readTextFile(new URL(f, dir));
const CA = await read("ca.pem");
const LEAF = {
  cert: await read("localhost.pem"),
  key: await read("localhost.key"),
};
const options = {
  tls: { certificates: { localhost: LEAF } },
  maxHandshakes: 4,
  onTlsError: () => {},
};

Deno.test("listenEndpoint: STARTTLS hands out plain TCP at once", async () => {
  const l = listenEndpoint(
    { transport: "starttls", hostname: "127.0.0.1", port: 0 },
    options,
  );
  try {
    assert.equal(l.addr.transport, "starttls");
    assert.equal(l.addr.hostname, "127.0.0.1");
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: l.addr.port,
    });
    const duplex = await l.accept();
    assert.equal(duplex.info.transport, "tcp");
    assert.equal(duplex.info.secure, false);
    duplex.close();
    conn.close();
  } finally {
    await l.close();
  }
  await assert.rejects(l.accept(), Deno.errors.BadResource);
});

Deno.test("listenEndpoint: Direct TLS hands out connections after the handshake", async () => {
  const l = listenEndpoint(
    { transport: "directtls", hostname: "127.0.0.1", port: 0 },
    options,
  );
  try {
    assert.equal(l.addr.transport, "directtls");
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: l.addr.port,
    });
    const [client, server] = await Promise.all([
      tlsConnect(fromConn(conn), {
        serverName: "localhost",
        ca: CA,
        systemCa: false,
      }),
      l.accept(),
    ]);
    assert.equal(server.info.secure, true);
    assert.equal(server.info.serverName, "localhost");
    client.close();
    server.close();
  } finally {
    await l.close();
  }
});

Deno.test("listenEndpoint: an unknown transport is a TypeError", () => {
  assert.throws(
    () =>
      listenEndpoint(
        { transport: "sctp", port: 0 } as unknown as ServeListen,
        options,
      ),
    /use "starttls", "directtls" or "quic"/,
  );
});
