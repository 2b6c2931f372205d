/**
 * Issuers that register a client per secret (OAuth2 registration): the target Secret's
 * client_id is the secret's own id, and versions minted within one second keep their order
 * whatever their (random) ids.
 */
import { describe, expect, it } from "vitest";
import { clientCredentialSpec } from "../../../../src/api/clientcredential.ts";
import type { Version } from "../../../../src/controllers/clientcredential/model.ts";
import {
  desiredTarget,
  desiredVersion,
  loginClientIdOf,
  sortVersions,
} from "../../../../src/controllers/clientcredential/resources.ts";

const owner = { uid: "u-1", name: "svc", namespace: "team" };
const spec = clientCredentialSpec.parse({ description: "d" });
const group = "31974ea5-5e26-4995-b79c-52adf70f7144";
const client = "d35403d4-2d8f-4c31-801c-e5215ce33754";
const content = {
  clientId: group,
  loginClientId: loginClientIdOf(true, client),
  value: "s3cret",
  secretId: client,
  notAfter: "2030-01-01T00:00:00Z",
  tokenUrl: "https://hydra.example.com/oauth2/token",
};
const text = (data: Record<string, string> | undefined, key: string) =>
  Buffer.from(data?.[key] ?? "", "base64").toString("utf8");

describe("a client per secret", () => {
  it("puts the secret's own client id in the target and version Secrets, and groups the version under the ClientCredential's client", () => {
    expect(text(desiredTarget(owner, spec, "svc", content).data, "client_id")).toBe(client);
    const version = desiredVersion(owner, spec, "svc", content, {
      createdAt: "2026-11-28T01:16:18.164Z",
      mintId: "m",
      rotateRequest: undefined,
    });
    expect(text(version.data, "client_id")).toBe(client);
    expect(version.metadata?.annotations?.["rotor.dev/client-id"]).toBe(group);
  });

  it("keeps the ClientCredential's client where the issuer has one client for all secrets", () => {
    expect(loginClientIdOf(false, "17")).toBeUndefined();
    expect(
      text(desiredTarget(owner, spec, "svc", { ...content, loginClientId: undefined }).data, "client_id"),
    ).toBe(group);
  });

  it("orders versions minted in the same second by the millisecond, not by their random ids", () => {
    const version = (secretId: string, createdAt: string) => ({ secretId, createdAt }) as Version;
    const first = version("d35403d4-2d8f-4c31-801c-e5215ce33754", "2026-11-28T01:16:18.164Z");
    const second = version("00b844a3-6202-4f6b-9bd4-f53e1d788e53", "2026-11-28T01:16:18.677Z");
    expect(sortVersions([second, first]).map((v) => v.secretId)).toEqual([first.secretId, second.secretId]);
  });
});
