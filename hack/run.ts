/**
 * `npm start`: everything needed to see Rotor on a fresh machine. Builds (or reuses) the local
 * control plane, starts it, installs the CRDs and the samples, and keeps running until Ctrl-C,
 * when it stops everything and removes its files.
 */
import { deadComponents, startControlPlane, stopControlPlane } from "./controlplane/controlplane.ts";
import { installCrds, installSamples, kubectl } from "./controlplane/install.ts";
import { defaultDir } from "./controlplane/paths.ts";

const SAMPLES_NAMESPACE = "rotor-samples";

async function main() {
  const dir = defaultDir();
  const plane = await startControlPlane({ dir });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nStopping the control plane…");
    await stopControlPlane(dir);
    console.log("Stopped; nothing left behind.");
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("SIGHUP", stop);

  await installCrds(plane);
  kubectl(plane, ["create", "namespace", SAMPLES_NAMESPACE]);
  const applied = installSamples(plane, SAMPLES_NAMESPACE);
  console.log(`\nCRDs installed; samples applied in namespace ${SAMPLES_NAMESPACE}:\n${applied}`);
  console.log(kubectl(plane, ["get", "rotor", "-A"]));
  console.log(`Reach the cluster from another terminal with:

  export KUBECONFIG=${plane.kubeconfig}
  kubectl get cc -n ${SAMPLES_NAMESPACE}

Press Ctrl-C to stop everything.`);
  // Stay in the foreground, and say so if a component of the control plane dies.
  setInterval(() => {
    const dead = deadComponents(dir);
    if (dead.length > 0 && !stopping) {
      console.error(`${dead.join(", ")} stopped unexpectedly; logs are in ${dir}/logs`);
      void stop();
    }
  }, 5000);
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await stopControlPlane(defaultDir());
  process.exit(1);
});
