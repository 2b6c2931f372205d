/** Rotor as its own process, against the test cluster, with debug logs kept for inspection. */
import { type RotorProcess, startRotor as start } from "../../hack/operator/process.ts";
import { controlPlane, kubectlOk } from "./cluster.ts";

export { OPERATOR_NAMESPACE, type RotorProcess } from "../../hack/operator/process.ts";

export function startRotor(args: string[] = []): Promise<RotorProcess> {
  return start(
    { kubeconfig: controlPlane().kubeconfig, kubectl: kubectlOk },
    { args: ["--log-level=debug", ...args] },
  );
}
