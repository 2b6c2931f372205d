/**
 * kstatus (sigs.k8s.io/cli-utils, hack/tools/kstatus) reads real Rotor objects in every state as
 * Flux's health checks do: Current only when the object is reconciled and usable, InProgress
 * while Rotor works toward it, Failed while it waits for a person, Terminating while it is
 * deleted. With Rotor as its own process.
 */
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { tool } from "../../support/tools.ts";
import type { GitOpsStates, KubeObject, StateName } from "./gitops-states.ts";

let kstatus: string;

function compute(object: KubeObject): { status: string; message: string } {
  return JSON.parse(execFileSync(kstatus, { input: JSON.stringify(object), encoding: "utf8" }));
}

const condition = (object: KubeObject, type: string) =>
  object.status?.conditions?.find((c) => c.type === type);

export function kstatusReads(states: GitOpsStates): void {
  beforeAll(() => {
    kstatus = tool("kstatus");
  });

  describe("ClientCredential", () => {
    const cases: Array<[StateName, string, (object: KubeObject) => string]> = [
      ["ready", "Current", () => "Resource is Ready"],
      ["rolloverPending", "InProgress", (o) => condition(o, "RolledOut")?.message as string],
      ["slotsExhausted", "Failed", (o) => condition(o, "Rotating")?.message as string],
      ["issuerError", "Failed", (o) => condition(o, "Ready")?.message as string],
      ["beingDeleted", "Terminating", () => "Resource scheduled for deletion"],
      ["fresh", "InProgress", () => "ClientCredential generation is 1, but latest observed generation is -1"],
      [
        "staleGeneration",
        "InProgress",
        () => "ClientCredential generation is 2, but latest observed generation is 1",
      ],
      // Last: it takes rollout.timeout (1m) after the rollover began.
      ["rolloutTimeout", "Failed", (o) => condition(o, "RolledOut")?.message as string],
    ];
    for (const [state, status, message] of cases) {
      it(`${state} → ${status}`, { timeout: 150_000 }, async () => {
        const object = await states.state(state);
        const result = compute(object);
        console.log(`${state}: ${JSON.stringify(result)}`);
        expect(result.status).toBe(status);
        expect(result.message).toBe(message(object));
      });
    }

    it("never has Reconciling and Stalled True together, and neither while they are false", async () => {
      const abnormal = (o: KubeObject) =>
        (o.status?.conditions ?? []).filter((c) => c.type === "Reconciling" || c.type === "Stalled");
      expect(abnormal(await states.state("ready"))).toEqual([]);
      for (const state of ["rolloverPending", "slotsExhausted", "issuerError", "rolloutTimeout"] as const) {
        const found = abnormal(await states.state(state));
        expect(found.map((c) => c.status)).toEqual(["True"]);
      }
    });
  });

  describe("issuers", () => {
    for (const kind of ["CredentialIssuer", "ClusterCredentialIssuer"] as const) {
      it(`${kind}: Ready → Current, not Ready → Failed with its message`, async () => {
        expect(compute(await states.issuer(kind, true))).toMatchObject({ status: "Current" });
        const broken = await states.issuer(kind, false);
        expect(compute(broken)).toMatchObject({
          status: "Failed",
          message: condition(broken, "Ready")?.message,
        });
      });
    }
  });
}
