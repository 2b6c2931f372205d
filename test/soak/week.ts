/**
 * `npm run soak`: the week in an hour. ClientCredentials with a two-minute validity, consumed by
 * Deployments on kwok, served by two Rotor replicas with leader election, while the leader is
 * killed and the API server restarted on schedule. Prints one markdown table (stdout; progress
 * on stderr) and exits 1 when an invariant fails: a secret expired before it was replaced, an
 * orphaned secret at the issuer, a client holding more than maxSecrets, a token refused for a
 * valid secret (or no rotation, or a scheduled fault that did not happen). Timings are reported,
 * never judged: this is a benchmark with invariants, not a timing test.
 *
 *   npm run soak -- --minutes=60                       (own control plane; about 65 minutes)
 *   npm run soak -- --minutes=5 --credentials=50 --json=soak.json
 *   npm run soak -- --controlplane-dir=<dir> [--kubeconfig=<dir>/kubeconfig]   (an existing one)
 *   flags: --kill-every=5m --api-restart-every=10m --api-down=10s --per-deployment=10
 *          --per-namespace=50 --probed=4
 *
 * Settings, and why:
 * - Every credential: `validity: 2m`, `renewBefore: 60s`, `gracePeriod: 10s`, `maxSecrets: 4`,
 *   embedded issuer, rollout strategy Restart (the default). renewBefore's default (validity/3,
 *   40 s) would leave little room; at 60 s a secret is renewed at half its life, so a renewal
 *   held up by a failover (the Lease's 15 s) or an API server restart (10 s down plus its
 *   start-up) still lands long before expiry: a late renewal shows, an expired secret fails.
 *   gracePeriod's default (5m) outlives the validity, so superseded secrets would only ever go
 *   by expiring; 10 s makes every revocation pass the rollover gate (restart, old pods gone,
 *   grace). Steady state holds two secrets per client (current, superseded until its rollover),
 *   three for a moment at worst; maxSecrets 4 leaves one spare, so a fifth is a leak or a double
 *   mint (the issuer itself would take up to 10).
 * - Shape: 200 credentials (--credentials) renew every 60 s: 3.3 rotations a second. Ten
 *   credentials per Deployment (one replica, the default rolling update): Rotor coalesces the
 *   restarts of one workload within --restart-window (10 s), so 20 Deployments roll at most
 *   twice a second in all; one Deployment per credential would be 3.3 rollouts (ReplicaSets,
 *   pods) a second on a two-core machine, for no more coverage. Namespaces of 50 credentials
 *   (5 Deployments): under --max-restarts-per-namespace (10 per window), so restarts are never
 *   throttled and a late rollover is Rotor's, not the limit's. The credentials are created
 *   evenly over the first 60 s, so that renewals spread over the period as in a cluster that has
 *   run for a while. Measured on the benchmark (README), a rotation costs Rotor about 17 ms
 *   and the API server about 35 ms of CPU: a few tenths of a core for the whole soak.
 * - Rotor runs from source (`node src/main.ts`, with the image's Node flags), with default flags
 *   but `--issuer-url` (the Service both replicas stand behind, as in deploy/operator.yaml), TLS
 *   on its token endpoint, as replicas `soak-a` and `soak-b` of one Deployment; each is started
 *   again when its process exits, keeping its name (CrashLoopBackOff-like delays after an exit
 *   of its own).
 * - Faults: the Lease holder is SIGKILLed every min(5m, minutes/2.5), in turns restarted after
 *   1 s (a crashed container: it may take its own Lease back) and after 20 s (a lost node: the
 *   other replica takes over once the Lease expires); kube-apiserver is stopped for 10 s and
 *   started again every min(10m, minutes/2), half a kill interval after a kill; no fault in the
 *   last 45 s.
 * - What is measured, and how: see targets.ts (rotations, lateness, expiry), issuer.ts (secrets
 *   per client, revocations, orphans), prober.ts (tokens), faults.ts, replicas.ts (RSS, fds).
 */
import { writeFileSync } from "node:fs";
import { parseOptions } from "./options.ts";
import { failures, table } from "./report.ts";
import { runSoak } from "./run.ts";

const options = parseOptions(process.argv.slice(2));
let code: number;
try {
  const result = await runSoak(options);
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${table(result)}\n`);
  const failed = failures(result);
  for (const failure of failed) process.stderr.write(`[soak] FAILED: ${failure}\n`);
  if (failed.length === 0) process.stderr.write("[soak] every invariant held\n");
  code = failed.length === 0 ? 0 : 1;
} catch (error) {
  process.stderr.write(`[soak] the run failed: ${(error as Error).stack ?? String(error)}\n`);
  code = 2;
}
process.exit(code);
