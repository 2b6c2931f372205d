/**
 * One soak run: the control plane (its own, or an existing one), the tenants, two supervised
 * replicas, the observers (target Secrets, the issuer's registry, the Lease, the token prober),
 * the faults on schedule; then the settled end state, the figures, and a clean namespace.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alive, loadState } from "../../hack/controlplane/components.ts";
import {
  type ControlPlane,
  startControlPlane,
  stopControlPlane,
} from "../../hack/controlplane/controlplane.ts";
import { startComponent } from "../../hack/controlplane/faults.ts";
import { installCrds, kubectl } from "../../hack/controlplane/install.ts";
import { OPERATOR_NAMESPACE } from "../../hack/operator/process.ts";
import { sleep } from "../../src/runtime/backoff.ts";
import { BenchClient, CC_API, type KubeObject } from "../bench/scale/kube.ts";
import { Watcher } from "../bench/scale/watch.ts";
import { Faults } from "./faults.ts";
import { findOrphans, Issuer, REGISTRY_PATH } from "./issuer.ts";
import { minutesOf, type SoakOptions, schedule } from "./options.ts";
import { Prober } from "./prober.ts";
import { Replica, superviseAll } from "./replicas.ts";
import { distribution, type SoakResult } from "./report.ts";
import { Targets } from "./targets.ts";
import {
  createConsumers,
  createCredentials,
  createNamespaces,
  persist,
  plan,
  RUN_LABEL,
  removeTenants,
  type Tenant,
} from "./workload.ts";

const root = join(import.meta.dirname, "..", "..");
const IDENTITIES = ["soak-a", "soak-b"];
/**
 * What deploy/operator.yaml passes: the Service both replicas stand behind. Without it each
 * replica writes its own https://127.0.0.1:<port> into target Secrets, and every change of
 * leader rewrites every target and restarts every consumer.
 */
const ISSUER_URL = `--issuer-url=https://rotor.${OPERATOR_NAMESPACE}.svc:8443`;

export type Log = (line: string) => void;

