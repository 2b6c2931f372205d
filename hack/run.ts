/**
 * `npm start`: Rotor, running, on a fresh machine.
 *
 *   npm start                      # local control plane + CRDs + Rotor + a demo credential
 *   npm start -- --cluster=current # Rotor against your current kube context (CRDs applied there)
 *
 * Locally it builds (or reuses) the control plane, starts it, installs the CRDs, runs Rotor as
 * its own process with the permissions of deploy/rbac.yaml, applies a ClientCredential with a
 * 2-minute validity and shows its secrets being minted and rotated. Ctrl-C stops everything.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deadComponents, startControlPlane, stopControlPlane } from "./controlplane/controlplane.ts";
import { installCrds, kubectl as planeKubectl } from "./controlplane/install.ts";
import { defaultDir } from "./controlplane/paths.ts";
import { type Cluster, type RotorProcess, startRotor } from "./operator/process.ts";

const DEMO_NAMESPACE = "rotor-demo";
const root = join(import.meta.dirname, "..");
const { values } = parseArgs({ options: { cluster: { type: "string", default: "local" } } });

const cleanups: Array<() => Promise<void>> = [];
let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping…");
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  console.log("Stopped; nothing left behind.");
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));
// Ctrl-C also ends a pipe reader (`npm start | tee log`): cleanup must not die writing to it.
process.stdout.on("error", () => undefined);
process.stderr.on("error", () => undefined);

async function main() {
  let cluster: Cluster;
  if (values.cluster === "current") {
    const kubeconfig = process.env.KUBECONFIG ?? join(process.env.HOME ?? "", ".kube", "config");
    cluster = {
      kubeconfig,
      kubectl: (args) =>
        execFileSync("kubectl", [`--kubeconfig=${kubeconfig}`, ...args], { encoding: "utf8" }),
    };
    cluster.kubectl(["apply", "--server-side", "--field-manager=rotor-install", "-f", join(root, "crds")]);
  } else {
    const dir = defaultDir();
    const plane = await startControlPlane({ dir });
    cleanups.push(() => stopControlPlane(dir));
    await installCrds(plane);
    cluster = { kubeconfig: plane.kubeconfig, kubectl: (args) => planeKubectl(plane, args) };
    setInterval(() => {
      const dead = deadComponents(dir);
      if (dead.length > 0 && !stopping) {
        console.error(`${dead.join(", ")} stopped unexpectedly; see ${dir}/logs`);
        void stop(1);
      }
    }, 5000);
  }

  const rotor: RotorProcess = await startRotor(cluster, {
    echo: (chunk) => process.stdout.write(prettyLogs(chunk)),
  });
  cleanups.push(() => rotor.stop());
  console.log(`\nRotor is running; its token endpoint is ${rotor.url}/oauth2/token`);

  if (values.cluster !== "current") {
    try {
      cluster.kubectl(["create", "namespace", DEMO_NAMESPACE]);
    } catch {}
    for (const file of ["samples/clientcredential-short-lived.yaml", "demo/consumer.yaml"]) {
      cluster.kubectl(["apply", "-n", DEMO_NAMESPACE, "-f", join(root, "deploy", file)]);
    }
    console.log(`
Applied ClientCredential demo-short-lived in namespace ${DEMO_NAMESPACE} (a new secret every minute)
and Deployment demo-consumer, which uses it: watch Rotor restart it at each rotation and revoke
the old secret only after its old pods are gone.
From another terminal:

  export KUBECONFIG=${cluster.kubeconfig}
  kubectl get cc -n ${DEMO_NAMESPACE} -w
  kubectl annotate cc demo-short-lived -n ${DEMO_NAMESPACE} rotor.dev/rotate=$(date +%s)   # rotate now

Press Ctrl-C to stop everything.
`);
    const show = () => {
      if (stopping) return;
      console.log(
        `\n$ kubectl get cc,secrets,pods -n ${DEMO_NAMESPACE}  (${new Date().toISOString()})\n${cluster.kubectl(["get", "cc,secrets,pods", "-n", DEMO_NAMESPACE])}`,
      );
    };
    setTimeout(show, 3000);
    setInterval(show, 20_000);
  }
}

/** One readable line per log entry for the terminal (the JSON goes unchanged to real deployments). */
function prettyLogs(chunk: string): string {
  return chunk
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { time: string; msg: string; reason?: string; level: string };
        const level = entry.level.toUpperCase().padEnd(5);
        return `  rotor ${entry.time.slice(11, 19)} ${level} ${entry.reason ? `${entry.reason}: ` : ""}${entry.msg}\n`;
      } catch {
        return `  rotor ${line}\n`;
      }
    })
    .join("");
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await stop(1);
});
