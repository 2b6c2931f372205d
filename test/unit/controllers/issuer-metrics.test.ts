/** The issuer metrics: readiness per issuer object, and the bounded outcomes of OCS requests. */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { IssuerMetrics } from "../../../src/controllers/issuer/metrics.ts";
import { outcomeLabel } from "../../../src/controllers/setup.ts";

const samples = async (registry: Registry, prefix: string) =>
  (await registry.metrics()).split("\n").filter((line) => line.startsWith(prefix));

describe("IssuerMetrics", () => {
  it("is 1 while ready, 0 while not, and gone with the issuer", async () => {
    const registry = new Registry();
    const metrics = new IssuerMetrics(registry);
    const ref = { kind: "CredentialIssuer" as const, namespace: "team-a", name: "adh" };
    metrics.observe(ref, true);
    metrics.observe({ kind: "ClusterCredentialIssuer", name: "shared" }, false);
    expect(await samples(registry, "rotor_issuer_ready")).toEqual([
      'rotor_issuer_ready{kind="CredentialIssuer",namespace="team-a",name="adh"} 1',
      'rotor_issuer_ready{kind="ClusterCredentialIssuer",namespace="",name="shared"} 0',
    ]);
    metrics.forget(ref);
    expect(await samples(registry, "rotor_issuer_ready")).toEqual([
      'rotor_issuer_ready{kind="ClusterCredentialIssuer",namespace="",name="shared"} 0',
    ]);
  });
});

describe("outcomeLabel (rotor_issuer_requests_total)", () => {
  it.each([
    ["200", "200"],
    ["503", "503"],
    ["ECONNREFUSED", "ECONNREFUSED"],
    ["UND_ERR_SOCKET", "UND_ERR_SOCKET"],
    ["timeout", "timeout"],
    ["too-large", "too-large"],
    ["getaddrinfo ENOTFOUND adh.example.com", "network-error"],
    ["connect ECONNREFUSED 10.0.0.7:443", "network-error"],
    ["999x", "network-error"],
  ])("%s → %s", (outcome, want) => {
    expect(outcomeLabel(outcome)).toBe(want);
  });
});
