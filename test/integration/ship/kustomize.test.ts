/**
 * The kustomize installs: `kubectl apply -k deploy/` (the base), overlays/namespaced and
 * overlays/custom-namespace render with both kubectls a user may have, and the real API server
 * accepts every object they render (server-side dry run). The plain install
 * (`kubectl apply -f crds/ && kubectl apply -f deploy/`) still reads only manifests.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlane, kubectl } from "../../support/cluster.ts";
import {
  ensureNamespace,
  find,
  type KubeObject,
  kubectls,
  kustomize,
  parseObjects,
  permissions,
  podSpec,
  ROOT,
  rbacOf,
  readObjects,
  renameWords,
  run,
  serverDryRun,
  VERSION,
  workloadsOf,
} from "./installs.ts";

const DIRS = ["deploy", "overlays/namespaced", "overlays/custom-namespace"];
const rendered: Record<string, string> = {};
const objects = (dir: string) => parseObjects(rendered[dir] as string);
const cleanups: (() => void)[] = [];

/** A unique, real namespace for objects a rendering places in `name`. */
function standIn(name: string): string {
  const ns = ensureNamespace(`ship-${name}-${process.pid}`);
  cleanups.push(ns.remove);
  return `ship-${name}-${process.pid}`;
}

beforeAll(() => {
  for (const dir of DIRS) rendered[dir] = kustomize(dir);
});
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

describe("kubectl kustomize", () => {
  it("renders the base and each overlay the same with kubectl 1.32 and the control plane's kubectl", () => {
    for (const { path } of kubectls())
      for (const dir of DIRS) expect(kustomize(dir, path), `${path} kustomize ${dir}`).toBe(rendered[dir]);
  });
});

