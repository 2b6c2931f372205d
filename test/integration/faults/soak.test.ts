/**
 * The week in an hour, in five minutes (issue 13, scenario 5): the soak (test/soak) against the
 * shard's control plane. Two Rotor replicas with leader election serve ClientCredentials that
 * live two minutes, consumed by Deployments on kwok, while the leader is SIGKILLed twice (once
 * restarted at once, once after its Lease expired) and the API server is restarted once. What
 * is asserted are the invariants, never the timings: no secret expired while still in its
 * target Secret, no orphaned secret at the issuer, never more secrets per client than
 * maxSecrets, no token refused for a valid secret, and that the rotations and faults took place.
 *
 * 50 credentials rather than the soak's 200: the CI machine has two cores and runs the other
 * shard beside this one; 50 still rotate 0.8 times a second, through 5 Deployments, with every
 * fault. The table of figures is printed for whoever reads the log.
 */
import { afterAll, describe, expect, it } from "vitest";
import { alive, loadState } from "../../../hack/controlplane/components.ts";
import { startComponent } from "../../../hack/controlplane/faults.ts";
import { parseOptions, SPEC } from "../../soak/options.ts";
import { type SoakResult, table } from "../../soak/report.ts";
import { runSoak } from "../../soak/run.ts";
import { controlPlane, eventually, kubectl } from "../../support/cluster.ts";

let result: SoakResult | undefined;

afterAll(async () => {
  // Whatever happened, the next file finds the API server running and Ready.
  const dir = controlPlane().dir;
  if (dir) {
    const pid = loadState(dir).pids["kube-apiserver"];
    if (pid === undefined || !alive(pid)) await startComponent(dir, "kube-apiserver");
  }
  await eventually(
    "the API server Ready",
    () => kubectl(["get", "--raw", "/readyz"]).code === 0 || undefined,
  );
}, 180_000);

describe("the week in an hour, in five minutes", () => {
  it("keeps every secret valid and accounted for through leader kills and an API server restart", {
    timeout: 20 * 60_000,
  }, async () => {
    const plane = controlPlane();
    if (!plane.dir)
      throw new Error(
        "the soak restarts the API server: it needs the local control plane, not an outside cluster",
      );
    result = await runSoak(
      parseOptions([
        "--minutes=5",
        "--credentials=50",
        `--controlplane-dir=${plane.dir}`,
        `--kubeconfig=${plane.kubeconfig}`,
      ]),
    );
    console.log(table(result));

    expect(result.expiredBeforeReplaced, "secrets that expired while still in their target").toEqual([]);
    expect(result.orphans, "secrets at the issuer that no status knows about").toEqual([]);
    expect(result.mostSecrets.count).toBeLessThanOrEqual(SPEC.maxSecrets);
    expect(
      result.tokens.refusals.filter((r) => r.valid === true),
      "token requests refused for valid secrets",
    ).toEqual([]);
    expect(result.tokens.ok).toBeGreaterThan(0);
    // Every credential rotated at least twice in five minutes: the soak did what it says.
    expect(result.rotations).toBeGreaterThanOrEqual(2 * 50);
    const kills = result.faults.filter((f) => f.kind === "leader-kill" && f.detail.startsWith("killed"));
    const restarts = result.faults.filter((f) => f.kind === "api-restart" && f.detail.startsWith("away"));
    expect(kills.length).toBe(2);
    expect(restarts.length).toBe(1);
  });
});
