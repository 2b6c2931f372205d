/**
 * The manager's metrics: reconciles by controller and result (counted from 0), queue depth,
 * `rotor_leader` only where controllers run, and per-object series dropped when a term ends.
 */
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { IssuerMetrics } from "../../../src/controllers/issuer/metrics.ts";
import { LeaderElector } from "../../../src/runtime/leader.ts";
import { Manager, type Watch } from "../../../src/runtime/manager.ts";
import { MemoryLease } from "./memory-lease.ts";

const log = pino({ level: "silent" });
const samples = async (registry: Registry, prefix: string) =>
  (await registry.metrics()).split("\n").filter((line) => line.startsWith(prefix));

function manager(registry: Registry, elector?: LeaderElector) {
  return new Manager({
    log,
    registry,
    elector,
    reconcileTimeoutMs: 60_000,
    shutdownTimeoutMs: 1_000,
    maxApiOutageMs: 60_000,
  });
}

describe("Manager metrics", () => {
  it("counts reconciles by controller and result from 0, and exports rotor_leader once it runs controllers", async () => {
    const registry = new Registry();
    const m = manager(registry);
    const keys: Watch = {
      subscribe: () => undefined,
      replay: (enqueue) => ["ns/ok", "ns/bad"].forEach(enqueue),
    };
    m.controller({
      name: "widget",
      workers: 1,
      watches: [keys],
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      reconciler: {
        async reconcile(key) {
          if (key === "ns/bad") throw new Error("boom");
          return {};
        },
      },
    });
    expect(await samples(registry, "rotor_reconcile_total")).toEqual([
      'rotor_reconcile_total{controller="widget",result="success"} 0',
      'rotor_reconcile_total{controller="widget",result="error"} 0',
      'rotor_reconcile_total{controller="widget",result="timeout"} 0',
      'rotor_reconcile_total{controller="widget",result="cancelled"} 0',
    ]);
    expect(await samples(registry, "rotor_leader")).toEqual([]);
    await m.start();
    await vi.waitFor(async () =>
      expect(await samples(registry, 'rotor_reconcile_total{controller="widget",result="error"}')).toEqual([
        'rotor_reconcile_total{controller="widget",result="error"} 1',
      ]),
    );
    expect(await samples(registry, 'rotor_reconcile_total{controller="widget",result="success"}')).toEqual([
      'rotor_reconcile_total{controller="widget",result="success"} 1',
    ]);
    expect(await samples(registry, "rotor_leader ")).toEqual(["rotor_leader 1"]);
    expect(await samples(registry, "rotor_workqueue_depth")).toEqual([
      'rotor_workqueue_depth{controller="widget"} 0',
    ]);
    await m.shutdown("test");
  });

  it("exports no rotor_leader where nothing campaigns (the token server)", async () => {
    const registry = new Registry();
    const m = manager(registry);
    await m.start();
    expect(await samples(registry, "rotor_leader")).toEqual([]);
    await m.shutdown("test");
  });

  it("drops the leader's per-object series when its term ends", async () => {
    const registry = new Registry();
    const clock = { now: 0, monotonic: () => performance.now(), advance: () => undefined };
    const store = new MemoryLease(clock as never);
    const m = manager(registry, new LeaderElector({ store, identity: "a", log, retryPeriodMs: 20 }));
    const issuers = new IssuerMetrics(registry);
    m.onTermEnd(() => issuers.clear());
    const once: Watch = {
      subscribe: () => undefined,
      replay: (enqueue) => enqueue("ClusterCredentialIssuer/x"),
    };
    m.controller({
      name: "issuer",
      workers: 1,
      watches: [once],
      reconciler: {
        async reconcile() {
          issuers.observe({ kind: "ClusterCredentialIssuer", name: "x" }, true);
          return {};
        },
      },
    });
    await m.start();
    await vi.waitFor(async () =>
      expect(await samples(registry, "rotor_issuer_ready")).toEqual([
        'rotor_issuer_ready{kind="ClusterCredentialIssuer",namespace="",name="x"} 1',
      ]),
    );
    // Another replica takes the lease over.
    store.spec = { ...store.spec, holderIdentity: "b", leaseDurationSeconds: 60 };
    store.version++;
    await vi.waitFor(async () =>
      expect(await samples(registry, "rotor_leader ")).toEqual(["rotor_leader 0"]),
    );
    expect(await samples(registry, "rotor_issuer_ready")).toEqual([]);
    await m.shutdown("test");
  });
});
