/**
 * What the install tests (helm.test.ts, kustomize.test.ts) share: rendering the kustomize base
 * and overlays and the Helm chart, reading the rendered objects, the parts of them that must
 * agree (RBAC, arguments, security contexts), and the real API server's server-side dry run.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { controlPlane, kubectl, kubectlOk } from "../../support/cluster.ts";

export const ROOT = join(import.meta.dirname, "..", "..", "..");
export const CHART = join(ROOT, "charts", "rotor");
export const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
  .version;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null && typeof o === "object");
}

export const readObjects = (...path: string[]) => parseObjects(readFileSync(join(ROOT, ...path), "utf8"));

/** Runs a program; throws with its stderr unless it exits 0. */
export function run(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { input, encoding: "utf8", timeout: 120_000 });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

/** The two kubectls a user may have: the machines' own (1.32) and the control plane's. */
export function kubectls(): { name: string; path: string }[] {
  return [
    { name: "kubectl on PATH", path: "kubectl" },
    { name: "the control plane's kubectl", path: join(controlPlane().binDir, "kubectl") },
  ];
}

/** `kubectl kustomize` of a directory of the repository. */
export const kustomize = (dir: string, kubectlPath = join(controlPlane().binDir, "kubectl")) =>
  run(kubectlPath, ["kustomize", join(ROOT, dir)]);

/** The API server's version, so that helm renders for the cluster it is checked against. */
export function serverVersion(): string {
  const version = JSON.parse(kubectlOk(["version", "-o", "json"])) as {
    serverVersion: { gitVersion: string };
  };
  return version.serverVersion.gitVersion;
}

/**
 * Every object offered to the real API server (admission, schemas, CRD validation) and nothing
 * stored: a server-side apply dry run. Forced, because Rotor's test RBAC already owns some of
 * the cluster-wide objects under another field manager. Returns kubectl's output.
 */
export function serverDryRun(manifests: string): string {
  const result = kubectl(
    [
      "apply",
      "--server-side",
      "--dry-run=server",
      "--force-conflicts",
      "--field-manager=rotor-ship-dry-run",
      "-f",
      "-",
    ],
    manifests,
  );
  if (result.code !== 0) throw new Error(`the API server refused:\n${result.stderr}`);
  return result.stdout;
}

/** A namespace of the test cluster, created unless it exists; removed by the caller if created. */
export function ensureNamespace(name: string): { created: boolean; remove: () => void } {
  const exists = kubectl(["get", "namespace", name]).code === 0;
  if (!exists) kubectlOk(["create", "namespace", name]);
  return {
    created: !exists,
    remove: () => {
      if (!exists) kubectl(["delete", "namespace", name, "--wait=false"]);
    },
  };
}

/** Replaces whole words (namespace names) in rendered text. */
export function renameWords(text: string, renames: Record<string, string>): string {
  return Object.entries(renames).reduce(
    (out, [from, to]) => out.replace(new RegExp(`(?<![-\\w])${from}(?![-\\w])`, "g"), to),
    text,
  );
}

const id = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? "-"}/${o.metadata.name}`;

export const find = (objects: KubeObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map(id).join(", ")}`);
  return found;
};

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** A rule list as the sorted set of single permissions it grants: "group resource verb". */
export function permissions(rules: Rule[] = []): string[] {
  const out = new Set<string>();
  for (const rule of rules)
    for (const group of rule.apiGroups ?? ["(none)"])
      for (const resource of rule.resources ?? rule.nonResourceURLs ?? [])
        for (const verb of rule.verbs ?? [])
          out.add(
            `${group || "core"} ${resource} ${verb}${rule.resourceNames ? ` ${rule.resourceNames}` : ""}`,
          );
  return [...out].sort();
}

/**
 * The RBAC of a rendering, by object: each Role's and ClusterRole's permissions, each binding's
 * role and subjects. Labels, comments, rule order and grouping do not matter; names do.
 */
export function rbacOf(objects: KubeObject[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const o of objects) {
    if (o.kind === "Role" || o.kind === "ClusterRole") out[id(o)] = permissions(o.rules as Rule[]);
    if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
      const ref = o.roleRef as { kind: string; name: string };
      const subjects = (o.subjects as { kind: string; name: string; namespace?: string }[]).map(
        (s) => `${s.kind} ${s.namespace ?? "-"}/${s.name}`,
      );
      out[id(o)] = [`roleRef ${ref.kind} ${ref.name}`, ...subjects.sort()];
    }
  }
  return out;
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  securityContext?: unknown;
}
export interface PodSpec {
  containers: Container[];
  securityContext?: unknown;
  serviceAccountName?: string;
  [field: string]: unknown;
}
export const podSpec = (deployment: KubeObject) =>
  (deployment.spec as { template: { spec: PodSpec } }).template.spec;

/**
 * What each Deployment runs, as a pod would see it: the image, the arguments (sorted: Rotor's
 * flags have no order) with $(POD_NAMESPACE) expanded as the kubelet does, the service account
 * and both security contexts.
 */
export function workloadsOf(objects: KubeObject[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of objects.filter((x) => x.kind === "Deployment")) {
    const spec = podSpec(o);
    out[id(o)] = {
      serviceAccountName: spec.serviceAccountName,
      podSecurityContext: spec.securityContext,
      containers: spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        args: (c.args ?? []).map((a) => a.replaceAll("$(POD_NAMESPACE)", o.metadata.namespace ?? "")).sort(),
        securityContext: c.securityContext,
      })),
    };
  }
  return out;
}
