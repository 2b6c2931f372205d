/**
 * The end state every fault must leave: each ClientCredential Ready, every secret its client
 * holds at the embedded issuer backed by a version Secret (no orphan), within the budget, and
 * its target Secret good for a token.
 */
import { expect } from "vitest";
import { eventually } from "./cluster.ts";
import {
  condition,
  decoded,
  getClientCredential,
  issuerRecord,
  readSecret,
  requestToken,
  versionSecrets,
} from "./credentials.ts";

export async function expectSettled(namespace: string, names: string[], tokenUrl: string): Promise<void> {
  for (const name of names) {
    // Rotations may go on: wait for a moment where issuer and version Secrets agree.
    const { cc, ids, versions } = await eventually(
      `${name} settled`,
      async () => {
        const cc = await getClientCredential(namespace, name);
        const record = await issuerRecord(cc?.status?.clientId as string);
        const versions = (await versionSecrets(namespace, cc?.metadata.uid as string)).map(
          (v) => v.metadata?.annotations?.["rotor.dev/secret-id"],
        );
        const ids = record?.secrets.map((s) => s.id) ?? [];
        const agree = ids.length > 0 && ids.every((id) => versions.includes(id));
        return condition(cc, "Ready")?.status === "True" && agree ? { cc, ids, versions } : undefined;
      },
      120_000,
      500,
    );
    expect(ids.length, `${name}: secrets at the issuer`).toBeLessThanOrEqual(10);
    expect(versions.length).toBeGreaterThanOrEqual(ids.length);
    const target = await readSecret(namespace, name);
    const token = await requestToken(
      `${tokenUrl}/oauth2/token`,
      cc?.status?.clientId as string,
      decoded(target, "client_secret") as string,
    );
    expect(token.status, `${name}: a token with the target's secret`).toBe(200);
  }
}
