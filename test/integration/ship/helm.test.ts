/**
 * The Helm chart (charts/rotor), with the real helm built from Go modules (hack/tools/helm):
 * `helm lint --strict` and `helm template` for each values file in ci/, every rendered object
 * accepted by the real API server (server-side dry run, in namespaces of this file's own), the
 * chart's CRDs equal to crds/, bad values refused at `helm install` with a clear message, and the
 * chart agreeing with the kustomize install on what matters: RBAC, arguments, security contexts.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { controlPlane } from "../../support/cluster.ts";
import { tool } from "../../support/tools.ts";
import {
  CHART,
  ensureNamespace,
  find,
  type KubeObject,
  kustomize,
  parseObjects,
  podSpec,
  rbacOf,
  readObjects,
  run,
  serverDryRun,
  serverVersion,
  VERSION,
  workloadsOf,
} from "./installs.ts";

const VALUES_FILES = readdirSync(join(CHART, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort();
const SERVED = ["team-a", "team-b"];
let helm: string;
let kubeVersion: string;
/** The release namespace of the dry runs, and namespaces for watchNamespaces: this file's own. */
const releaseNamespace = `ship-helm-${process.pid}`;
const servedStandIns = SERVED.map((ns) => `ship-helm-${ns}-${process.pid}`);
const cleanups: (() => void)[] = [];

const valuesFile = (file: string) => ["-f", join(CHART, "ci", file)];
function templateText(namespace: string, args: string[] = []): string {
  return run(helm, ["template", "rotor", CHART, "-n", namespace, `--kube-version=${kubeVersion}`, ...args]);
}
const template = (namespace: string, args: string[] = []) => parseObjects(templateText(namespace, args));

beforeAll(() => {
  helm = tool("helm"); // built once from Go modules (minutes), then cached
  kubeVersion = serverVersion();
  for (const ns of [releaseNamespace, ...servedStandIns]) cleanups.push(ensureNamespace(ns).remove);
}, 900_000);
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

describe("helm lint and helm template", () => {
  it("the chart's version and appVersion are the release's (package.json)", () => {
    const chart = parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as Record<string, string>;
    expect([chart.apiVersion, chart.version, chart.appVersion]).toEqual(["v2", VERSION, VERSION]);
  });

  it("lints strictly with the defaults and with each values file in ci/", () => {
    expect(VALUES_FILES).toEqual([
      "custom-image-values.yaml",
      "default-values.yaml",
      "ha-values.yaml",
      "namespace-scoped-values.yaml",
      "no-crds-values.yaml",
    ]);
    for (const args of [[], ...VALUES_FILES.map(valuesFile)]) {
      const out = run(helm, ["lint", "--strict", `--kube-version=${kubeVersion}`, CHART, ...args]);
      expect(out, args.join(" ")).toContain("1 chart(s) linted, 0 chart(s) failed");
    }
  });

  it.each(VALUES_FILES)("%s renders objects the API server accepts (dry run)", (file) => {
    // The namespaces it serves, for real: stand-ins of this file's own for team-a and team-b.
    const served =
      file === "namespace-scoped-values.yaml" ? [`--set=watchNamespaces={${servedStandIns}}`] : [];
    const text = templateText(releaseNamespace, [...valuesFile(file), ...served]);
    const objects = parseObjects(text);
    expect(objects.some((o) => o.kind === "ServiceMonitor")).toBe(false);
    const out = serverDryRun(text);
    expect(out.trim().split("\n")).toHaveLength(objects.length);
    expect(out).toContain("deployment.apps/rotor serverside-applied");
    expect(out).toContain("deployment.apps/rotor-token-server serverside-applied");
  });
});

