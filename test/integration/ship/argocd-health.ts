/**
 * Rotor's Argo CD customizations (integrations/argocd) run as Argo CD runs them — the Lua engine
 * it embeds, its libraries, its conversion of the object to a Lua table, its merge patch for an
 * action (hack/tools/lua) — against real objects in every state, with Rotor as its own process.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { eventually, kubectl, kubectlOk } from "../../support/cluster.ts";
import { getClientCredential } from "../../support/credentials.ts";
import { tool } from "../../support/tools.ts";
import type { GitOpsStates, KubeObject, StateName } from "./gitops-states.ts";

const root = join(import.meta.dirname, "..", "..", "..");
const customizations = join(root, "integrations", "argocd", "resource_customizations", "rotor.dev");
let lua: string;

interface Health {
  status: string;
  message?: string;
}

/** Runs a script on an object as Argo CD does: as a customization from argocd-cm, and built in. */
function run(command: "health" | "discovery" | "action", script: string, object: KubeObject): unknown {
  const outputs = [[], ["--open-libs"]].map((extra) =>
    JSON.parse(
      execFileSync(lua, [command, "--script", join(customizations, script), ...extra], {
        input: JSON.stringify(object),
        encoding: "utf8",
      }),
    ),
  );
  // The script needs no library beyond Argo CD's defaults. (The two runs may straddle a second:
  // the action stamps the time.)
  const timeless = (output: unknown) =>
    JSON.stringify(output).replace(/\d{4}-\d\d-\d\dT[\d:]{8}Z/g, "<time>");
  expect(timeless(outputs[1])).toEqual(timeless(outputs[0]));
  return outputs[0];
}

const health = (kind: string, object: KubeObject) => run("health", `${kind}/health.lua`, object) as Health;
const condition = (object: KubeObject, type: string) =>
  object.status?.conditions?.find((c) => c.type === type);

