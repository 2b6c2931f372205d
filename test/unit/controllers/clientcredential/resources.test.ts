/** The CA bundle of the token endpoint goes into the target Secret only, under keys.caCert. */
import { describe, expect, it } from "vitest";
import { clientCredentialSpec } from "../../../../src/api/clientcredential.ts";
import {
  cacheSecret,
  digestOf,
  targetInSync,
} from "../../../../src/controllers/clientcredential/cached-secret.ts";
import { desiredTarget, desiredVersion } from "../../../../src/controllers/clientcredential/resources.ts";

const owner = { uid: "u-1", name: "svc", namespace: "team" };
const content = {
  clientId: "c-1",
  value: "s3cret",
  secretId: "7",
  notAfter: "2030-01-01T00:00:00Z",
  tokenUrl: "https://rotor.rotor-system.svc:8443/oauth2/token",
  caBundle: "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n",
};
const text = (data: Record<string, string> | undefined, key: string) =>
  data?.[key] === undefined ? undefined : Buffer.from(data[key] as string, "base64").toString();

describe("the CA bundle in Secrets", () => {
  it("is written to the target Secret as ca.crt by default", () => {
    const target = desiredTarget(owner, clientCredentialSpec.parse({ description: "x" }), "svc", content);
    expect(text(target.data, "ca.crt")).toBe(content.caBundle);
    expect(text(target.data, "token_url")).toBe(content.tokenUrl);
  });

  it("goes under the key spec.keys.caCert names", () => {
    const spec = clientCredentialSpec.parse({ description: "x", keys: { caCert: "trust.pem" } });
    const target = desiredTarget(owner, spec, "svc", content);
    expect(text(target.data, "trust.pem")).toBe(content.caBundle);
    expect(target.data).not.toHaveProperty("ca.crt");
  });

  it("is absent where the issuer has none (OCS, or plain HTTP)", () => {
    const target = desiredTarget(owner, clientCredentialSpec.parse({ description: "x" }), "svc", {
      ...content,
      caBundle: undefined,
    });
    expect(target.data).not.toHaveProperty("ca.crt");
  });

  it("is not kept in the immutable version Secret", () => {
    const version = desiredVersion(owner, clientCredentialSpec.parse({ description: "x" }), "svc", content, {
      createdAt: "2029-01-01T00:00:00Z",
      mintId: "m",
      rotateRequest: undefined,
    });
    expect(version.data).not.toHaveProperty("ca.crt");
    expect(text(version.data, "client_secret")).toBe("s3cret");
  });

  it("makes a target that lacks the current bundle out of sync, so it is repaired", () => {
    const spec = clientCredentialSpec.parse({ description: "x" });
    const valueDigest = digestOf(Buffer.from(content.value).toString("base64"));
    const desired = desiredTarget(owner, spec, "svc", content);
    const stale = cacheSecret(desiredTarget(owner, spec, "svc", { ...content, caBundle: "old" }));
    expect(targetInSync(stale, desired, "client_secret", valueDigest)).toBe(false);
    expect(targetInSync(cacheSecret(desired), desired, "client_secret", valueDigest)).toBe(true);
  });
});

describe("the cache's copy of a Secret", () => {
  const spec = clientCredentialSpec.parse({ description: "x" });
  const cached = cacheSecret(desiredTarget(owner, spec, "svc", content));

  it("keeps a long annotation (anyone's, up to 256 KiB) as a digest, and still sees the target in sync", () => {
    const long = "x".repeat(200_000);
    const templated = clientCredentialSpec.parse({
      description: "x",
      secretTemplate: { annotations: { "team.example/notes": long } },
    });
    const desired = desiredTarget(owner, templated, "svc", content);
    const kept = cacheSecret(desired);
    expect(JSON.stringify(kept).length).toBeLessThan(5_000);
    const valueDigest = digestOf(Buffer.from(content.value).toString("base64"));
    expect(targetInSync(kept, desired, "client_secret", valueDigest)).toBe(true);
    const changed = desiredTarget(owner, templated, "svc", content);
    (changed.metadata?.annotations as Record<string, string>)["team.example/notes"] = `${long}y`;
    expect(targetInSync(cacheSecret(changed), desired, "client_secret", valueDigest)).toBe(false);
  });

  it("keeps no value, only digests that tell values apart", () => {
    expect(JSON.stringify(cached)).not.toContain(content.value);
    expect(JSON.stringify(cached)).not.toContain(Buffer.from(content.value).toString("base64"));
    const other = cacheSecret(desiredTarget(owner, spec, "svc", { ...content, value: "another" }));
    expect(other.digests.client_secret).not.toBe(cached.digests.client_secret);
  });

  it("reads as out of sync when the value differs from the version's", () => {
    const otherDigest = digestOf(Buffer.from("another").toString("base64"));
    expect(
      targetInSync(cached, desiredTarget(owner, spec, "svc", content), "client_secret", otherDigest),
    ).toBe(false);
  });
});
