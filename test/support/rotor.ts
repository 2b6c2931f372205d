/**
 * Rotor as its own process, against the test cluster, with debug logs kept for inspection. Its
 * token endpoint serves plain HTTP (`--token-endpoint-insecure-http`) unless `tls` is set: the
 * tests of TLS itself (security/endpoint-tls.test.ts) run the real path. `server` points Rotor
 * at another API server URL than the cluster's (a faulty proxy in front of it: support/api-proxy.ts).
 */
import { type RotorProcess, type StartOptions, startRotor as start } from "../../hack/operator/process.ts";
import { controlPlane, kubectlOk } from "./cluster.ts";

export { OPERATOR_NAMESPACE, type RotorProcess } from "../../hack/operator/process.ts";

/** The Rotor processes of the running test file: their output is shown when a test fails. */
export const running = new Set<RotorProcess>();

export async function startRotor(
  args: string[] = [],
  options: Omit<StartOptions, "args" | "echo"> & { tls?: boolean } = {},
): Promise<RotorProcess> {
  const { tls, ...rest } = options;
  const rotor = await start(
    { kubeconfig: controlPlane().kubeconfig, kubectl: kubectlOk },
    { args: ["--log-level=debug", ...(tls ? [] : ["--token-endpoint-insecure-http"]), ...args], ...rest },
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