describe("the chart's CRDs", () => {
  const generated = ["clientcredentials", "clustercredentialissuers", "credentialissuers"].map(
    (plural) => readObjects("crds", `${plural}.rotor.dev.yaml`)[0] as KubeObject,
  );
  const crdsOf = (objects: KubeObject[]) =>
    objects
      .filter((o) => o.kind === "CustomResourceDefinition")
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

  it("are crds/ (npm run generate writes both), labelled, and kept on helm uninstall", () => {
    const crds = crdsOf(template(releaseNamespace));
    expect(crds.map((c) => c.metadata.name)).toEqual(generated.map((c) => c.metadata.name));
    crds.forEach((crd, i) => {
      const source = generated[i] as KubeObject;
      expect(crd.spec).toEqual(source.spec);
      expect(crd.metadata.labels).toMatchObject(source.metadata.labels ?? {});
      expect(crd.metadata.annotations).toEqual({ "helm.sh/resource-policy": "keep" });
    });
  });

  it("are left to helm uninstall with crds.keep=false, and not rendered with crds.install=false", () => {
    for (const crd of crdsOf(template(releaseNamespace, ["--set=crds.keep=false"])))
      expect(crd.metadata.annotations).toBeUndefined();
    expect(crdsOf(template(releaseNamespace, valuesFile("no-crds-values.yaml")))).toEqual([]);
  });
});

