/**
 * Runs Rotor as its own process, as in production: `node src/main.ts` with a service-account
 * token limited to deploy/rbac.yaml. Its output is kept so tests can check what it logged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { eventually, kubeConfig, kubectl, kubectlOk } from "./cluster.ts";

export const OPERATOR_NAMESPACE = "rotor-system";
const root = join(import.meta.dirname, "..", "..");

/** Installs RBAC and returns a kubeconfig that authenticates as Rotor's service account. */
export async function operatorKubeconfig(): Promise<string> {
  if (kubectl(["get", "namespace", OPERATOR_NAMESPACE]).code !== 0)
    kubectlOk(["create", "namespace", OPERATOR_NAMESPACE]);
  kubectlOk([
    "apply",
    "--server-side",
    "--field-manager=rotor-test",
    "-f",
    join(root, "deploy", "rbac.yaml"),
  ]);
  const kc = kubeConfig();
  const token = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: "rotor",
    namespace: OPERATOR_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no cluster");
  const file = join(mkdtempSync(join(tmpdir(), "rotor-sa-")), "kubeconfig");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "c", cluster: { server: cluster.server, "certificate-authority-data": cluster.caData } },
      ],
      users: [{ name: "rotor", user: { token: token.status?.token } }],
      contexts: [{ name: "rotor", context: { cluster: "c", user: "rotor" } }],
      "current-context": "rotor",
    }),
  );
  return file;
}

export interface RotorProcess {
  readonly url: string;
  /** Everything Rotor printed, over all its lives. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  readonly restarts: number;
}

export async function startRotor(args: string[] = []): Promise<RotorProcess> {
  const kubeconfig = await operatorKubeconfig();
  let output = "";
  let child: ChildProcess | undefined;
  let port = 0;
  let restarts = 0;

  const launch = async () => {
    const started = spawn(
      process.execPath,
      [
        join(root, "src", "main.ts"),
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${OPERATOR_NAMESPACE}`,
        `--port=${port}`,
        "--identity=rotor-test",
        "--log-level=debug",
        ...args,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = started;
    started.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    started.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const since = output.length;
    await eventually(
      "Rotor to serve",
      () => {
        if (started.exitCode !== null)
          throw new Error(`Rotor exited with ${started.exitCode}:\n${output.slice(-3000)}`);
        const line = output
          .slice(since)
          .split("\n")
          .find((l) => l.includes("Rotor is serving"));
        if (!line) return undefined;
        port = JSON.parse(line).port;
        return true;
      },
      60_000,
      100,
    );
  };

  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => c.once("exit", () => r()));

  await launch();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get restarts() {
      return restarts;
    },
    output: () => output,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (!child) return;
      const c = child;
      c.kill(signal);
      await exited(c);
    },
    async restart() {
      restarts++;
      await launch();
    },
    async stop() {
      if (!child) return;
      const c = child;
      c.kill("SIGTERM");
      const timer = setTimeout(() => c.kill("SIGKILL"), 15_000);
      await exited(c);
      clearTimeout(timer);
    },
  };
}
