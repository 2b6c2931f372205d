/** The local control plane's faults, for tests: its directory, and putting it right afterwards. */
import { apiServerReady, loadState } from "../../hack/controlplane/components.ts";
import { deadComponents } from "../../hack/controlplane/controlplane.ts";
import { freezeComponent, startComponent } from "../../hack/controlplane/faults.ts";
import { controlPlane } from "./cluster.ts";

/** The local control plane's directory; faults tests need it (they cannot hurt an outside cluster). */
export function planeDir(): string {
  const { dir } = controlPlane();
  if (!dir)
    throw new Error(
      "faults tests stop parts of the local control plane: they need it, not ROTOR_TEST_KUBECONFIG",
    );
  return dir;
}

/** Thaws and starts whatever the test left stopped, and waits until the API server is Ready. */
export async function healControlPlane(): Promise<void> {
  const dir = planeDir();
  for (const component of ["etcd", "kube-apiserver"] as const) freezeComponent(dir, component, false);
  for (const component of deadComponents(dir)) await startComponent(dir, component);
  const ready = apiServerReady(loadState(dir));
  const deadline = Date.now() + 120_000;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error("the API server is not Ready 120 s after healing");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * A ClientCredential renewed every minute, two minutes ahead of expiry: more than any outage
 * the faults tests cause, so a renewal that falls due during one still comes in time.
 */
export const RENEWS_EVERY_MINUTE = {
  validity: "3m",
  renewBefore: "2m",
  gracePeriod: "20s",
  rollout: { strategy: "None" },
} as const;
