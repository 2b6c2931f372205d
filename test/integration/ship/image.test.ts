/**
 * The runtime image, built as CI builds it (hack/image/build.sh: podman, no registry) and run as
 * deploy/operator.yaml runs it: each Deployment's container under podman with its pod's and
 * container's securityContext, as its own service account of deploy/rbac.yaml (a token mounted
 * where in-cluster configuration reads it, KUBERNETES_SERVICE_HOST/PORT naming the local API
 * server; no kubeconfig anywhere), in a namespace of its own. Rotor starts and answers /readyz,
 * a ClientCredential becomes Ready (the controller checks the new secret at the token server
 * over TLS) and a workload gets a token; both processes run as uid 65532 with no capabilities on
 * a read-only root, and stop on SIGTERM with exit code 0 within the grace period.
 */
import { readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../hack/controlplane/controlplane.ts";
import {
  type DeploymentJson,
  podmanRunArgs,
  RUN_DEFAULTS,
  readDeployment,
} from "../../../hack/image/deployment.ts";
import { rbacInNamespace, serviceAccountDir } from "../../../hack/image/identity.ts";
import { buildImage, inspect, logs, podman } from "../../../hack/image/podman.ts";
import { PRODUCTION_NODE_FLAGS } from "../../../hack/operator/process.ts";
import { eventually, kubeConfig, kubectl, kubectlOk, testNamespace } from "../../support/cluster.ts";
import { createClientCredential, decoded, readSecret, waitForReady } from "../../support/credentials.ts";

const root = join(import.meta.dirname, "..", "..", "..");
const USER = 65532;

/** Run by the image's Node: every program outside /app, any TypeScript or source map, and what /app holds. */
const SURVEY = `const fs = require("fs"), path = require("path"), found = { programs: [], typescript: [] };
  const walk = (dir) => { for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (["/proc", "/sys", "/dev"].includes(file)) continue;
    if (entry.isDirectory()) walk(file);
    else if (!entry.isFile()) continue;
    else if (/\\.(ts|mts|cts|map)$/.test(file)) found.typescript.push(file);
    else if (fs.statSync(file).mode & 0o111 && !/^ld-linux|\\.so(\\.|$)/.test(entry.name) && !file.startsWith("/app/"))
      found.programs.push(file); } };
  walk("/");
  const has = (file) => fs.existsSync(file);
  console.log(JSON.stringify({ ...found, app: fs.readdirSync("/app").sort(), main: has("/app/dist/main.js"),
    clientNode: has("/app/node_modules/@kubernetes/client-node/package.json"),
    devDependencies: ["typescript", "vitest", "@biomejs/biome", "node"].filter((p) => has("/app/node_modules/" + p)) }));`;

interface Container {
  name: string;
  deployment: DeploymentJson;
  metricsPort: number;
  dir: string;
}

describe("the runtime image, run as deploy/operator.yaml runs it", () => {
  let image: string;
  let rotorNs: Awaited<ReturnType<typeof testNamespace>>;
  let tenant: Awaited<ReturnType<typeof testNamespace>>;
  let bindings: string[] = [];
  let tokenUrl: string;
  const containers: Container[] = [];

  /** Starts a Deployment's container and waits until Rotor says it serves. */
  async function run(deploymentName: string, args: Record<string, string>) {
    const deployment = readDeployment(join(root, "deploy", "operator.yaml"), deploymentName);
    const serviceAccount = deployment.spec.template.spec.serviceAccountName ?? "default";
    const container: Container = {
      name: `${deploymentName}-image-test-${process.pid}`,
      deployment,
      metricsPort: await freePort(),
      dir: await serviceAccountDir(kubeConfig(), rotorNs.name, serviceAccount, USER),
    };
    containers.push(container);
    const server = new URL(kubeConfig().getCurrentCluster()?.server as string);
    await podman(
      podmanRunArgs(deployment, {
        image,
        imageUser: await inspect(image, "{{.Config.User}}"),
        name: container.name,
        namespace: rotorNs.name,
        serviceAccountDir: container.dir,
        apiHost: server.hostname,
        apiPort: server.port,
        args: { ...args, "--metrics-port": String(container.metricsPort) },
      }),
    );
    await eventually(`${container.name} serving`, async () => {
      if ((await inspect(container.name, "{{.State.Running}}")) !== "true")
        throw new Error(`${container.name} exited:\n${(await logs(container.name)).slice(-3000)}`);
      return (await logs(container.name)).includes("Rotor is serving");
    });
    return container;
  }

  beforeAll(async () => {
    const started = Date.now();
    const built = await buildImage();
    console.log(`[image] ${built.summary} (${((Date.now() - started) / 1000).toFixed(0)}s here)`);
    image = built.image;
    rotorNs = await testNamespace("image-rotor");
    tenant = await testNamespace("image-tenant");
    const rbac = rbacInNamespace(join(root, "deploy", "rbac.yaml"), rotorNs.name);
    kubectlOk(["apply", "--server-side", "--field-manager=rotor-install", "-f", "-"], rbac.manifest);
    bindings = rbac.clusterBindings;
    const tokenPort = await freePort();
    tokenUrl = `https://127.0.0.1:${tokenPort}`;
    // The controller first: it creates the signing keys and the CA the token server only reads.
    await run("rotor", { "--issuer-url": tokenUrl, "--port": String(await freePort()) });
    await run("rotor-token-server", { "--issuer-url": tokenUrl, "--port": String(tokenPort) });
  }, 900_000);

  afterEach(async ({ task }) => {
    if (task.result?.state !== "fail") return;
    for (const { name } of containers)
      console.error(`--- ${name}'s log ---\n${(await logs(name)).split("\n").slice(-80).join("\n")}\n---`);
  });

  afterAll(async () => {
    for (const { name, dir } of containers) {
      await podman(["rm", "--force", "--time", "0", name]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
    await tenant?.remove();
    await rotorNs?.remove();
    for (const binding of bindings) kubectl(["delete", "clusterrolebinding", binding, "--ignore-not-found"]);
  });

  it("holds Node, the compiled JavaScript and production dependencies; no shell, no npm, no other program", async () => {
    const found = JSON.parse(
      await podman([
        ...["run", "--rm", ...RUN_DEFAULTS],
        // As root, to read every directory; the survey only reads.
        ...["--user", "0", "--entrypoint", "node", image, "-e", SURVEY],
      ]),
    );
    expect(found).toEqual({
      programs: ["/usr/local/bin/node"],
      typescript: [],
      app: ["dist", "node_modules", "package.json"],
      main: true,
      clientNode: true,
      devDependencies: [],
    });
  });

  it("says what it is: labels from package.json and git, the Node flags of production, a numeric user", async () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const config = JSON.parse(await podman(["image", "inspect", "--format", "{{json .Config}}", image]));
    expect(config).toMatchObject({
      User: `${USER}:${USER}`,
      WorkingDir: "/app",
      Entrypoint: ["node", ...PRODUCTION_NODE_FLAGS, "dist/main.js"],
      Labels: {
        "org.opencontainers.image.title": pkg.name,
        "org.opencontainers.image.description": pkg.description,
        "org.opencontainers.image.version": pkg.version,
        "org.opencontainers.image.licenses": pkg.license,
        "org.opencontainers.image.source": expect.stringMatching(/^https:\/\//),
        "org.opencontainers.image.revision": expect.stringMatching(/^([0-9a-f]{40}|unknown)$/),
      },
    });
    expect(Date.parse(config.Labels["org.opencontainers.image.created"])).toBeGreaterThan(0);
  });

  it("starts with in-cluster configuration: /readyz answers, the controller leads as its pod", async () => {
    for (const { metricsPort } of containers)
      await eventually("/readyz 200", async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok);
    const holder = await eventually("the Lease held", () => {
      const lease = kubectl([
        "-n",
        rotorNs.name,
        "get",
        "lease",
        "rotor-leader",
        "-o",
        "jsonpath={.spec.holderIdentity}",
      ]);
      return lease.stdout || undefined;
    });
    expect(holder).toBe(containers[0]?.name);
  });

  it("makes a ClientCredential Ready through the token server; a workload gets a token over TLS", async () => {
    await createClientCredential(tenant.name, "svc", {});
    const cc = await waitForReady(tenant.name, "svc");
    const target = await readSecret(tenant.name, "svc");
    expect(decoded(target, "token_url")).toBe(`${tokenUrl}/oauth2/token`);
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: cc.status?.clientId as string,
      client_secret: decoded(target, "client_secret") as string,
    });
    const status = await new Promise<number>((resolve, reject) => {
      const options = { method: "POST", ca: decoded(target, "ca.crt"), agent: false };
      const headers = { "content-type": "application/x-www-form-urlencoded" };
      const req = httpsRequest(`${tokenUrl}/oauth2/token`, { ...options, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(form.toString());
    });
    expect(status).toBe(200);
  });

  it("runs as uid and gid 65532, with no capabilities, no new privileges and a seccomp filter", async () => {
    for (const { name } of containers) {
      const status = readFileSync(`/proc/${await inspect(name, "{{.State.Pid}}")}/status`, "utf8");
      const field = (key: string) => status.match(new RegExp(`^${key}:\\s*(.*)$`, "m"))?.[1]?.split(/\s+/);
      expect(field("Uid"), name).toEqual(Array(4).fill(String(USER)));
      expect(field("Gid"), name).toEqual(Array(4).fill(String(USER)));
      for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"])
        expect(field(set), `${name} ${set}`).toEqual(["0000000000000000"]);
      expect(field("NoNewPrivs"), name).toEqual(["1"]);
      expect(field("Seccomp"), name).toEqual(["2"]); // a filter: the runtime's default profile
    }
  });

  it("runs on a read-only root: nowhere can be written, not even /tmp or its home", async () => {
    const probe = `for (const d of ["/", "/tmp", "/app", "/home/nonroot"]) {
      try { require("fs").writeFileSync(d + "/probe", ""); console.log(d, "written"); }
      catch (e) { console.log(d, e.code); } }`;
    for (const { name } of containers) {
      const answers = await podman(["exec", name, "node", "-e", probe]);
      expect(answers.split("\n"), name).toEqual([
        "/ EROFS",
        "/tmp EROFS",
        "/app EROFS",
        "/home/nonroot EROFS",
      ]);
    }
  });

  it("stops on SIGTERM with exit code 0, within the Deployment's grace period", async () => {
    await tenant.remove(); // while the controller runs: it completes the ClientCredential's finalizer
    for (const { name, deployment } of containers) {
      const grace = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
      const started = Date.now();
      // SIGTERM, then SIGKILL after the grace period (as the kubelet): exit code 137 then, not 0.
      await podman(["stop", "--time", String(grace), name]);
      console.log(
        `[image] ${name} stopped in ${((Date.now() - started) / 1000).toFixed(1)}s (grace ${grace}s)`,
      );
      expect(await inspect(name, "{{.State.ExitCode}}"), name).toBe("0");
      expect(await logs(name), name).toContain('"msg":"stopped"');
    }
  });
});

describe("the Dockerfile, for users with Docker (CI builds hack/image/Containerfile)", () => {
  const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
  const containerfile = readFileSync(join(root, "hack", "image", "Containerfile"), "utf8");
  const line = (file: string, start: string) => file.split("\n").find((l) => l.startsWith(start));
  const label = (file: string, name: string) =>
    file.match(new RegExp(`org\\.opencontainers\\.image\\.${name}="([^"]*)"`))?.[1];

  it("builds the same runtime shape: user, entrypoint, Node version, labels", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
    for (const instruction of ["ENV ", "USER ", "ENTRYPOINT ", "WORKDIR ", "EXPOSE "])
      expect(line(dockerfile, instruction), instruction).toBe(line(containerfile, instruction));
    expect(line(dockerfile, "ARG NODE_VERSION=")).toBe(
      `ARG NODE_VERSION=${lock.packages["node_modules/node"].version}`,
    );
    expect(line(dockerfile, "ARG VERSION=")).toBe(`ARG VERSION=${pkg.version}`);
    for (const name of ["title", "description", "source", "licenses"])
      expect(label(dockerfile, name), name).toBe(label(containerfile, name));
    expect(label(containerfile, "description")).toBe(pkg.description);
  });
});
