/**
 * A Deployment of deploy/operator.yaml as a `podman run`: its container's image, args and env,
 * its pod's and container's securityContext (security-context.ts), and a service-account
 * token mounted where in-cluster configuration reads it. The image's smoke test runs Rotor this
 * way against the local control plane (test/integration/ship/image.test.ts).
 */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import {
  type ContainerSecurityContext,
  type PodSecurityContext,
  podmanSecurityFlags,
} from "./security-context.ts";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** How this machine's podman runs containers: runc (crun fails on its cgroup layout), host network. */
export const PODMAN_RUNTIME = ["--runtime", "runc"];
/** And what every container run needs here (a setrlimit above these is refused). */
export const RUN_DEFAULTS = [
  "--network",
  "host",
  "--ulimit",
  "nofile=1024:1024",
  "--ulimit",
  "nproc=1000:1000",
];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

export interface DeploymentJson {
  kind: string;
  metadata: { name: string };
  spec: {
    template: {
      spec: {
        serviceAccountName?: string;
        terminationGracePeriodSeconds?: number;
        securityContext?: PodSecurityContext;
        containers: Array<{
          name: string;
          args?: string[];
          env?: EnvVar[];
          securityContext?: ContainerSecurityContext;
        }>;
      };
    };
  };
}

export function readDeployment(file: string, name: string): DeploymentJson {
  const found = parseAllDocuments(readFileSync(file, "utf8"))
    .map((document) => document.toJS() as DeploymentJson | null)
    .find((object) => object?.kind === "Deployment" && object.metadata.name === name);
  if (!found) throw new Error(`${file} has no Deployment ${name}`);
  return found;
}

export interface RunOptions {
  image: string;
  /** The image's USER, which applies when the securityContext names no user. */
  imageUser: string;
  /** The container's name, and the pod name its env sees (fieldRef metadata.name). */
  name: string;
  /** The pod's namespace (fieldRef metadata.namespace). */
  namespace: string;
  /** A directory holding token, ca.crt and namespace, mounted read-only. */
  serviceAccountDir: string;
  /** The API server as in-cluster configuration finds it. */
  apiHost: string;
  apiPort: string;
  /** Replaces the Deployment's arg of the same flag, or is added. */
  args: Record<string, string>;
}

function envFlags(env: EnvVar[], options: RunOptions): string[] {
  const fields: Record<string, string> = {
    "metadata.name": options.name,
    "metadata.namespace": options.namespace,
  };
  return env.flatMap((variable) => {
    const path = variable.valueFrom?.fieldRef?.fieldPath;
    const value = variable.value ?? (path === undefined ? undefined : fields[path]);
    if (value === undefined)
      throw new Error(`env ${variable.name}: no value for ${JSON.stringify(variable.valueFrom)}`);
    return ["--env", `${variable.name}=${value}`];
  });
}

function withArgs(args: string[], replaced: Record<string, string>): string[] {
  const flag = (arg: string) => arg.split("=")[0] as string;
  const kept = args.filter((arg) => !(flag(arg) in replaced));
  return [...kept, ...Object.entries(replaced).map(([name, value]) => `${name}=${value}`)];
}

/** The arguments of `podman run -d` for the Deployment's (only) container. */
export function podmanRunArgs(deployment: DeploymentJson, options: RunOptions): string[] {
  const pod = deployment.spec.template.spec;
  const [container, ...others] = pod.containers;
  if (!container || others.length > 0) throw new Error(`${deployment.metadata.name}: one container expected`);
  return [
    ...PODMAN_RUNTIME,
    "run",
    "--detach",
    "--name",
    options.name,
    ...RUN_DEFAULTS,
    ...podmanSecurityFlags(pod.securityContext, container.securityContext, options.imageUser),
    "--volume",
    `${options.serviceAccountDir}:${SERVICE_ACCOUNT_DIR}:ro`,
    "--env",
    `KUBERNETES_SERVICE_HOST=${options.apiHost}`,
    "--env",
    `KUBERNETES_SERVICE_PORT=${options.apiPort}`,
    ...envFlags(container.env ?? [], options),
    options.image,
    ...withArgs(container.args ?? [], options.args),
  ];
}
