/**
 * A local Kubernetes control plane made of real upstream binaries, run as processes on
 * loopback: etcd, kube-apiserver (RBAC, client certificates, service-account keys),
 * kube-controller-manager, kube-scheduler and kwok with fake nodes, so that Deployments get
 * pods that are scheduled and become Ready. Used by vitest's global setup and by the CLI.
 *
 * Every process runs in its own process group and logs to `<dir>/logs`; `state.json` records
 * the pids so that another process (the CLI's `down`) can stop them and remove the directory.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type https from "node:https";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  alive,
  apiServerReady,
  COMPONENTS,
  type Component,
  type ControlPlane,
  etcdReady,
  launch,
  loadState,
  probe,
  type Started,
  type State,
  saveState,
  signalGroup,
  sleep,
  waitFor,
} from "./components.ts";

export { COMPONENTS, ComponentFailed, type ControlPlane } from "./components.ts";

export interface StartOptions {
  dir: string;
  /** How many fake kwok nodes to create. */
  nodes?: number;
  log?: (line: string) => void;
}

const root = join(import.meta.dirname, "..", "..");

/** Builds (or finds in the cache) the binaries; progress goes to stderr. Returns the bin directory. */
export function buildBinaries(): string {
  const out = execFileSync("bash", [join(root, "hack", "controlplane", "build.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  const lines = out.trim().split("\n");
  return lines[lines.length - 1] as string;
}

/** A loopback port nobody listens on now (the control plane's, and the tests' servers). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startControlPlane(options: StartOptions): Promise<ControlPlane> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[controlplane] ${line}\n`));
  const dir = options.dir;
  if (existsSync(join(dir, "state.json"))) {
    throw new Error(`a control plane already runs in ${dir}: stop it first (npm run cluster:down)`);
  }
  const binDir = buildBinaries();
  const bin = (name: string) => join(binDir, name);
  const pkiDir = join(dir, "pki");
  const logDir = join(dir, "logs");
  mkdirSync(logDir, { recursive: true });
  execFileSync(bin("rotor-pki"), [pkiDir]);
  const pki = (name: string) => join(pkiDir, name);

  const [etcdPort, etcdPeerPort, apiPort, kwokPort] = await Promise.all(Array.from({ length: 4 }, freePort));
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, adminKubeconfig(server, pki), { mode: 0o600 });

  const state: State = { dir, kubeconfig, server, binDir, nodes: [], pids: {}, args: {} };
  const start = (component: Component, args: string[]) => launch(state, component, args);
  const waitUntil = async (
    component: Component,
    started: Started,
    ready: () => Promise<boolean>,
    ms: number,
  ) => log(`${component} ready (${(await waitFor(component, started, ready, ms)).toFixed(1)}s)`);

  // controller-manager and scheduler serve /healthz with a self-signed certificate of their own.
  const selfSigned: https.RequestOptions = { rejectUnauthorized: false };
  /**
   * controller-manager or scheduler, tried again on a fresh port when it exits at start: with
   * several control planes starting side by side, another process may take its port between
   * `freePort` and its bind.
   */
  const startServing = async (component: Component, argsFor: (port: number) => string[]) => {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const started = start(component, argsFor(port));
      const healthz = async () => (await probe(`https://127.0.0.1:${port}/healthz`, selfSigned)) === 200;
      try {
        await waitUntil(component, started, healthz, 60_000);
        return started;
      } catch (error) {
        if (attempt === 3 || started.child.exitCode === null) throw error;
        log(`${component} exited at start (attempt ${attempt}); trying again on another port`);
      }
    }
  };

  try {
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = start("etcd", [
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    state.etcdUrl = etcdUrl;
    await waitUntil("etcd", etcd, etcdReady(state), 30_000);

    const apiserver = start("kube-apiserver", [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${apiPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--cert-dir=${join(dir, "apiserver")}`,
      `--tls-cert-file=${pki("apiserver.crt")}`,
      `--tls-private-key-file=${pki("apiserver.key")}`,
      `--client-ca-file=${pki("ca.crt")}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki("sa.pub")}`,
      `--service-account-signing-key-file=${pki("sa.key")}`,
      // No default route on a loopback-only machine: do not reconcile the kubernetes Service endpoints.
      "--endpoint-reconciler-type=none",
      "--profiling=false",
      "--v=1",
    ]);
    await waitUntil("kube-apiserver", apiserver, apiServerReady(state), 90_000);

    const controllerManager = await startServing("kube-controller-manager", (port) => [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      `--secure-port=${port}`,
      "--bind-address=127.0.0.1",
      `--cert-dir=${join(dir, "controller-manager")}`,
      `--service-account-private-key-file=${pki("sa.key")}`,
      `--root-ca-file=${pki("ca.crt")}`,
      `--controllers=${CONTROLLERS.join(",")}`,
      // kwok's nodes have no kubelet: their heartbeats are simulated and can lag on a busy
      // two-core machine. A late heartbeat must not taint every node NotReady mid-test.
      "--node-monitor-grace-period=1h",
      "--v=1",
    ]);
    await startServing("kube-scheduler", (port) => [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      `--secure-port=${port}`,
      "--bind-address=127.0.0.1",
      `--cert-dir=${join(dir, "scheduler")}`,
      "--v=1",
    ]);
    const kwok = start("kwok", [
      `--kubeconfig=${kubeconfig}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--server-address=127.0.0.1:${kwokPort}`,
      ...kwokStageFiles(binDir).map((file) => `--config=${file}`),
    ]);
    const kubectl = (...args: string[]) =>
      execFileSync(bin("kubectl"), [`--kubeconfig=${kubeconfig}`, ...args], {
        encoding: "utf8",
        stdio: "pipe",
      });
    const nodeCount = options.nodes ?? 3;
    for (let i = 0; i < nodeCount; i++) state.nodes.push(`kwok-node-${i}`);
    for (const name of state.nodes) {
      execFileSync(
        bin("kubectl"),
        [
          `--kubeconfig=${kubeconfig}`,
          "apply",
          "--server-side",
          "--field-manager=rotor-controlplane",
          "-f",
          "-",
        ],
        {
          input: JSON.stringify(fakeNode(name)),
          stdio: ["pipe", "ignore", "pipe"],
        },
      );
    }
    saveState(state);
    await waitUntil(
      "kwok",
      kwok,
      async () => {
        // Ready, and rid of the not-ready taint that admission put on the new node.
        const nodes = JSON.parse(kubectl("get", "nodes", "-o", "json")) as {
          items: Array<{
            spec?: { taints?: unknown[] };
            status?: { conditions?: Array<{ type: string; status: string }> };
          }>;
        };
        const usable = nodes.items.filter(
          (node) =>
            (node.spec?.taints ?? []).length === 0 &&
            node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return usable.length === nodeCount;
      },
      60_000,
    );
    // The serviceaccount controller creates `default` in every namespace; pods need it.
    await waitUntil(
      "kube-controller-manager",
      controllerManager,
      async () => {
        try {
          kubectl("get", "serviceaccount", "default", "-n", "default");
          return true;
        } catch {
          return false;
        }
      },
      60_000,
    );
    return { dir, kubeconfig, server, binDir, nodes: state.nodes };
  } catch (error) {
    await stopControlPlane(dir);
    throw error;
  }
}

/** Stops every process recorded in `<dir>/state.json` and removes the directory. */
export async function stopControlPlane(dir: string): Promise<void> {
  const stateFile = join(dir, "state.json");
  if (existsSync(stateFile)) {
    const state = loadState(dir);
    // Stop in reverse order of start, so that nothing logs errors about etcd going away first.
    const pids = COMPONENTS.map((c) => state.pids[c])
      .filter((pid): pid is number => typeof pid === "number")
      .reverse();
    for (const pid of pids) signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await sleep(100);
    for (const pid of pids.filter(alive)) signalGroup(pid, "SIGKILL");
    while (pids.some(alive)) await sleep(50);
  }
  rmSync(dir, { recursive: true, force: true });
}

export function readState(dir: string): ControlPlane | undefined {
  const stateFile = join(dir, "state.json");
  if (!existsSync(stateFile)) return undefined;
  const { pids: _pids, args: _args, etcdUrl: _etcd, ...plane } = loadState(dir);
  return plane;
}

/** Components recorded in `<dir>/state.json` whose process is gone. */
export function deadComponents(dir: string): Component[] {
  const stateFile = join(dir, "state.json");
  if (!existsSync(stateFile)) return [...COMPONENTS];
  const state = loadState(dir);
  return COMPONENTS.filter((c) => {
    const pid = state.pids[c];
    return pid === undefined || !alive(pid);
  });
}

/** The controllers Rotor's tests rely on: workloads roll, owners cascade, namespaces go away. */
const CONTROLLERS = [
  "garbage-collector-controller",
  "deployment-controller",
  "replicaset-controller",
  "statefulset-controller",
  "daemonset-controller",
  "job-controller",
  "cronjob-controller",
  "namespace-controller",
  // Removes the not-ready taint that admission puts on every new node, once kwok reports it Ready.
  "node-lifecycle-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  // Builds the built-in edit/admin/view roles from labelled ClusterRoles, as every cluster does:
  // deploy/rbac.yaml gives teams ClientCredentials that way.
  "clusterrole-aggregation-controller",
  "root-ca-certificate-publisher-controller",
];

function kwokStageFiles(binDir: string): string[] {
  const stages = join(binDir, "..", "kwok-stages");
  return ["node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"].map(
    (stage) => join(stages, `${stage}.yaml`),
  );
}

function fakeNode(name: string) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node-role.kubernetes.io/agent": "",
        type: "kwok",
      },
    },
    status: {
      allocatable: { cpu: "32", memory: "256Gi", pods: "110" },
      capacity: { cpu: "32", memory: "256Gi", pods: "110" },
    },
  };
}

function adminKubeconfig(server: string, pki: (name: string) => string): string {
  const b64 = (file: string) => readFileSync(pki(file)).toString("base64");
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "rotor-local", cluster: { server, "certificate-authority-data": b64("ca.crt") } }],
      users: [
        {
          name: "rotor-admin",
          user: { "client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key") },
        },
      ],
      contexts: [{ name: "rotor-local", context: { cluster: "rotor-local", user: "rotor-admin" } }],
      "current-context": "rotor-local",
    },
    null,
    2,
  );
}
