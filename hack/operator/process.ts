/**
 * Runs Rotor as its own process, as in production: `node src/main.ts` (or the compiled
 * `dist/main.js`) with a service-account token limited to deploy/rbac.yaml. Used by the tests,
 * the benchmarks and `npm start`; its output is kept so tests can check what it logged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";

export const OPERATOR_NAMESPACE = "rotor-system";
const root = join(import.meta.dirname, "..", "..");

export interface Cluster {
  kubeconfig: string;
  /** Runs kubectl against the cluster; throws on failure. */
  kubectl: (args: string[]) => string;
}

/** Which identity a Rotor process runs as, and the RBAC file that defines its rights. */
export interface Identity {
  /** A service account in rotor-system; default `rotor` (the controller). */
  serviceAccount?: string;
  /** Relative to the repository; default `deploy/rbac.yaml`. */
  rbac?: string;
  /**
   * The API server URL Rotor's kubeconfig names instead of the cluster's own (e.g. a proxy in
   * front of it that serves the same certificate: the kubeconfig keeps the cluster's CA).
   */
  server?: string;
}

/** Installs RBAC and returns a kubeconfig that authenticates as Rotor's service account. */
export async function operatorKubeconfig(cluster: Cluster, identity: Identity = {}): Promise<string> {
  try {
    cluster.kubectl(["get", "namespace", OPERATOR_NAMESPACE]);
  } catch {
    cluster.kubectl(["create", "namespace", OPERATOR_NAMESPACE]);
  }
  cluster.kubectl([
    "apply",
    "--server-side",
    "--field-manager=rotor-install",
    "-f",
    join(root, identity.rbac ?? join("deploy", "rbac.yaml")),
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const token = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: identity.serviceAccount ?? "rotor",
    namespace: OPERATOR_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const server = kc.getCurrentCluster();
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const file = join(mkdtempSync(join(tmpdir(), "rotor-sa-")), "kubeconfig");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "c",
          cluster: { server: identity.server ?? server.server, "certificate-authority-data": server.caData },
        },
      ],
      users: [{ name: "rotor", user: { token: token.status?.token } }],
      contexts: [{ name: "rotor", context: { cluster: "c", user: "rotor" } }],
      "current-context": "rotor",
    }),
    { mode: 0o600 },
  );
  return file;
}

/**
 * The Node flags the image runs Rotor with (Dockerfile ENTRYPOINT; keep the two the same): a
 * young generation of at most 2 MiB per semi-space. V8 otherwise grows it to 16 MiB under
 * allocation bursts (a relist, a rotation storm) and keeps it: tens of MiB of RSS that hold
 * nothing, for a little more frequent minor GC.
 */
export const PRODUCTION_NODE_FLAGS = (process.env.ROTOR_NODE_FLAGS ?? "--max-semi-space-size=2")
  .split(" ")
  .filter(Boolean);

export interface RotorProcess {
  /** The token endpoint's listener (https unless Rotor runs with --token-endpoint-insecure-http). */
  readonly url: string;
  /** The listener of /healthz, /readyz and /metrics (plain HTTP). */
  readonly metricsUrl: string;
  /** Everything Rotor printed, over all its lives. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal and returns at once (SIGSTOP and SIGCONT freeze and thaw the process). */
  signal(signal: NodeJS.Signals): void;
  /** Whether the current process is still running (a frozen one is). */
  readonly alive: boolean;
  /** The pid of the current process (of the wrapper, when there is one). */
  readonly pid: number | undefined;
  restart(): Promise<void>;
  stop(): Promise<void>;
  readonly restarts: number;
}

export interface StartOptions extends Identity {
  args?: string[];
  port?: number;
  /** Where Rotor's output goes besides the buffer (e.g. the terminal). */
  echo?: (chunk: string) => void;
  /** A command Rotor runs under, e.g. `["faketime", "-f", "-90s"]` to give it a clock of its own. */
  wrapper?: string[];
  /** Run `dist/main.js` (built by `npm run build`), as production does, instead of `src/main.ts`. */
  compiled?: boolean;
  /** Extra flags for node itself, e.g. `--expose-gc` or `--inspect=127.0.0.1:9229`. */
  nodeArgs?: string[];
}

export async function startRotor(cluster: Cluster, options: StartOptions = {}): Promise<RotorProcess> {
  const kubeconfig = await operatorKubeconfig(cluster, options);
  let output = "";
  let child: ChildProcess | undefined;
  let port = options.port ?? 0;
  let metricsPort = 0;
  let scheme = "https";
  let restarts = 0;

  const launch = async () => {
    const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath];
    const started = spawn(
      command as string,
      [
        ...prefix,
        ...(options.compiled ? PRODUCTION_NODE_FLAGS : []),
        ...(options.nodeArgs ?? []),
        options.compiled ? join(root, "dist", "main.js") : join(root, "src", "main.ts"),
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${OPERATOR_NAMESPACE}`,
        `--port=${port}`,
        `--metrics-port=${metricsPort}`,
        "--identity=rotor-local",
        ...(options.args ?? []),
      ],
      // Its own process group, so that a signal reaches Rotor under a wrapper (faketime runs it as
      // a child of its own): a Rotor left running would lead beside the next one (same identity).
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    child = started;
    const since = output.length;
    for (const stream of [started.stdout, started.stderr]) {
      stream?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        options.echo?.(chunk.toString());
      });
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (started.exitCode !== null)
        throw new Error(`Rotor exited with ${started.exitCode}:\n${output.slice(-3000)}`);
      const line = output
        .slice(since)
        .split("\n")
        .find((l) => l.includes("Rotor is serving"));
      if (line) {
        const serving = JSON.parse(line) as { port: number; metricsPort: number; localUrl: string };
        ({ port, metricsPort } = serving);
        scheme = new URL(serving.localUrl).protocol.replace(":", "");
        return;
      }
      if (Date.now() > deadline) throw new Error(`Rotor did not start within 60s:\n${output.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  /** To the process and everything it started (its group). */
  const send = (c: ChildProcess, signal: NodeJS.Signals) => {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, signal);
    } catch {
      c.kill(signal);
    }
  };

  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => c.once("exit", () => resolve()));

  await launch();
  return {
    get url() {
      return `${scheme}://127.0.0.1:${port}`;
    },
    get metricsUrl() {
      return `http://127.0.0.1:${metricsPort}`;
    },
    get restarts() {
      return restarts;
    },
    output: () => output,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (!child) return;
      const c = child;
      send(c, signal);
      await exited(c);
    },
    signal(signal: NodeJS.Signals) {
      if (child) send(child, signal);
    },
    get alive() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    get pid() {
      return child?.pid;
    },
    async restart() {
      restarts++;
      await launch();
    },
    async stop() {
      if (!child) return;
      const c = child;
      send(c, "SIGTERM");
      const timer = setTimeout(() => send(c, "SIGKILL"), 15_000);
      await exited(c);
      clearTimeout(timer);
    },
  };
}
