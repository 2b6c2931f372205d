/** Rotor as its own process, against the test cluster, with debug logs kept for inspection. */
import { type RotorProcess, type StartOptions, startRotor as start } from "../../hack/operator/process.ts";
import { controlPlane, kubectlOk } from "./cluster.ts";

export { OPERATOR_NAMESPACE, type RotorProcess } from "../../hack/operator/process.ts";

/** The Rotor processes of the running test file: their output is shown when a test fails. */
export const running = new Set<RotorProcess>();

export async function startRotor(
  args: string[] = [],
  options: Omit<StartOptions, "args" | "echo"> = {},
): Promise<RotorProcess> {
  const rotor = await start(
    { kubeconfig: controlPlane().kubeconfig, kubectl: kubectlOk },
    { args: ["--log-level=debug", ...args], ...options },
  );
  running.add(rotor);
  const stop = rotor.stop.bind(rotor);
  return Object.assign(rotor, {
    stop: async () => {
      running.delete(rotor);
      await stop();
    },
  });
}
