/**
 * The system's name servers from `resolv.conf` (`nameserver` lines), for
 * the wire client of {@linkcode dnsResolver} when no name server is given.
 *
 * Read only when read permission for the file is already granted
 * (`Deno.permissions.querySync`, so no prompt ever appears), only if it is
 * a regular file of at most 64 KiB. Parsing follows glibc: lines starting
 * with `#` or `;` are comments; `nameserver <address>` lines give the
 * servers (port 53) in order, at most 3 (glibc's `MAXNS`); entries that are
 * not an IPv4 or IPv6 address, or have a zone id (`fe80::1%eth0`), are
 * skipped; every other line (`search`, `options`, ...) is ignored. A file
 * without a usable `nameserver` line gives no servers.
 *
 * @example
 * ```ts
 * import { parseResolvConf } from "./_resolv_conf.ts";
 * console.log(parseResolvConf("# local\nnameserver 127.0.0.53\noptions edns0\n"));
 * // [{ ipAddr: "127.0.0.53", port: 53 }]
 * ```
 *
 * @module
 */

import { isIP } from "node:net";
import type { NameServer } from "./_dns_transport.ts";

/** The default path. */
export const RESOLV_CONF = "/etc/resolv.conf";

/** glibc's `MAXNS`: name servers used from the file. */
const MAX_SERVERS = 3;
/** Largest file read. */
const MAX_BYTES = 64 * 1024;

/** The name servers found, or why there are none. */
export type SystemNameServers =
  | { servers: NameServer[]; reason?: undefined }
  | { servers?: undefined; reason: string };

/**
 * The `nameserver` entries of a `resolv.conf` text (see the module
 * documentation for the rules).
 *
 * @example
 * ```ts
 * import { parseResolvConf } from "./_resolv_conf.ts";
 * const text = "nameserver ::1\nnameserver not-an-ip\nnameserver 192.0.2.53 # second\n";
 * console.log(parseResolvConf(text).map((s) => s.ipAddr)); // ["::1", "192.0.2.53"]
 * ```
 *
 * @param text The file's contents.
 * @returns The servers, in order, at most 3.
 */
export function parseResolvConf(text: string): NameServer[] {
  const servers: NameServer[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const [keyword, address] = line.split(/[ \t]+/, 2);
    if (keyword !== "nameserver" || address === undefined) continue;
    if (isIP(address) === 0 || address.includes("%")) continue;
    servers.push({ ipAddr: address, port: 53 });
    if (servers.length === MAX_SERVERS) break;
  }
  return servers;
}

/**
 * Read the system's name servers, if read permission for the file is
 * already granted (never prompts).
 *
 * @example
 * ```ts
 * import { systemNameServers } from "./_resolv_conf.ts";
 * const found = await systemNameServers();
 * console.log(found.servers ?? found.reason);
 * ```
 *
 * @param path The file.
 * @returns `{ servers }` (at least one), or `{ reason }` saying why not.
 */
export async function systemNameServers(
  path: string = RESOLV_CONF,
): Promise<SystemNameServers> {
  let state: string;
  try {
    state = Deno.permissions.querySync({ name: "read", path }).state;
  } catch (e) {
    return { reason: `cannot check read permission for ${path}: ${e}` };
  }
  if (state !== "granted") {
    return { reason: `no read permission for ${path} (--allow-read)` };
  }
  let file: Deno.FsFile | undefined;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return { reason: `${path} is not a regular file` };
    if (info.size > MAX_BYTES) {
      return { reason: `${path} is larger than ${MAX_BYTES} bytes` };
    }
    file = await Deno.open(path);
    const buf = new Uint8Array(MAX_BYTES + 1);
    let got = 0;
    while (got < buf.length) {
      const n = await file.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    if (got > MAX_BYTES) {
      return { reason: `${path} is larger than ${MAX_BYTES} bytes` };
    }
    const text = new TextDecoder().decode(buf.subarray(0, got));
    const servers = parseResolvConf(text);
    if (servers.length === 0) {
      return { reason: `${path} has no usable nameserver line` };
    }
    return { servers };
  } catch (e) {
    return {
      reason: `cannot read ${path}: ${e instanceof Error ? e.message : e}`,
    };
  } finally {
    file?.close();
  }
}
