/**
 * Leader failover (issue 13, scenario 1). Two replicas with leader election and the default
 * Lease timings (15 s duration, 10 s renew deadline, 2 s retry) while 50 ClientCredentials renew
 * every minute, 5 more rotate on request one request at a time, and one more is used by a
 * Deployment (so that a coalesced restart is pending whenever the leader stops). A prober asks
 * the ready token endpoints for a token with each current secret, as workloads would.
 *
 * The leader is SIGKILLed twice: as a crashed container (the kubelet starts it at once, with
 * the same name, and it takes its Lease back) and as a lost node (it stays down until the other
 * replica has taken over). Then the new leader is frozen with SIGSTOP and thawed 30 s later. Its renew deadline passed while it was frozen, so
 * it must not send a single Kubernetes write after the other took over — not even the ones its
 * in-flight reconciles were about to make — and it must step down and follow, still serving,
 * instead of exiting. Throughout: one switch per rotate request (no double mint), never more
 * than the budget, no secret expired before it was replaced, no token refused; afterwards no
 * orphan. The time from each fault to the new leader's first reconcile is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../../src/runtime/backoff.ts";
import { eventually, testNamespace } from "../../support/cluster.ts";
import {
  annotate,
  createClientCredential,
  getClientCredential,
  waitForReady,
} from "../../support/credentials.ts";
import {
  describeWrites,
  Fleet,
  kubeWrites,
  leaseHolder,
  logLines,
  metricSum,
  type Replica,
} from "../../support/fleet.ts";
import { Observer } from "../../support/observer.ts";
import { expectSettled } from "../../support/settled.ts";
import { createDeployment, podSpec } from "../../support/workloads.ts";

const RENEWING = Array.from({ length: 50 }, (_, i) => `renews-${i}`);
const REQUESTED = Array.from({ length: 5 }, (_, i) => `requested-${i}`);
const ALL = [...RENEWING, ...REQUESTED, "consumed"];
const seconds = (ms: number) => (ms / 1000).toFixed(1);

let ns: Awaited<ReturnType<typeof testNamespace>>;
let fleet: Fleet;
let observer: Observer;
const frozen = new Set<Replica>();
let requesting = true;
const requests = new Map(REQUESTED.map((name) => [name, 0]));
let requester: Promise<void> | undefined;

beforeAll(async () => {
  ns = await testNamespace("failover");
  fleet = await Fleet.start(["a", "b"]);
  await eventually("a leader", () => fleet.leader(), 60_000);
  for (const name of RENEWING)
    await createClientCredential(ns.name, name, {
      validity: "3m",
      renewBefore: "2m",
      gracePeriod: "10s",
      rollout: { strategy: "None" },
    });
  for (const name of REQUESTED)
    await createClientCredential(ns.name, name, {
      validity: "1h",
      gracePeriod: "0s",
      rollout: { strategy: "None" },
    });
  await createClientCredential(ns.name, "consumed", { validity: "3m", renewBefore: "2m", gracePeriod: "0s" });
  await createDeployment(ns.name, "consumer", podSpec(["consumed"]), 1);
  for (const name of ALL) await waitForReady(ns.name, name, 120_000);
  observer = new Observer(ns.name)
    .watch()
    // Not the REQUESTED ones: with gracePeriod 0s a superseded secret is revoked at once, before the poll sees the switch.
    .probe([...RENEWING, "consumed"], () => fleet.serving(frozen));
  // One rotate request at a time per ClientCredential: each must switch its target exactly once.
  requester = Promise.all(
    REQUESTED.map(async (name) => {
      while (requesting) {
        const n = (requests.get(name) ?? 0) + 1;
        await annotate(ns.name, name, { "rotor.dev/rotate": `r${n}` });
        requests.set(name, n);
        await eventually(
          `${name} rotation r${n}`,
          async () => {
            // Done, and seen by the observer's poll: no switch goes unseen.
            const cc = await getClientCredential(ns.name, name);
            const id = cc?.status?.currentSecretId;
            return (
              (cc?.status?.lastRotateRequest === `r${n}` && observer.current.get(name)?.secretId === id) ||
              undefined
            );
          },
          180_000,
        );
      }
    }),
  ).then(() => undefined);
}, 300_000);

afterAll(async () => {
  requesting = false;
  for (const replica of frozen) replica.rotor.signal("SIGCONT");
  await requester?.catch(() => undefined);
  await observer?.stop();
  await ns?.remove();
  await fleet?.stop();
});

/** The first time `replica` logged `msg` after `since`. */
const logged = (replica: Replica, msg: string, since: number) =>
  logLines(replica.rotor).find((l) => l.msg === msg && l.time >= since)?.time;
const firstReconcileWrite = (replica: Replica, since: number) =>
  kubeWrites(replica.rotor).find((l) => l.time >= since && !l.path?.includes("/leases/"))?.time;

