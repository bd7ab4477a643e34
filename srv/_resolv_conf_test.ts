import assert from "node:assert/strict";
import { parseResolvConf, systemNameServers } from "./_resolv_conf.ts";

Deno.test("parseResolvConf", async (t) => {
  const table: [string, string, string[]][] = [
    [
      "systemd-resolved stub",
      "# This is /run/systemd/resolve/stub-resolv.conf\n" +
      "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
      ["127.0.0.53"],
    ],
    [
      "in order, IPv4 and IPv6",
      "nameserver 192.0.2.1\nnameserver 2001:db8::53\nnameserver ::1\n",
      ["192.0.2.1", "2001:db8::53", "::1"],
    ],
    [
      "at most 3 (glibc MAXNS)",
      "nameserver 192.0.2.1\nnameserver 192.0.2.2\n" +
      "nameserver 192.0.2.3\nnameserver 192.0.2.4\n",
      ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    ],
    [
      "comments, blank lines, tabs, CRLF, trailing words",
      "; old style\n  # indented\n\nnameserver\t192.0.2.7 # office\r\n" +
      "#nameserver 192.0.2.8\n",
      ["192.0.2.7"],
    ],
    [
      "entries that are not addresses are skipped",
      "nameserver dns.example\nnameserver 999.1.1.1\nnameserver\n" +
      "nameserver fe80::1%eth0\nnameserver 192.0.2.9\n",
      ["192.0.2.9"],
    ],
    [
      "only the keyword nameserver counts",
      "nameservers 192.0.2.1\ndomain example\nNAMESERVER 192.0.2.2\n",
      [],
    ],
    ["empty", "", []],
  ];
  for (const [name, text, want] of table) {
    await t.step(name, () => {
      const got = parseResolvConf(text);
      assert.deepEqual(got.map((s) => s.ipAddr), want);
      for (const s of got) assert.equal(s.port, 53);
    });
  }
});

Deno.test("systemNameServers", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("a readable file", async () => {
      const path = `${dir}/resolv.conf`;
      await Deno.writeTextFile(path, "nameserver 192.0.2.1\n");
      assert.deepEqual(await systemNameServers(path), {
        servers: [{ ipAddr: "192.0.2.1", port: 53 }],
      });
    });
    await t.step("no usable line", async () => {
      const path = `${dir}/empty.conf`;
      await Deno.writeTextFile(path, "search example\n");
      assert.deepEqual(await systemNameServers(path), {
        reason: `${path} has no usable nameserver line`,
      });
    });
    await t.step("missing", async () => {
      const r = await systemNameServers(`${dir}/missing.conf`);
      assert.match(r.reason!, /^cannot read .*missing\.conf/);
    });
    await t.step("a directory", async () => {
      assert.deepEqual(await systemNameServers(dir), {
        reason: `${dir} is not a regular file`,
      });
    });
    await t.step("larger than 64 KiB", async () => {
      const path = `${dir}/big.conf`;
      await Deno.writeTextFile(
        path,
        "nameserver 192.0.2.1\n" + "#".repeat(70_000),
      );
      assert.deepEqual(await systemNameServers(path), {
        reason: `${path} is larger than 65536 bytes`,
      });
    });
    await t.step(
      "without read permission: a reason, never a prompt",
      async () => {
        const path = `${dir}/resolv.conf`;
        const script = `${dir}/probe.ts`;
        const mod = new URL("./_resolv_conf.ts", import.meta.url).href;
        await Deno.writeTextFile(
          script,
          `import { systemNameServers } from ${JSON.stringify(mod)};
console.log(JSON.stringify(await systemNameServers(${JSON.stringify(path)})));
`,
        );
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-prompt", script],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        assert.deepEqual(
          JSON.parse(new TextDecoder().decode(out.stdout)),
          { reason: `no read permission for ${path} (--allow-read)` },
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
