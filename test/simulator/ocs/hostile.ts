/**
 * What a server does when whoever wrote a CredentialIssuer chose its URL to hurt Rotor rather
 * than to mint secrets: a discovery document that sends secrets to another host, answers that
 * never end (fast or one byte at a time), and lists whose Total-Count and pages never run out.
 * Unlike faults, which a real region produces now and then, these are switched on for every
 * request, so a test can show what Rotor does when they are all it gets.
 */
import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { JSON_TYPE } from "./reply.ts";

export interface Hostility {
  /** The discovery document names this token endpoint instead of the simulator's own. */
  tokenEndpoint: string | undefined;
  /**
   * Every answer (discovery, token, API): `endless` sends JSON-looking bytes as fast as the
   * client reads, `drip` one byte every `dripIntervalMs`; neither ever ends by itself.
   */
  answers: "honest" | "endless" | "drip";
  dripIntervalMs: number;
  /** Secret lists say Total-Count 10^9 and every page is full, however far the client reads. */
  endlessPages: boolean;
}

export const HONEST: Readonly<Hostility> = {
  tokenEndpoint: undefined,
  answers: "honest",
  dripIntervalMs: 500,
  endlessPages: false,
};

export const ENDLESS_TOTAL_COUNT = 1_000_000_000;
const CHUNK = Buffer.alloc(64 * 1024, "[0,");

/**
 * Streams an answer that never ends, until the client hangs up (or the simulator stops).
 * Returns the bytes written.
 */
export async function streamForever(
  response: ServerResponse,
  mode: "endless" | "drip",
  dripIntervalMs: number,
): Promise<number> {
  response.writeHead(200, { "content-type": JSON_TYPE });
  let written = 0;
  const closed = new Promise<void>((resolve) => response.once("close", () => resolve()));
  let open = true;
  void closed.then(() => {
    open = false;
  });
  while (open && !response.destroyed) {
    if (mode === "drip") {
      response.write("[");
      written += 1;
      await Promise.race([sleep(dripIntervalMs), closed]);
    } else {
      written += CHUNK.length;
      // Wait for the client to read what was sent: the kernel's buffers, not ours, fill up.
      if (!response.write(CHUNK))
        await Promise.race([new Promise((resolve) => response.once("drain", resolve)), closed]);
    }
  }
  return written;
}

/** One full page of a list that never ends: `count` secrets from `skip` on. */
export function endlessSecretsPage(url: URL): { headers: Record<string, string>; body: unknown[] } {
  const skip = Number(url.searchParams.get("skip") ?? 0) || 0;
  const count = Math.min(Number(url.searchParams.get("count") ?? 100) || 100, 1000);
  return {
    headers: { "Total-Count": String(ENDLESS_TOTAL_COUNT) },
    body: Array.from({ length: count }, (_, i) => ({
      Id: skip + i + 1,
      Expiration: "2999-01-01T00:00:00Z",
      Expires: true,
      Description: `secret ${skip + i + 1} of ${ENDLESS_TOTAL_COUNT}`,
    })),
  };
}
