import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type DeploymentJson, podmanRunArgs, readDeployment } from "../../../hack/image/deployment.ts";

const OPERATOR = join(import.meta.dirname, "..", "..", "..", "deploy", "operator.yaml");
const OPTIONS = {
  image: "localhost/rotor:dev",
  imageUser: "65532:65532",
  name: "rotor-test",
  namespace: "rotor-ns",
  serviceAccountDir: "/tmp/sa",
  apiHost: "127.0.0.1",
  apiPort: "6443",
  args: { "--issuer-url": "https://127.0.0.1:9443", "--port": "9443" },
};

/** The value after each occurrence of a flag. */
const valuesOf = (args: string[], flag: string) =>
  args.flatMap((arg, i) => (arg === flag ? [args[i + 1]] : []));

describe("a Deployment of deploy/operator.yaml as podman run", () => {
  const args = podmanRunArgs(readDeployment(OPERATOR, "rotor"), OPTIONS);

  it("mounts the token where in-cluster configuration reads it and names the API server", () => {
    expect(valuesOf(args, "--volume")).toEqual(["/tmp/sa:/var/run/secrets/kubernetes.io/serviceaccount:ro"]);
    expect(valuesOf(args, "--env")).toEqual(
      expect.arrayContaining(["KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=6443"]),
    );
  });

  it("gives the env the pod's name and namespace where the Deployment asks for them", () => {
    expect(valuesOf(args, "--env")).toEqual(
      expect.arrayContaining(["POD_NAME=rotor-test", "POD_NAMESPACE=rotor-ns"]),
    );
  });

  it("keeps the Deployment's args and replaces the ones given", () => {
    const command = args.slice(args.indexOf(OPTIONS.image) + 1);
    expect(command).toContain("--component=controller");
    expect(command.filter((arg) => arg.startsWith("--issuer-url"))).toEqual([
      "--issuer-url=https://127.0.0.1:9443",
    ]);
    expect(command).toContain("--port=9443");
  });

  it("runs with the Deployment's securityContext", () => {
    expect(valuesOf(args, "--user")).toEqual(["65532:65532"]);
    expect(args).toEqual(
      expect.arrayContaining(["--read-only", "--read-only-tmpfs=false", "no-new-privileges"]),
    );
    expect(valuesOf(args, "--cap-drop")).toEqual(["ALL"]);
  });

  it("refuses an env value it cannot give", () => {
    const deployment = readDeployment(OPERATOR, "rotor");
    const container = deployment.spec.template.spec
      .containers[0] as DeploymentJson["spec"]["template"]["spec"]["containers"][0];
    container.env = [{ name: "NODE_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } }];
    expect(() => podmanRunArgs(deployment, OPTIONS)).toThrow("env NODE_IP: no value");
  });
});
