/**
 * Test helpers shared by the SASL tests (not part of the published module).
 *
 * @module
 */

import type { ClientMechanism, ServerMechanism } from "./mechanism.ts";

/** RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256). */
export const VECTORS = [
  {
    hash: "SHA-1" as const,
    clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
    serverNonce: "3rfcNHYJY1ZVvWVs7j",
    salt: "QSXCR+Q6sek8bf92",
    clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    serverFirst:
      "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    clientFinal:
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
  },
  {
    hash: "SHA-256" as const,
    clientNonce: "rOprNGfwEbeRWgbNEkqO",
    serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
    clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    serverFirst:
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    clientFinal:
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  },
];

const enc = new TextEncoder();
const dec = new TextDecoder();

/** UTF-8 bytes of a string. */
export function b(s: string): Uint8Array {
  return enc.encode(s);
}

/** A string from UTF-8 bytes. */
export function s(bytes: Uint8Array | null): string {
  return bytes === null ? "<null>" : dec.decode(bytes);
}

/**
 * Run a client mechanism against a server mechanism, as the XML layer
 * would, and return the outcome and the messages exchanged.
 */
export async function exchange(
  client: ClientMechanism,
  server: ServerMechanism,
): Promise<{ outcome: unknown; transcript: string[] }> {
  const transcript: string[] = [];
  let data: Uint8Array | null = await client.start();
  transcript.push(`C: ${s(data)}`);
  for (let round = 0; round < 10; round++) {
    const step = await server.step(data);
    if ("challenge" in step) {
      transcript.push(`S: ${s(step.challenge)}`);
      data = await client.challenge(step.challenge);
      transcript.push(`C: ${s(data)}`);
      continue;
    }
    if ("success" in step) {
      transcript.push(`S+: ${s(step.additionalData)}`);
      await client.success(step.additionalData);
      return { outcome: step.success, transcript };
    }
    transcript.push(`S-: ${step.failure}`);
    return { outcome: step, transcript };
  }
  throw new Error("too many rounds");
}
