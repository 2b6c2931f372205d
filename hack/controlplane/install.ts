/** Installs Rotor's CRDs (and optionally the samples) into a cluster with the built kubectl. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { ControlPlane } from "./controlplane.ts";

const root = join(import.meta.dirname, "..", "..");

export function kubectl(
  plane: Pick<ControlPlane, "kubeconfig" | "binDir">,
  args: string[],
  input?: string,
): string {
  return execFileSync(join(plane.binDir, "kubectl"), [`--kubeconfig=${plane.kubeconfig}`, ...args], {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Applies crds/ and waits until every CRD is Established. */
export async function installCrds(plane: Pick<ControlPlane, "kubeconfig" | "binDir">): Promise<void> {
  const crds = join(root, "crds");
  kubectl(plane, ["apply", "--server-side", "--field-manager=rotor-install", "-f", crds]);
  kubectl(plane, ["wait", "--for=condition=Established", "--timeout=60s", "-f", crds]);
}