describe("leader failover", () => {
  it("SIGKILL, then SIGSTOP for 30 s: the other replica takes over, the frozen one never writes again", {
    timeout: 600_000,
  }, async () => {
    const figures: string[] = [];

    // 1. The leader's container crashes; the kubelet starts it again and it takes its Lease back.
    const first = await eventually("a leader", () => fleet.byIdentity(leaseHolder()), 30_000);
    await sleep(5_000);
    const crashedAt = Date.now();
    await fleet.kill(first);
    const back = await eventually(
      "the restarted replica to lead",
      () => logged(first, "became leader", crashedAt),
      60_000,
    );
    const resumed = await eventually("its first reconcile", () => firstReconcileWrite(first, back), 60_000);
    figures.push(
      `container crash: led again ${seconds(back - crashedAt)} s, first reconcile ${seconds(resumed - crashedAt)} s after the kill`,
    );
    await sleep(10_000);

    // 2. The leader's node dies: the other replica takes over once the Lease has expired.
    const killedAt = Date.now();
    await fleet.kill(first, { hold: true });
    const second = fleet.replicas.find((r) => r !== first) as Replica;
    const tookOver = await eventually(
      "the other replica to lead",
      () => logged(second, "became leader", killedAt),
      60_000,
    );
    const reconciled = await eventually(
      "its first reconcile",
      () => firstReconcileWrite(second, tookOver),
      60_000,
    );
    figures.push(
      `node loss: the other led ${seconds(tookOver - killedAt)} s, first reconcile ${seconds(reconciled - killedAt)} s after the kill`,
    );
    fleet.release(first);
    await eventually("the killed replica to be back", () => first.rotor.alive || undefined, 60_000);
    await sleep(20_000);

    // 3. The new leader freezes mid-work, and wakes 30 s later.
    const before = kubeWrites(second.rotor).length;
    await eventually("the leader to write", () => kubeWrites(second.rotor).length > before + 3 || undefined);
    frozen.add(second);
    second.rotor.signal("SIGSTOP");
    const frozenAt = Date.now();
    const takeover = await eventually(
      "the restarted replica to lead",
      () => logged(first, "became leader", frozenAt),
      60_000,
    );
    const firstWrite = await eventually(
      "its first reconcile",
      () => firstReconcileWrite(first, takeover),
      60_000,
    );
    figures.push(
      `SIGSTOP: led ${seconds(takeover - frozenAt)} s, first reconcile ${seconds(firstWrite - frozenAt)} s after the freeze`,
    );
    await sleep(Math.max(0, frozenAt + 30_000 - Date.now()));
    const thawedAt = Date.now();
    second.rotor.signal("SIGCONT");
    frozen.delete(second);
    await eventually("the thawed replica to step down", () =>
      logged(second, "stopped leading; stepping down", thawedAt),
    );
    await sleep(20_000); // whatever its in-flight work would still do after waking up, and more rotations

    const late = kubeWrites(second.rotor).filter((l) => l.time >= takeover);
    expect(late, `the frozen leader wrote after the other took over:\n${describeWrites(late)}`).toEqual([]);
    expect(await metricSum(second.rotor, "rotor_leader")).toBe(0);
    expect(await metricSum(first.rotor, "rotor_leader")).toBe(1);
    expect(leaseHolder()).toBe(first.identity);

    // 4. Settle and check every invariant.
    requesting = false;
    await requester;
    expect(fleet.unexpectedExits, "a replica exited by itself").toBe(0);
    for (const name of REQUESTED) {
      const ids = observer.ids.get(name) ?? [];
      expect(ids, `${name}: one switch per rotate request`).toHaveLength((requests.get(name) ?? 0) + 1);
      // Ids count up at the issuer: one a request, plus at most one abandoned by each kill.
      expect(Number(ids.at(-1)) - ids.length, `${name}: secrets minted but never used`).toBeLessThanOrEqual(
        2,
      );
    }
    expect(observer.tokens.refused, "token requests with a current secret were refused").toEqual([]);
    expect([...observer.expiredWhileCurrent], "secrets expired before being replaced").toEqual([]);
    expect(observer.maxSecrets).toBeLessThanOrEqual(10);
    await expectSettled(ns.name, ALL, first.rotor.url);

    const rotations = [...observer.ids.values()].reduce((sum, ids) => sum + ids.length - 1, 0);
    const minted = [...observer.minted.values()].reduce((sum, ids) => sum + ids.size, 0);
    const switched = [...observer.ids.values()].reduce((sum, ids) => sum + ids.length, 0);
    console.log(
      `leader failover: ${figures.join("; ")}; ${rotations} rotations, ${minted - switched} minted secrets never switched to (abandoned by the kill), ` +
        `${[...requests.values()].reduce((a, b) => a + b, 0)} rotate requests, tokens ${observer.tokens.ok} granted / ${observer.tokens.refused.length} refused / ${observer.tokens.unanswered.length} unanswered`,
    );
  });

  it("a leader stopped with SIGTERM releases the Lease only after its last write", {
    timeout: 120_000,
  }, async () => {
    const leader = await eventually("a leader", () => fleet.byIdentity(leaseHolder()), 30_000);
    const other = fleet.replicas.find((r) => r !== leader) as Replica;
    const stoppedAt = Date.now();
    await fleet.terminate(leader);
    const takeover = await eventually(
      "the other to take over",
      () => logged(other, "became leader", stoppedAt),
      60_000,
    );
    const late = kubeWrites(leader.rotor).filter((l) => l.time >= takeover);
    expect(late, `the stopped leader wrote after the other took over:\n${describeWrites(late)}`).toEqual([]);
    expect(logLines(leader.rotor).some((l) => l.msg === "released the lease" && l.time >= stoppedAt)).toBe(
      true,
    );
    // Released, not expired: the other leads well within the lease duration.
    console.log(`SIGTERM: the other replica led ${seconds(takeover - stoppedAt)} s after the stop`);
  });
});