describe("the base (deploy/)", () => {
  it("holds the generated CRDs unchanged, and the image at the release's version", () => {
    const crds = objects("deploy").filter((o) => o.kind === "CustomResourceDefinition");
    const generated = ["clientcredentials", "clustercredentialissuers", "credentialissuers"].map(
      (plural) => readObjects("crds", `${plural}.rotor.dev.yaml`)[0],
    );
    expect(crds).toEqual(generated);
    for (const name of ["rotor", "rotor-token-server"]) {
      const deployment = find(objects("deploy"), "Deployment", name);
      expect(podSpec(deployment).containers[0]?.image).toBe(`ghcr.io/rotor-dev/rotor:${VERSION}`);
    }
    // Without kustomize (kubectl apply -f deploy/) the same tag.
    const plain = find(readObjects("deploy", "operator.yaml"), "Deployment", "rotor");
    expect(podSpec(plain).containers[0]?.image).toBe(`ghcr.io/rotor-dev/rotor:${VERSION}`);
  });

  it("runs both components as user 65532, read-only, with no capabilities", () => {
    for (const name of ["rotor", "rotor-token-server"]) {
      const spec = podSpec(find(objects("deploy"), "Deployment", name));
      expect(spec.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(spec.containers[0]?.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
    }
  });

  it("is accepted by the API server: kubectl apply -k deploy/ (dry run), with both kubectls", () => {
    ensureNamespace("rotor-system"); // Rotor's namespace; the other test files use it too.
    expect(serverDryRun(rendered.deploy as string)).toContain("deployment.apps/rotor serverside-applied");
    for (const { name, path } of kubectls()) {
      const out = run(path, [
        `--kubeconfig=${controlPlane().kubeconfig}`,
        "apply",
        "-k",
        join(ROOT, "deploy"),
        "--server-side",
        "--dry-run=server",
        "--force-conflicts",
        "--field-manager=rotor-ship-dry-run",
      ]);
      expect(out, name).toContain("clusterrole.rbac.authorization.k8s.io/rotor serverside-applied");
    }
  });

  it("still installs without kustomize: kubectl apply -f crds/ -f deploy/ reads only manifests (dry run)", () => {
    const result = kubectl([
      "apply",
      "--server-side",
      "--dry-run=server",
      "--force-conflicts",
      "--field-manager=rotor-ship-dry-run",
      "-f",
      join(ROOT, "crds"),
      "-f",
      join(ROOT, "deploy"),
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const applied = result.stdout.trim().split("\n");
    // Everything the base renders, nothing more (no Kustomization file read as a manifest).
    expect(applied.length).toBe(objects("deploy").length);
  });
});

describe("overlays/custom-namespace", () => {
  it("keeps nothing of rotor-system: objects, binding subjects and --issuer-url all follow", () => {
    const text = rendered["overlays/custom-namespace"] as string;
    expect(text).not.toContain("rotor-system");
    const all = objects("overlays/custom-namespace");
    expect(find(all, "Namespace", "platform-rotor")).toBeDefined();
    for (const o of all.filter((x) => x.metadata.namespace !== undefined))
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe("platform-rotor");
    for (const binding of all.filter((o) => o.kind.endsWith("Binding")))
      for (const subject of binding.subjects as { namespace: string }[])
        expect(subject.namespace).toBe("platform-rotor");
    const workloads = workloadsOf(all) as Record<string, { containers: { args: string[] }[] }>;
    for (const workload of Object.values(workloads))
      expect(workload.containers[0]?.args).toContain("--issuer-url=https://rotor.platform-rotor.svc:8443");
  });

  it("is accepted by the API server (dry run)", () => {
    const ns = standIn("platform-rotor");
    const text = renameWords(rendered["overlays/custom-namespace"] as string, { "platform-rotor": ns });
    expect(serverDryRun(text)).toContain("deployment.apps/rotor serverside-applied");
  });
});

describe("overlays/namespaced", () => {
  const served = ["team-a", "team-b"];

  it("grants Secrets, pods and restarts by a Role in each listed namespace, and by no ClusterRole", () => {
    const all = objects("overlays/namespaced");
    for (const role of all.filter((o) => o.kind === "ClusterRole")) {
      const granted = permissions(role.rules as never).join("\n");
      expect(granted, role.metadata.name).not.toMatch(/^core secrets /m);
      expect(granted, role.metadata.name).not.toMatch(/^core pods /m);
      expect(granted, role.metadata.name).not.toMatch(/^apps deployments patch/m);
    }
    const withSecrets = all
      .filter((o) => o.kind === "Role" && permissions(o.rules as never).includes("core secrets create"))
      .map((o) => o.metadata.namespace)
      .sort();
    expect(withSecrets).toEqual(["rotor-system", ...served].sort());
    const controller = workloadsOf(all)["Deployment rotor-system/rotor"] as {
      containers: { args: string[] }[];
    };
    expect(controller.containers[0]?.args).toContain(`--watch-namespaces=${served.join(",")}`);
  });

  it("grants what the plain namespace-scoped install grants (deploy/namespaced)", () => {
    const watched = (namespace: string) =>
      readObjects("deploy", "namespaced", "watched-namespace", "rbac.yaml").map(
        (o): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace } }),
      );
    const plain = [...readObjects("deploy", "namespaced", "rbac.yaml"), ...served.flatMap(watched)];
    expect(rbacOf(objects("overlays/namespaced"))).toEqual(rbacOf(plain));
    // The same rights as the cluster-wide base, split: its ClusterRole's = this ClusterRole's and
    // the served namespaces' Role's.
    const split = [
      ...permissions(find(plain, "ClusterRole", "rotor").rules as never),
      ...permissions(find(plain, "Role", "rotor-namespace").rules as never),
    ].sort();
    expect(split).toEqual(permissions(find(objects("deploy"), "ClusterRole", "rotor").rules as never));
  });

  it("is accepted by the API server (dry run), its namespaces existing", () => {
    ensureNamespace("rotor-system");
    const renames = Object.fromEntries(served.map((name) => [name, standIn(name)]));
    const text = renameWords(rendered["overlays/namespaced"] as string, renames);
    const out = serverDryRun(text);
    expect(out.match(/role\.rbac\.authorization\.k8s\.io\/rotor-namespace serverside-applied/g)).toHaveLength(
      served.length,
    );
    expect(text).toContain(`--watch-namespaces=${Object.values(renames).join(",")}`);
  });
});