export function argoCdReads(states: GitOpsStates): void {
  beforeAll(() => {
    lua = tool("lua");
  });

  describe("ClientCredential health", () => {
    const cases: Array<[StateName, string, (object: KubeObject) => string | RegExp]> = [
      ["ready", "Healthy", (o) => condition(o, "Ready")?.message as string],
      ["rolloverPending", "Progressing", (o) => condition(o, "RolledOut")?.message as string],
      ["slotsExhausted", "Degraded", (o) => condition(o, "Rotating")?.message as string],
      ["issuerError", "Degraded", (o) => condition(o, "Ready")?.message as string],
      ["beingDeleted", "Progressing", () => "Pending deletion"],
      ["fresh", "Progressing", () => "waiting for Rotor to reconcile it"],
      [
        "staleGeneration",
        "Progressing",
        () => "waiting for Rotor to observe generation 2 (status is of generation 1)",
      ],
      // Last: it takes rollout.timeout (1m) after the rollover began.
      ["rolloutTimeout", "Degraded", (o) => condition(o, "RolledOut")?.message as string],
    ];
    for (const [state, status, message] of cases) {
      it(`${state} → ${status}`, { timeout: 150_000 }, async () => {
        const object = await states.state(state);
        const result = health("ClientCredential", object);
        console.log(`${state}: ${JSON.stringify(result)}`);
        expect(result.status).toBe(status);
        expect(result.message).toBe(message(object));
      });
    }

    it("the states are what they say they are", async () => {
      const fresh = await states.state("fresh");
      expect(fresh.status?.conditions).toBeUndefined();
      const stale = await states.state("staleGeneration");
      expect(stale.metadata.generation).toBe(2);
      expect(stale.status?.observedGeneration).toBe(1);
      expect(condition(stale, "Ready")?.status).toBe("True");
      const deleting = await states.state("beingDeleted");
      expect(deleting.metadata.deletionTimestamp).toBeDefined();
      expect(deleting.metadata.finalizers).toContain("rotor.dev/finalizer");
      // The current secret still works in these two: Ready stays True, the health says more.
      expect(condition(await states.state("slotsExhausted"), "Ready")?.status).toBe("True");
      expect(condition(await states.state("rolloverPending"), "Ready")?.status).toBe("True");
    });
  });

  describe("issuer health", () => {
    for (const kind of ["CredentialIssuer", "ClusterCredentialIssuer"] as const) {
      it(`${kind}: Ready → Healthy, not Ready → Degraded with its message`, async () => {
        const ready = await states.issuer(kind, true);
        expect(health(kind, ready)).toEqual({
          status: "Healthy",
          message: condition(ready, "Ready")?.message,
        });
        const broken = await states.issuer(kind, false);
        const result = health(kind, broken);
        console.log(`${kind} not Ready: ${JSON.stringify(result)}`);
        expect(result).toEqual({ status: "Degraded", message: condition(broken, "Ready")?.message });
      });
    }
  });

  describe("the action rotate", () => {
    it("is offered, sets rotor.dev/rotate alone, and Rotor rotates when Argo CD's patch is applied", {
      timeout: 90_000,
    }, async () => {
      const before = await states.state("ready");
      const live = states.get("clientcredential", "ready");
      expect(run("discovery", "ClientCredential/actions/discovery.lua", live)).toEqual([
        { name: "rotate", displayName: "Rotate the secret now", iconClass: "fa fa-fw fa-sync-alt" },
      ]);

      const [result] = run("action", "ClientCredential/actions/rotate/action.lua", live) as Array<{
        operation: string;
        patch: { metadata: { annotations: Record<string, string> } };
        statusPatch: unknown;
      }>;
      expect(result?.operation).toBe("patch");
      const value = result?.patch.metadata.annotations["rotor.dev/rotate"] as string;
      expect(value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Math.abs(Date.parse(value) - Date.now())).toBeLessThan(60_000);
      // The merge patch Argo CD sends changes nothing else: not the spec, not the status.
      expect(result?.patch).toEqual({ metadata: { annotations: { "rotor.dev/rotate": value } } });
      expect(result?.statusPatch).toBeNull();

      kubectlOk([
        "-n",
        states.ns.name,
        "patch",
        "clientcredential",
        "ready",
        "--type=merge",
        "-p",
        JSON.stringify(result?.patch),
      ]);
      const rotated = await eventually("Rotor rotates", async () => {
        const cc = await getClientCredential(states.ns.name, "ready");
        return cc?.status?.lastRotateRequest === value &&
          cc.status.currentSecretId !== before.status?.currentSecretId
          ? cc
          : undefined;
      });
      expect(rotated.status?.currentSecretId).toBeDefined();
    });

    it("is disabled on a ClientCredential being deleted", async () => {
      const deleting = await states.state("beingDeleted");
      expect(run("discovery", "ClientCredential/actions/discovery.lua", deleting)).toEqual([
        {
          name: "rotate",
          disabled: true,
          displayName: "Rotate the secret now",
          iconClass: "fa fa-fw fa-sync-alt",
        },
      ]);
    });
  });

  describe("integrations/argocd/argocd-cm.yaml", () => {
    it("is generated from the Lua files (node hack/generate-argocd-cm.ts --check)", () => {
      const check = execFileSync(process.execPath, [join(root, "hack", "generate-argocd-cm.ts"), "--check"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      expect(check).toBe("");
    });

    it("merges into an existing argocd-cm with kubectl patch, keeping its other keys", () => {
      const namespace = `${states.ns.name}-argocd`;
      kubectlOk(["create", "namespace", namespace]);
      try {
        kubectlOk([
          "-n",
          namespace,
          "create",
          "configmap",
          "argocd-cm",
          "--from-literal=url=https://argocd.example",
        ]);
        kubectlOk([
          "-n",
          namespace,
          "patch",
          "configmap",
          "argocd-cm",
          "--patch-file",
          join(root, "integrations", "argocd", "argocd-cm.yaml"),
        ]);
        const data = JSON.parse(kubectlOk(["-n", namespace, "get", "configmap", "argocd-cm", "-o", "json"]))
          .data as Record<string, string>;
        expect(data.url).toBe("https://argocd.example");
        for (const kind of ["ClientCredential", "CredentialIssuer", "ClusterCredentialIssuer"])
          expect(data[`resource.customizations.health.rotor.dev_${kind}`]).toBe(
            readFileSync(join(customizations, kind, "health.lua"), "utf8"),
          );
        // The actions key is YAML of its own, as Argo CD reads it (ResourceActions).
        const actions = parse(data["resource.customizations.actions.rotor.dev_ClientCredential"] as string);
        const script = (path: string) => readFileSync(join(customizations, "ClientCredential", path), "utf8");
        expect(actions).toEqual({
          "discovery.lua": script("actions/discovery.lua"),
          definitions: [{ name: "rotate", "action.lua": script("actions/rotate/action.lua") }],
        });
        expect(parse(data["resource.customizations.ignoreDifferences.apps_Deployment"] as string)).toEqual({
          managedFieldsManagers: ["rotor-restart"],
        });
      } finally {
        kubectl(["delete", "namespace", namespace, "--wait=false"]);
      }
    });
  });
}