export async function runSoak(
  options: SoakOptions,
  log: Log = (line) => process.stderr.write(`[soak] ${line}\n`),
): Promise<SoakResult> {
  const logDir = mkdtempSync(join(tmpdir(), "rotor-soak-"));
  log(`Rotor's logs: ${logDir}`);
  const ownPlane = options.controlPlaneDir === undefined;
  const dir = options.controlPlaneDir ?? mkdtempSync(join(tmpdir(), "rotor-soak-plane-"));
  // What the end (or a failure) must stop, in this order.
  let prober: Prober | undefined;
  let supervisor: { stop: () => Promise<void> } | undefined;
  let client: BenchClient | undefined;
  let tenants: Tenant[] | undefined;
  const replicas: Replica[] = [];
  const watchers: Watcher[] = [];
  try {
    let plane: Pick<ControlPlane, "kubeconfig" | "binDir" | "server">;
    if (ownPlane) {
      plane = await startControlPlane({ dir, log: (line) => log(`[controlplane] ${line}`) });
      await installCrds(plane);
    } else {
      const state = loadState(dir);
      plane = {
        kubeconfig: options.kubeconfig ?? state.kubeconfig,
        binDir: state.binDir,
        server: state.server,
      };
    }
    const bench = new BenchClient(plane.server, plane.kubeconfig);
    client = bench;
    const run = Date.now().toString(36).slice(-6);
    tenants = plan(options, run);
    const namespaces = tenants.map((t) => t.namespace);
    await createNamespaces(bench, tenants, run);
    const deployments = await createConsumers(bench, tenants, options.perDeployment);
    log(`${deployments} Deployments in ${namespaces.length} namespaces (${namespaces.join(", ")})`);

    const watch = async (path: string) => {
      const watcher = new Watcher(bench, path);
      await persist(`list ${path}`, () => watcher.start());
      watchers.push(watcher);
      return watcher;
    };
    const targetWatch = await watch(
      `/api/v1/secrets?labelSelector=${encodeURIComponent(`${RUN_LABEL}=${run},rotor.dev/role=target`)}`,
    );
    const registryWatch = await watch(REGISTRY_PATH);

    const cluster = { kubeconfig: plane.kubeconfig, kubectl: (args: string[]) => kubectl(plane, args) };
    for (const identity of IDENTITIES) {
      const replica = new Replica(identity, logDir);
      await replica.start(cluster, [ISSUER_URL]);
      replicas.push(replica);
    }
    log(`replicas ${IDENTITIES.join(", ")} serving`);

    const runStart = Date.now();
    const runEnd = runStart + options.minutes * 60_000;
    const targets = new Targets(bench, targetWatch);
    const issuer = new Issuer(registryWatch, namespaces, runStart);
    const faults = new Faults(bench, replicas, { dir, apiDownMs: options.apiDownMs, log });
    await persist("watch the Lease", () => faults.lease.start());
    watchers.push(faults.lease);
    supervisor = superviseAll(replicas, runStart);

    const all = tenants.flatMap((t) => t.credentials);
    const probed = Array.from(
      { length: Math.min(options.probed, all.length) },
      (_, i) => all[Math.floor((i * all.length) / options.probed)] as string,
    );
    const tokens = new Prober(bench, targets, replicas, probed, runStart);
    prober = tokens;
    tokens.start();

    const faultPlan = schedule(options);
    log(
      `schedule over ${options.minutes} min: ${faultPlan.map((f) => `${f.kind} at ${minutesOf(f.atMs)}`).join(", ") || "no faults"}`,
    );
    const faultsDone = faults.run(faultPlan, runStart);
    const creating = createCredentials(bench, tenants, run, (n) => {
      if (n % Math.max(1, Math.floor(all.length / 4)) === 0 || n === all.length)
        log(`${n}/${all.length} ClientCredentials created`);
    });

    const status = () => {
      const rss = replicas.map((r) => `${r.identity} ${r.samples.at(-1)?.rssMiB.toFixed(0) ?? "?"} MiB`);
      log(
        `${minutesOf(Date.now() - runStart)} of ${options.minutes}: ${targets.count} targets, ` +
          `${targets.rotations.length} rotations (${targets.late.length} late), ${targets.expired.length} expired, ` +
          `tokens ${tokens.ok}/${tokens.requests} ok (${tokens.refusedValid} refused valid), ` +
          `leader ${faults.holder() ?? "none"}, restarts ${replicas.map((r) => r.restarts).join("/")}, RSS ${rss.join(", ")}`,
      );
    };
    let lastStatus = Date.now();
    while (Date.now() < runEnd) {
      await sleep(2000);
      await targets.checkExpiry();
      if (Date.now() - lastStatus >= 30_000) {
        status();
        lastStatus = Date.now();
      }
    }
    await creating;
    faults.stop();
    await faultsDone;
    const seconds = (Date.now() - runStart) / 1000;
    log("the run is over: waiting for both replicas to serve, then looking for orphans");
    await ensureApiServer(dir);
    const settleEnd = Date.now() + 120_000;
    while (!replicas.every((r) => r.serving) && Date.now() < settleEnd) await sleep(1000);
    await tokens.stop();
    await targets.checkExpiry();
    const orphans = await persist("look for orphans", () => findOrphans(bench, issuer, namespaces));
    const readyAtEnd = await persist("count Ready", () => countReady(bench, namespaces));
    await supervisor.stop();
    status();

    const revocations: number[] = [];
    for (const [key, at] of issuer.revokedAt) {
      const superseded = targets.supersededAt.get(key);
      if (superseded !== undefined) revocations.push((at - superseded) / 1000);
    }
    const result: SoakResult = {
      options,
      revision: revision(),
      deployments,
      namespaces: namespaces.length,
      seconds,
      rotations: targets.rotations.length,
      renewalDelay: distribution(targets.rotations.map((r) => r.delaySeconds)),
      late: targets.late.length,
      revocationDelay: distribution(revocations),
      expiredBeforeReplaced: targets.expired,
      orphans,
      mostSecrets: issuer.most,
      tokens: {
        requests: tokens.requests,
        ok: tokens.ok,
        refusedValid: tokens.refusedValid,
        cutByKill: tokens.cutByKill,
        refusals: tokens.refusals,
      },
      faults: faults.results,
      replicas: replicas.map((r) => ({
        identity: r.identity,
        restarts: r.restarts,
        kills: r.kills,
        exits: r.exits,
        samples: r.samples,
      })),
      readyAtEnd,
    };
    return result;
  } finally {
    await prober?.stop().catch(() => undefined);
    await supervisor?.stop();
    await ensureApiServer(dir).catch((error: Error) =>
      log(`the API server could not be started again: ${error.message}`),
    );
    // While Rotor still runs: it revokes the secrets and lets the ClientCredentials go.
    if (client && tenants) {
      log("removing the run's ClientCredentials and namespaces");
      await removeTenants(client, tenants).catch((error: Error) => log(`cleanup: ${error.message}`));
    }
    for (const replica of replicas) await replica.stop();
    for (const watcher of watchers) await watcher.stop();
    await client?.close().catch(() => undefined);
    if (ownPlane) {
      await stopControlPlane(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Starts the API server again if a run ended (or failed) while it was down. */
async function ensureApiServer(dir: string | undefined): Promise<void> {
  if (!dir) return;
  const pid = loadState(dir).pids["kube-apiserver"];
  if (pid === undefined || !alive(pid)) await startComponent(dir, "kube-apiserver");
}

async function countReady(client: BenchClient, namespaces: string[]): Promise<number> {
  let ready = 0;
  for (const namespace of namespaces) {
    const list = await client.get<{ items: KubeObject[] }>(
      `${CC_API}/namespaces/${namespace}/clientcredentials`,
    );
    for (const cc of list.items) {
      const conditions = (cc.status?.conditions ?? []) as Array<{ type: string; status: string }>;
      if (conditions.some((c) => c.type === "Ready" && c.status === "True")) ready++;
    }
  }
  return ready;
}

function revision(): string {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty"], { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}
