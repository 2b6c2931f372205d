import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { atLeast, Expectations } from "../../../src/runtime/expectations.ts";
import { resourceOf } from "../../../src/runtime/kube.ts";
import { generationChanged, notStatusOnly } from "../../../src/runtime/manager.ts";

/** A cache as a map of name → resourceVersion. */
function cache(entries: Record<string, string>) {
  const store = new Map(Object.entries(entries));
  const lookup = (_namespace: string, name: string): KubernetesObject | undefined => {
    const resourceVersion = store.get(name);
    return resourceVersion === undefined ? undefined : { metadata: { name, resourceVersion } };
  };
  return { store, lookup };
}

describe("expectations of Rotor's own writes", () => {
  const at = { namespace: "team", name: "app-1" };

  it.each([
    ["the same version", "100", "100", true],
    ["a later version", "101", "100", true],
    ["an older version", "99", "100", false],
    ["a later version, numerically (not as text)", "1000", "999", true],
    ["opaque versions that differ", "abc", "abd", false],
    ["no version at all", undefined, "100", false],
  ])("compares %s", (_what, seen, written, met) => {
    expect(atLeast(seen, written as string)).toBe(met);
  });

  it("holds a reading until the cache shows the write, then forgets it", () => {
    const secrets = cache({});
    const expectations = new Expectations();
    expectations.wrote("uid-1", "Secret", secrets.lookup, at, "100");
    expect(expectations.unmet("uid-1")).toBe("Secret/team/app-1");
    expect(expectations.unmet("uid-2")).toBeUndefined();
    secrets.store.set("app-1", "100");
    expect(expectations.unmet("uid-1")).toBeUndefined();
    // Forgotten: a later change by someone else does not hold the reading.
    secrets.store.set("app-1", "50");
    expect(expectations.unmet("uid-1")).toBeUndefined();
  });

  it("holds a reading after a delete until the cache no longer has the object", () => {
    const secrets = cache({ "app-1": "7" });
    const expectations = new Expectations();
    expectations.wrote("uid-1", "Secret", secrets.lookup, at, undefined);
    expect(expectations.unmet("uid-1")).toBeDefined();
    secrets.store.delete("app-1");
    expect(expectations.unmet("uid-1")).toBeUndefined();
  });

  it("keeps a ClientCredential and a Secret of the same name apart", () => {
    const credentials = cache({ "app-1": "5" });
    const secrets = cache({});
    const expectations = new Expectations();
    expectations.wrote("uid-1", "ClientCredential", credentials.lookup, at, "5");
    expectations.wrote("uid-1", "Secret", secrets.lookup, at, "6");
    expect(expectations.unmet("uid-1")).toBe("Secret/team/app-1");
  });

  it("sweeps what the caches show for owners no reconcile reads back", () => {
    const secrets = cache({ "app-1": "100" });
    const expectations = new Expectations();
    expectations.wrote("uid-1", "Secret", secrets.lookup, at, "100");
    expectations.wrote("uid-2", "Secret", secrets.lookup, { ...at, name: "app-2" }, "7");
    expectations.sweep();
    expect((expectations as unknown as { pending: Map<string, unknown> }).pending.has("uid-1")).toBe(false);
    expect(expectations.unmet("uid-2")).toBe("Secret/team/app-2");
  });

  it("waits until the caches show the writes, or gives up after its time", async () => {
    const secrets = cache({});
    const expectations = new Expectations();
    expectations.wrote("uid-1", "Secret", secrets.lookup, at, "100");
    setTimeout(() => secrets.store.set("app-1", "100"), 30);
    expect(await expectations.settled("uid-1", 2000, 5)).toBe(true);
    expectations.wrote("uid-1", "Secret", secrets.lookup, at, "200");
    expect(await expectations.settled("uid-1", 50, 5)).toBe(false);
  });

  it("drops an expectation the cache never meets after its time to live", () => {
    let now = 0;
    const expectations = new Expectations(30_000, () => now);
    expectations.wrote("uid-1", "Secret", cache({}).lookup, at, "100");
    now = 29_000;
    expect(expectations.unmet("uid-1")).toBeDefined();
    now = 31_000;
    expect(expectations.unmet("uid-1")).toBeUndefined();
  });
});

describe("which informer events wake a controller", () => {
  const cc = (
    metadata: Record<string, unknown>,
    status?: unknown,
  ): KubernetesObject & { status?: unknown } => ({
    metadata: { name: "app", namespace: "team", generation: 1, ...metadata },
    status,
  });

  it.each([
    ["a change of status alone", cc({}, { a: 1 }), false],
    ["a spec change (generation)", cc({ generation: 2 }), true],
    ["a new rotate annotation", cc({ annotations: { "rotor.dev/rotate": "now" } }), true],
    ["a new shard label", cc({ labels: { "rotor.dev/shard": "b" } }), true],
    ["a finalizer removed by someone", cc({ finalizers: [] }), true],
    ["a deletion", cc({ deletionTimestamp: new Date(0) }), true],
  ])("notStatusOnly: %s → %s", (_what, updated, wakes) => {
    const old = cc({ finalizers: ["rotor.dev/cleanup"] }, { a: 0 });
    const next = { ...updated, metadata: { finalizers: ["rotor.dev/cleanup"], ...updated.metadata } };
    expect(notStatusOnly(next, "update", old)).toBe(wakes);
    expect(notStatusOnly(next, "add")).toBe(true);
  });

  it("generationChanged passes spec changes, adds and deletes only", () => {
    expect(generationChanged(cc({ generation: 1 }), "update", cc({}))).toBe(false);
    expect(generationChanged(cc({ generation: 2 }), "update", cc({}))).toBe(true);
    expect(generationChanged(cc({}), "delete", cc({}))).toBe(true);
  });
});

describe("the resource label of rotor_kube_api_requests_total", () => {
  it.each([
    ["/api/v1/namespaces/team/secrets/app-1", "secrets"],
    ["/api/v1/secrets", "secrets"],
    ["/apis/rotor.dev/v1alpha1/namespaces/team/clientcredentials/app/status", "clientcredentials/status"],
    ["/apis/rotor.dev/v1alpha1/clientcredentials", "clientcredentials"],
    ["/apis/coordination.k8s.io/v1/namespaces/rotor-system/leases/rotor-leader", "leases"],
    ["/apis/events.k8s.io/v1/namespaces/team/events", "events"],
    ["/api/v1/namespaces/team", "namespaces"],
  ])("%s → %s", (path, resource) => {
    expect(resourceOf(path)).toBe(resource);
  });
});
