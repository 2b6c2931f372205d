/**
 * The integration tests in shards run side by side, each shard a vitest run with its own control
 * plane. Most of a file's time is Rotor and the cluster waiting (for a renewal, a grace period, a
 * rollout timeout, an outage the faults tests cause), so shards side by side take far less time
 * than one after another, even on two cores. Files are dealt longest first to the shard with the
 * least work (the seconds below were measured on 2 cores; a file not listed counts as 20 s).
 * Every line is prefixed with its shard.
 *
 *   node hack/test-integration.ts [--shards=N] [vitest arguments]   # ROTOR_TEST_SHARDS, default 3
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";

const SECONDS: Record<string, number> = {
  "faults/soak.test.ts": 314,
  "rollout.test.ts": 234,
  "faults/apiserver-restarts.test.ts": 233,
  "faults/slow-api.test.ts": 221,
  "faults/leader-failover.test.ts": 169,
  "lifecycle.test.ts": 155,
  "ocs-faults.test.ts": 121,
  "ship/alerts.test.ts": 111,
  "security/least-privilege.test.ts": 100,
  "ship/gitops-health.test.ts": 96,
  "ship/image.test.ts": 92,
  "faults/etcd.test.ts": 86,
  "ocs-issuer.test.ts": 77,
  "crash.test.ts": 72,
  "security/endpoint-tokens.test.ts": 36,
  "ship/flags.test.ts": 35,
  "embedded-issuer.test.ts": 35,
  "security/clocks.test.ts": 29,
  "security/tenancy.test.ts": 28,
  "ship/kustomize.test.ts": 26,
  "security/ocs-hostile-url.test.ts": 26,
  "crds.test.ts": 25,
  "ship/field-managers.test.ts": 24,
  "security/ocs-token-endpoint.test.ts": 22,
  "security/endpoint-hostile-requests.test.ts": 19,
  "ship/helm.test.ts": 18,
  "security/ocs-named-clients.test.ts": 17,
  "ship/kubectl-plugin.test.ts": 16,
  "ocs-roles.test.ts": 16,
  "budget.test.ts": 15,
  "security/endpoint-tls.test.ts": 14,
  "crd-deletion.test.ts": 13,
  "security/queue-fairness.test.ts": 8,
  "security/endpoint-lockout.test.ts": 7,
  "oauth2/lifecycle.test.ts": 60,
  "oauth2/faults.test.ts": 30,
  "oauth2/recovery.test.ts": 7,
  "oauth2/issuer.test.ts": 5,
  "oauth2/refusals.test.ts": 5,
  "hydra.test.ts": 5,
  "security/leader-fence.test.ts": 1,
  "controlplane.test.ts": 1,
};

const root = join(import.meta.dirname, "..");
const dir = join(root, "test", "integration");
const option = process.argv.find((a) => a.startsWith("--shards="));
const shards = Number(option?.slice("--shards=".length) ?? process.env.ROTOR_TEST_SHARDS ?? 3);
const passOn = process.argv.slice(2).filter((a) => a !== option);

const files = (readdirSync(dir, { recursive: true }) as string[])
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => ({ file: f, seconds: SECONDS[f] ?? 20 }))
  .sort((a, b) => b.seconds - a.seconds);
const plan = Array.from({ length: shards }, () => ({ seconds: 0, files: [] as string[] }));
for (const { file, seconds } of files) {
  const lightest = plan.reduce((min, shard) => (shard.seconds < min.seconds ? shard : min));
  lightest.seconds += seconds;
  lightest.files.push(relative(root, join(dir, file)));
}

const runs = plan.map(
  (shard, i) =>
    new Promise<number>((resolve) => {
      const prefix = `[shard ${i + 1}] `;
      console.log(`${prefix}${shard.files.length} files, about ${shard.seconds} s`);
      const child = spawn("vitest", ["run", "--project", "integration", ...passOn, ...shard.files], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      });
      for (const stream of [child.stdout, child.stderr])
        createInterface({ input: stream }).on("line", (line) => console.log(prefix + line));
      child.on("close", (code) => resolve(code ?? 1));
    }),
);
const codes = await Promise.all(runs);
process.exit(codes.find((code) => code !== 0) ?? 0);
