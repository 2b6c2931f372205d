/**
 * etcd restarts and compaction (issue 13, scenario 3). Two replicas while 10 ClientCredentials
 * renew every minute and a prober asks both token endpoints for tokens. etcd's history is
 * compacted and etcd killed and started again; then compacted again and the API server
 * restarted, so that every watch resumes from a compacted resourceVersion (410 Gone) and the
 * caches relist; then etcd stays down for 20 s, while the API server is up but cannot answer.
 * Throughout: no replica exits, no token refused, no secret expired before it was replaced,
 * the budget holds; afterwards every renewal has gone on and nothing is orphaned.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactEtcd, restartComponent } from "../../../hack/controlplane/faults.ts";
import { sleep } from "../../../src/runtime/backoff.ts";
import { eventually, testNamespace } from "../../support/cluster.ts";
import { createClientCredential, waitForReady } from "../../support/credentials.ts";
import { healControlPlane, planeDir, RENEWS_EVERY_MINUTE } from "../../support/faults.ts";
import { Fleet, metricSum } from "../../support/fleet.ts";
import { Observer } from "../../support/observer.ts";
import { expectSettled } from "../../support/settled.ts";

const names = Array.from({ length: 10 }, (_, i) => `etcd-${i}`);

let ns: Awaited<ReturnType<typeof testNamespace>>;
let fleet: Fleet;
let observer: Observer;

beforeAll(async () => {
  ns = await testNamespace("etcd");
  fleet = await Fleet.start(["a", "b"]);
  await eventually("a leader", () => fleet.leader(), 60_000);
  for (const name of names) await createClientCredential(ns.name, name, RENEWS_EVERY_MINUTE);
  for (const name of names) await waitForReady(ns.name, name);
  observer = new Observer(ns.name).watch().probe(names, () => fleet.serving());
}, 180_000);

afterAll(async () => {
  await observer?.stop();
  await healControlPlane();
  await ns?.remove();
  await fleet?.stop();
});

const relists = (reason: string) =>
  Promise.all(
    fleet.replicas.map(({ rotor }) =>
      metricSum(rotor, "rotor_informer_relists_total", (labels) => labels.includes(`reason="${reason}"`)),
    ),
  );

describe("etcd restarts and compaction", () => {
  it("compaction, etcd and API-server restarts, a 20 s etcd outage: no exit, no refused token, renewals go on", {
    timeout: 600_000,
  }, async () => {
    const dir = planeDir();
    const expiredBefore = await relists("expired");
    const renewed = new Map(names.map((n) => [n, observer.ids.get(n)?.length ?? 0]));

    await compactEtcd(dir);
    await restartComponent(dir, "etcd", { downMs: 2_000 });
    await sleep(15_000);
    await compactEtcd(dir);
    await restartComponent(dir, "kube-apiserver", { downMs: 1_000 });
    await eventually(
      "every replica's caches to relist after 410 Gone",
      async () =>
        (await relists("expired")).every((n, i) => n > (expiredBefore[i] ?? 0)) ? true : undefined,
      60_000,
    );
    await sleep(15_000);
    await restartComponent(dir, "etcd", { downMs: 20_000 });

    for (const name of names)
      await eventually(
        `${name} renewed since the faults began`,
        () => (observer.ids.get(name)?.length ?? 0) > (renewed.get(name) ?? 0) || undefined,
        150_000,
      );
    expect(fleet.unexpectedExits, "a replica exited").toBe(0);
    expect(observer.tokens.refused, "token requests with a current secret were refused").toEqual([]);
    expect(observer.tokens.unanswered, "token requests went unanswered").toEqual([]);
    expect([...observer.expiredWhileCurrent], "secrets expired before being replaced").toEqual([]);
    expect(observer.maxSecrets).toBeLessThanOrEqual(10);
    await expectSettled(ns.name, names, fleet.replicas[0]?.rotor.url as string);
    console.log(
      `etcd faults: relists after 410 per replica ${(await relists("expired")).join(", ")}, after errors ${(await relists("error")).join(", ")}; ` +
        `tokens ${observer.tokens.ok} granted, ${observer.tokens.refused.length} refused`,
    );
  });
});
