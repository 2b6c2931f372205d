/**
 * API-server restarts (issue 13, scenario 2). Two replicas with leader election while 10
 * ClientCredentials renew every minute and a prober asks both token endpoints for a token with
 * each current secret once a second, as workloads would. kube-apiserver is killed and started
 * again five times, then kept down for 60 s. Every restart makes Rotor's watches resume from a
 * resourceVersion the new API server no longer has (410 Gone): its caches relist. Throughout:
 * no replica exits, no token request with a current secret is refused (the endpoints answer from
 * their caches), no secret expires before it is replaced, no client holds more than its budget,
 * a secret revoked before the outage stays refused during it, and afterwards nothing is
 * orphaned. Past --max-api-outage a replica does exit — and one started
 * while the API is down waits for it instead of crashing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startComponent, stopComponent } from "../../../hack/controlplane/faults.ts";
import { sleep } from "../../../src/runtime/backoff.ts";
import { eventually, testNamespace } from "../../support/cluster.ts";
import { annotate, createClientCredential, requestToken, waitForReady } from "../../support/credentials.ts";
import { healControlPlane, planeDir, RENEWS_EVERY_MINUTE } from "../../support/faults.ts";
import { Fleet, logLines, metricSum } from "../../support/fleet.ts";
import { type Current, Observer } from "../../support/observer.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";
import { expectSettled } from "../../support/settled.ts";

const CREDENTIALS = 10;
const names = Array.from({ length: CREDENTIALS }, (_, i) => `renews-${i}`);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

let ns: Awaited<ReturnType<typeof testNamespace>>;
let fleet: Fleet;
let observer: Observer;
let lone: RotorProcess | undefined;

beforeAll(async () => {
  ns = await testNamespace("apiserver");
  fleet = await Fleet.start(["a", "b"]);
  await eventually("a leader", () => fleet.leader(), 60_000);
  for (const name of names) await createClientCredential(ns.name, name, RENEWS_EVERY_MINUTE);
  await createClientCredential(ns.name, "rotated", {
    validity: "1h",
    gracePeriod: "0s",
    rollout: { strategy: "None" },
  });
  for (const name of [...names, "rotated"]) await waitForReady(ns.name, name);
  observer = new Observer(ns.name).watch().probe(names, () => fleet.serving());
}, 180_000);

afterAll(async () => {
  await observer?.stop();
  await healControlPlane();
  await lone?.stop();
  await ns?.remove();
  await fleet?.stop();
});

describe("kube-apiserver restarts", () => {
  it("five restarts and a 60 s outage: no exit, no refused token, no renewal missed", {
    timeout: 600_000,
  }, async () => {
    const dir = planeDir();
    const outages: Array<{ from: number; to: number }> = [];
    const restart = async (downMs: number, meanwhile: () => Promise<void> = async () => undefined) => {
      const from = Date.now();
      await stopComponent(dir, "kube-apiserver");
      await Promise.all([meanwhile(), sleep(downMs)]);
      await startComponent(dir, "kube-apiserver");
      outages.push({ from, to: Date.now() });
    };
    for (let i = 0; i < 5; i++) {
      await sleep(8_000);
      await restart(2_000);
    }

    // A secret revoked before the outage — refused by every replica — stays refused during it.
    // (401, or 429 once this address has sent too many wrong secrets for the client.)
    const revoked = observer.current.get("rotated") as Current;
    const tryRevoked = async () => {
      const answers: Record<string, number> = {};
      for (const { identity, rotor } of fleet.replicas)
        answers[identity] = (
          await requestToken(`${rotor.url}/oauth2/token`, revoked.clientId, revoked.value)
        ).status;
      return answers;
    };
    const refusedByAll = (answers: Record<string, number>) =>
      Object.values(answers).every((status) => status === 401 || status === 429);
    await annotate(ns.name, "rotated", { "rotor.dev/rotate": "before-the-outage" });
    await eventually(
      "every replica to refuse the superseded secret",
      async () => refusedByAll(await tryRevoked()) || undefined,
      30_000,
      1000,
    );
    const renewedBefore = new Map(names.map((n) => [n, observer.ids.get(n)?.length ?? 0]));
    const duringOutage: Record<string, number> = {};
    await restart(60_000, async () => {
      await sleep(5_000);
      for (const { identity, rotor } of fleet.replicas) {
        const response = await requestToken(`${rotor.url}/oauth2/token`, revoked.clientId, revoked.value);
        duringOutage[identity] = response.status;
      }
    });
    expect(duringOutage, "a secret revoked before the outage, during it").toEqual({
      "rotor-a": 401,
      "rotor-b": 401,
    });

    // Every renewal that fell due during the outage happens once the API is back.
    for (const name of names)
      await eventually(
        `${name} renewed after the outage`,
        () => (observer.ids.get(name)?.length ?? 0) > (renewedBefore.get(name) ?? 0) || undefined,
        150_000,
      );

    expect(fleet.unexpectedExits, "a replica exited during the outages").toBe(0);
    expect(observer.tokens.refused, "token requests with a current secret were refused").toEqual([]);
    expect(observer.tokens.unanswered, "token requests went unanswered").toEqual([]);
    expect(observer.tokens.ok).toBeGreaterThan(0);
    expect([...observer.expiredWhileCurrent], "secrets expired before being replaced").toEqual([]);
    expect(observer.maxSecrets).toBeLessThanOrEqual(10);
    for (const { rotor } of fleet.replicas)
      expect(
        await metricSum(rotor, "rotor_informer_relists_total", (l) => l.includes('reason="expired"')),
      ).toBeGreaterThan(0);
    await expectSettled(ns.name, names, fleet.replicas[0]?.rotor.url as string);

    // How late the renewals that fell due while the API server was down (or starting) came.
    const renewals = observer.renewals(120_000);
    const during = renewals.filter((r) => outages.some((o) => r.due >= o.from && r.due <= o.to));
    const after = (r: { due: number; lateMs: number }) => {
      const outage = outages.find((o) => r.due >= o.from && r.due <= o.to);
      return outage ? r.due + r.lateMs - outage.to : 0;
    };
    expect(during.length, "renewals that fell due during an outage").toBeGreaterThan(0);
    const leaderships = fleet.replicas.map(
      (r) => `${r.identity} ${logLines(r.rotor).filter((l) => l.msg === "became leader").length}×`,
    );
    console.log(
      `kube-apiserver restarts (${outages.map((o) => seconds(o.to - o.from)).join(", ")} s from kill to Ready): ` +
        `${renewals.length} renewals, latest ${seconds(Math.max(...renewals.map((r) => r.lateMs)))} s after due; ` +
        `${during.length} fell due during an outage, done at most ${seconds(Math.max(0, ...during.map(after)))} s after the API server was Ready; ` +
        `tokens: ${observer.tokens.ok} granted, ${observer.tokens.refused.length} refused; leadership: ${leaderships.join(", ")}`,
    );
  });

  it("exits past --max-api-outage, and one started while the API is down waits for it", {
    timeout: 240_000,
  }, async () => {
    const dir = planeDir();
    lone = await startRotor(["--component=token-server", "--identity=rotor-lone", "--max-api-outage=15s"]);
    await stopComponent(dir, "kube-apiserver");
    const downAt = Date.now();
    const lonely = lone;
    await eventually(
      "the replica with --max-api-outage=15s to exit",
      () => !lonely.alive || undefined,
      90_000,
    );
    const exitedAfter = Date.now() - downAt;
    expect(lonely.output()).toContain("exiting so that Kubernetes restarts Rotor");
    expect(exitedAfter).toBeGreaterThanOrEqual(15_000);

    // Started again while the API is still down: it waits, and serves once the API is back.
    const restarting = lonely.restart();
    await sleep(10_000);
    expect(lonely.alive, "a replica started during an outage must wait for the API, not exit").toBe(true);
    await startComponent(dir, "kube-apiserver");
    await restarting;
    expect((await fetch(`${lonely.metricsUrl}/readyz`)).status).toBe(200);
    // The fleet (default --max-api-outage, 5m) rode it out.
    expect(fleet.unexpectedExits).toBe(0);
    console.log(`--max-api-outage=15s: exited ${seconds(exitedAfter)} s into the outage`);
  });
});