describe("the values schema", () => {
  /** `helm install --dry-run=server` against the test cluster: what a user runs. */
  const install = (args: string[]) =>
    spawnSync(
      helm,
      [
        "install",
        `ship-${process.pid}`,
        CHART,
        "-n",
        releaseNamespace,
        `--kubeconfig=${controlPlane().kubeconfig}`,
        "--dry-run=server",
        // The test cluster's CRDs are not this release's.
        "--set=crds.install=false",
        ...args,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );

  it("refuses a bad value at helm install, saying which value and why", () => {
    const good = install([]);
    expect(good.stderr).toBe("");
    expect(good.status).toBe(0);

    const bad = install(["--set=controller.replicas=two"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("values don't meet the specifications of the schema");
    expect(bad.stderr).toContain("at '/controller/replicas': got string, want integer");

    const typo = install(["--set=controler.replicas=3"]);
    expect(typo.stderr).toContain("additional properties 'controler' not allowed");
    const format = install(["--set=logFormat=xml"]);
    expect(format.stderr).toContain("at '/logFormat': value must be one of 'json', 'text'");
    const namespace = install(["--set=watchNamespaces={Team_A}"]);
    expect(namespace.stderr).toContain("at '/watchNamespaces/0': 'Team_A' does not match pattern");
  });

  it("refuses two controllers without leader election", () => {
    const result = install(["--set=leaderElection.enabled=false"]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("leaderElection.enabled=false needs controller.replicas: 1");
    expect(install(["--set=leaderElection.enabled=false", "--set=controller.replicas=1"]).status).toBe(0);
  });

  it("refuses to serve ClientCredentials in Rotor's own namespace", () => {
    const result = install([`--set=watchNamespaces={${servedStandIns[0]},${releaseNamespace}}`]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`watchNamespaces lists Rotor's own namespace ${releaseNamespace}`);
    expect(install([`--set=watchNamespaces={${servedStandIns}}`]).status).toBe(0);
  });
});

describe("the chart and the kustomize install agree", () => {
  it("default values and deploy/: the same RBAC, arguments, images and security contexts", () => {
    const chart = template("rotor-system");
    const base = parseObjects(kustomize("deploy"));
    expect(rbacOf(chart)).toEqual(rbacOf(base));
    expect(workloadsOf(chart)).toEqual(workloadsOf(base));
  });

  it("watchNamespaces and overlays/namespaced: the same RBAC and arguments", () => {
    const chart = template("rotor-system", valuesFile("namespace-scoped-values.yaml"));
    const overlay = parseObjects(kustomize("overlays/namespaced"));
    expect(rbacOf(chart)).toEqual(rbacOf(overlay));
    expect(workloadsOf(chart)).toEqual(workloadsOf(overlay));
    // What the agreement covers: Roles in the served namespaces, --watch-namespaces.
    expect(Object.keys(rbacOf(chart))).toContain("Role team-b/rotor-namespace");
  });

  it("another release name and namespace move every name and the issuer URL with them", () => {
    const objects = template("platform", ["--set=fullnameOverride=tokens"]);
    expect(JSON.stringify(objects)).not.toContain("rotor-system");
    for (const o of objects.filter((x) => x.kind !== "CustomResourceDefinition")) {
      expect(o.metadata.name, o.kind).toMatch(/^tokens(-|$)/);
      if (o.metadata.namespace !== undefined) expect(o.metadata.namespace, o.kind).toBe("platform");
    }
    const workloads = workloadsOf(objects) as Record<string, { containers: { args: string[] }[] }>;
    expect(workloads["Deployment platform/tokens"]?.containers[0]?.args).toContain(
      "--issuer-url=https://tokens.platform.svc:8443",
    );
    expect(rbacOf(objects)["ClusterRoleBinding -/tokens"]).toEqual([
      "roleRef ClusterRole tokens",
      "ServiceAccount platform/tokens",
    ]);
  });

  it("the metrics Service reaches the pods of both components, on port metrics", () => {
    for (const objects of [template("rotor-system"), parseObjects(kustomize("deploy"))]) {
      const service = find(objects, "Service", "rotor-metrics");
      const spec = service.spec as {
        selector: Record<string, string>;
        ports: { name: string; port: number }[];
      };
      expect(spec.ports).toEqual([expect.objectContaining({ name: "metrics", port: 8080 })]);
      for (const name of ["rotor", "rotor-token-server"]) {
        const labels = (
          find(objects, "Deployment", name).spec as { template: { metadata: { labels: object } } }
        ).template.metadata.labels;
        expect(labels, name).toMatchObject(spec.selector);
      }
    }
  });
});

describe("values render as documented", () => {
  it("HA: two or more replicas spread by default, a spread of one's own wins, a PDB for each", () => {
    const objects = template(releaseNamespace, valuesFile("ha-values.yaml"));
    const controller = podSpec(find(objects, "Deployment", "rotor"));
    expect(JSON.stringify(controller.affinity)).toContain('"topologyKey":"kubernetes.io/hostname"');
    expect(JSON.stringify(controller.topologySpreadConstraints)).toContain("topology.kubernetes.io/zone");
    const tokenServer = find(objects, "Deployment", "rotor-token-server");
    expect((tokenServer.spec as { replicas: number }).replicas).toBe(3);
    expect(podSpec(tokenServer).topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule" }),
    ]);
    const budgets = objects.filter((o) => o.kind === "PodDisruptionBudget");
    expect(budgets.map((b) => [b.metadata.name, (b.spec as { minAvailable: number }).minAvailable])).toEqual([
      ["rotor", 1],
      ["rotor-token-server", 1],
    ]);
  });

  it("custom image and flags: mirror, pull secret, logs, issuer URL, extra args and env, metrics port", () => {
    const objects = template(releaseNamespace, valuesFile("custom-image-values.yaml"));
    const controller = podSpec(find(objects, "Deployment", "rotor"));
    const container = controller.containers[0] as unknown as Record<string, unknown>;
    expect(container.image).toBe("registry.example.com/mirror/rotor:0.1.0-mirror");
    expect(container.imagePullPolicy).toBe("Always");
    expect(controller.imagePullSecrets).toEqual([{ name: "registry-example" }]);
    expect(container.args).toEqual([
      "--component=controller",
      "--issuer-url=https://tokens.example.com",
      "--metrics-port=9090",
      "--log-level=debug",
      "--log-format=text",
      "--no-leader-elect",
      "--workers=16",
      "--max-restarts-per-namespace=5",
    ]);
    expect(container.env).toContainEqual({
      name: "NODE_EXTRA_CA_CERTS",
      value: "/etc/ssl/certs/ca-certificates.crt",
    });
    expect(container.ports).toContainEqual({ name: "metrics", containerPort: 9090 });
    // One replica each: no default spread, and no PDB that would block every drain.
    expect(controller.affinity).toBeUndefined();
    expect(controller.topologySpreadConstraints).toBeUndefined();
    expect(objects.filter((o) => o.kind === "PodDisruptionBudget")).toEqual([]);
    expect(find(objects, "ServiceAccount", "rotor").metadata.annotations).toEqual({
      "example.com/role": "rotor",
    });
    const metrics = find(objects, "Service", "rotor-metrics").spec as { ports: { port: number }[] };
    expect(metrics.ports[0]?.port).toBe(9090);
  });
});
