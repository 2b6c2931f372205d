/**
 * `npm run bench:ocs`: many ClientCredentials on one OCS tenant (the simulator), to see what
 * the per-issuer throttle does to the tenant and how long issuing and rotating all of them
 * takes. Prints a table; timings depend on the machine, so this is a benchmark, not a test.
 *
 *   npm run bench:ocs -- --count=300 --rps=10 --concurrency=4
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startControlPlane, stopControlPlane } from "../../hack/controlplane/controlplane.ts";
import { installCrds, kubectl } from "../../hack/controlplane/install.ts";
import { startRotor } from "../../hack/operator/process.ts";
import { OcsSimulator } from "../simulator/ocs/server.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "200" },
    rps: { type: "string", default: "10" },
    concurrency: { type: "string", default: "4" },
  },
});
const count = Number(values.count);
const NS = "bench";

const dir = mkdtempSync(join(tmpdir(), "rotor-bench-"));
const plane = await startControlPlane({ dir, log: () => undefined });
await installCrds(plane);
const k = (args: string[], input?: string) => kubectl(plane, args, input);
const sim = await OcsSimulator.start();
const rotor = await startRotor(
  { kubeconfig: plane.kubeconfig, kubectl: (args) => k(args) },
  {
    args: [
      `--issuer-requests-per-second=${values.rps}`,
      `--issuer-max-concurrent-requests=${values.concurrency}`,
    ],
  },
);
const cleanup = async () => {
  await rotor.stop();
  await sim.stop();
  await stopControlPlane(dir);
  rmSync(dir, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => void cleanup().finally(() => process.exit(130)));
try {
  const tenant = sim.addTenant();
  const admin = sim.addAdminClient(tenant);
  k(["create", "namespace", NS]);
  k([
    "-n",
    NS,
    "create",
    "secret",
    "generic",
    "admin",
    `--from-literal=client_id=${admin.clientId}`,
    `--from-literal=client_secret=${admin.secret}`,
  ]);
  k(["-n", NS, "apply", "-f", "-"], JSON.stringify(issuer(sim.url, tenant)));
  await until(
    "the issuer to be Ready",
    () =>
      k(["-n", NS, "get", "credissuer", "tenant", "-o", "jsonpath={.status.conditions[0].status}"]) ===
      "True",
  );

  const rows: string[][] = [];
  rows.push(
    await phase(
      `issue ${count}`,
      () => {
        k(
          ["-n", NS, "apply", "-f", "-"],
          JSON.stringify({ apiVersion: "v1", kind: "List", items: credentials() }),
        );
      },
      (cc) => Boolean(cc.status?.currentSecretId),
    ),
  );
  rows.push(
    await phase(
      `rotate ${count} at once`,
      () => {
        k(["-n", NS, "annotate", "cc", "--all", "rotor.dev/rotate=1"]);
      },
      (cc) => cc.status?.lastRotateRequest === "1" && cc.status?.slots?.used === 1,
    ),
  );

  console.log(
    `\n${count} ClientCredentials on one OCS tenant (simulator), throttle ${values.rps}/s and ${values.concurrency} in flight\n`,
  );
  console.log("| phase | took | requests to the tenant | peak requests/s | mean requests/s |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
} finally {
  await cleanup();
}

interface Cc {
  status?: { currentSecretId?: string; lastRotateRequest?: string; slots?: { used?: number } };
}

/** Runs `start`, then waits until `done` holds for every ClientCredential; measures the tenant's load. */
async function phase(name: string, start: () => void, done: (cc: Cc) => boolean): Promise<string[]> {
  const before = sim.stats.requests;
  sim.stats.peakPerSecond = 0;
  const started = Date.now();
  start();
  await until(name, () => {
    const items = (JSON.parse(k(["-n", NS, "get", "cc", "-o", "json"])) as { items: Cc[] }).items;
    process.stderr.write(`\r${name}: ${items.filter(done).length}/${count}   `);
    return items.length === count && items.every(done);
  });
  const seconds = (Date.now() - started) / 1000;
  const requests = sim.stats.requests - before;
  return [
    name,
    `${seconds.toFixed(0)} s`,
    String(requests),
    String(sim.stats.peakPerSecond),
    (requests / seconds).toFixed(1),
  ];
}

async function until(what: string, check: () => boolean, timeoutMs = 30 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  process.stderr.write("\n");
}

function issuer(url: string, tenantId: string) {
  return {
    apiVersion: "rotor.dev/v1alpha1",
    kind: "CredentialIssuer",
    metadata: { name: "tenant" },
    spec: { ocs: { url, tenantId, auth: { clientCredentials: { secretRef: { name: "admin" } } } } },
  };
}

function credentials() {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: "rotor.dev/v1alpha1",
    kind: "ClientCredential",
    metadata: { name: `app-${i}` },
    spec: {
      issuerRef: { kind: "CredentialIssuer", name: "tenant" },
      description: `benchmark app ${i}`,
      gracePeriod: "0s",
      rollout: { strategy: "None" },
    },
  }));
}
