/**
 * The local control plane from the command line.
 *
 *   node hack/controlplane/cli.ts build   # build the binaries into the cache (progress on stderr)
 *   node hack/controlplane/cli.ts up      # start it; prints how to reach it
 *   node hack/controlplane/cli.ts down    # stop it; leaves no process or directory behind
 *   node hack/controlplane/cli.ts status
 *
 * ROTOR_CONTROLPLANE_DIR chooses where it runs (default: $TMPDIR/rotor-controlplane).
 */
import { buildBinaries, readState, startControlPlane, stopControlPlane } from "./controlplane.ts";
import { installCrds } from "./install.ts";
import { defaultDir } from "./paths.ts";

async function main(command: string | undefined) {
  const dir = defaultDir();
  switch (command) {
    case "build":
      console.log(buildBinaries());
      return;
    case "up": {
      const plane = await startControlPlane({ dir });
      await installCrds(plane);
      console.log(
        `Control plane up. Reach it with:\n\n  export KUBECONFIG=${plane.kubeconfig}\n  kubectl get nodes\n`,
      );
      console.log(`Stop it with: npm run cluster:down`);
      return;
    }
    case "down":
      await stopControlPlane(dir);
      console.log(`Control plane in ${dir} stopped and removed.`);
      return;
    case "status": {
      const plane = readState(dir);
      console.log(
        plane ? `running: KUBECONFIG=${plane.kubeconfig} (${plane.server})` : `not running (${dir})`,
      );
      return;
    }
    default:
      console.error("usage: cli.ts build|up|down|status");
      process.exit(2);
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
