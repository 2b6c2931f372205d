/**
 * Writes integrations/argocd/argocd-cm.yaml from the Lua files under
 * integrations/argocd/resource_customizations (the scripts the tests run), in the keys Argo CD
 * reads from its argocd-cm ConfigMap. With --check, writes nothing and exits 1 when the file
 * differs from what the Lua files generate (test/integration/ship/gitops-health.test.ts runs it).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { GROUP } from "../src/api/group.ts";

const root = join(import.meta.dirname, "..", "integrations", "argocd");
const customizations = join(root, "resource_customizations", GROUP);
const file = join(root, "argocd-cm.yaml");

/** The workloads Rotor restarts by stamping their pod template with its own field manager. */
const RESTARTED_KINDS = ["apps_Deployment", "apps_StatefulSet", "apps_DaemonSet", "argoproj.io_Rollout"];
const RESTART_FIELD_MANAGER = "rotor-restart";

const read = (...path: string[]) => readFileSync(join(customizations, ...path), "utf8");

export function argocdConfigMap(): string {
  const data: Record<string, string> = {};
  for (const kind of readdirSync(customizations).sort()) {
    data[`resource.customizations.health.${GROUP}_${kind}`] = read(kind, "health.lua");
    let actions: string[];
    try {
      actions = readdirSync(join(customizations, kind, "actions"), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
    } catch {
      continue;
    }
    data[`resource.customizations.actions.${GROUP}_${kind}`] = stringify(
      {
        "discovery.lua": read(kind, "actions", "discovery.lua"),
        definitions: actions.map((name) => ({
          name,
          "action.lua": read(kind, "actions", name, "action.lua"),
        })),
      },
      { blockQuote: "literal", lineWidth: 0 },
    );
  }
  for (const kind of RESTARTED_KINDS)
    data[`resource.customizations.ignoreDifferences.${kind}`] = stringify({
      managedFieldsManagers: [RESTART_FIELD_MANAGER],
    });
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "argocd-cm",
      labels: { "app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd" },
    },
    data,
  };
  return (
    "# Rotor's Argo CD resource customizations: health checks for its three kinds, the action\n" +
    "# `rotate` on ClientCredentials, and diffs that ignore Rotor's restart stamp on workloads.\n" +
    "# Merge into Argo CD's argocd-cm (README, GitOps):\n" +
    "#   kubectl -n argocd patch configmap argocd-cm --patch-file integrations/argocd/argocd-cm.yaml\n" +
    "# Generated from integrations/argocd/resource_customizations by\n" +
    "# `node hack/generate-argocd-cm.ts`. Do not edit.\n" +
    stringify(configMap, { blockQuote: "literal", lineWidth: 0 })
  );
}

if (import.meta.main) {
  const text = argocdConfigMap();
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {}
  if (current === text) process.exit(0);
  if (process.argv.includes("--check")) {
    console.error(
      "integrations/argocd/argocd-cm.yaml is out of date with its Lua files: run `node hack/generate-argocd-cm.ts` and commit the result",
    );
    process.exit(1);
  }
  writeFileSync(file, text);
  console.log("wrote integrations/argocd/argocd-cm.yaml");
}
