/**
 * The fence under the two-leaders guarantee (issue 9, point 10): a Kubernetes request made for
 * work that was cancelled — a reconcile whose leadership ended — never reaches the API server,
 * even when the cancellation comes after the request was issued but before it is written to the
 * socket (a process frozen while connecting, then resumed past its renew deadline). Runs
 * Rotor's client set-up (runtime/kube.ts) in this process against the real API server.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClient } from "../../../src/runtime/kube.ts";
import { runInScope, WorkCancelled, type WorkScope } from "../../../src/runtime/scope.ts";
import { kubeConfig, testNamespace } from "../../support/cluster.ts";

let ns: Awaited<ReturnType<typeof testNamespace>>;
const core = () => makeClient(kubeConfig(), CoreV1Api);
const configMap = (name: string) => ({ metadata: { name }, data: { written: "yes" } });
const exists = (name: string) =>
  core()
    .readNamespacedConfigMap({ namespace: ns.name, name })
    .then(
      () => true,
      () => false,
    );

/** A scope that is still valid at its first `refresh()` and cancelled from the `nth` on. */
function cancelledAt(nth: number): WorkScope {
  const controller = new AbortController();
  let calls = 0;
  return {
    signal: controller.signal,
    refresh() {
      if (++calls >= nth && !controller.signal.aborted)
        controller.abort(new WorkCancelled("renew deadline passed"));
    },
  };
}

beforeAll(async () => {
  ns = await testNamespace("fence");
});
afterAll(async () => {
  await ns?.remove();
});

describe("Kubernetes requests of cancelled work", () => {
  it("are sent outside any work scope and inside a live one", async () => {
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("free") });
    const live = { signal: new AbortController().signal, refresh: () => undefined };
    await runInScope(live, () =>
      core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("live") }),
    );
    expect(await exists("free")).toBe(true);
    expect(await exists("live")).toBe(true);
  });

  it("are refused when the work was cancelled before the call", async () => {
    const error = await runInScope(cancelledAt(1), () =>
      core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("before") }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkCancelled);
    expect(await exists("before")).toBe(false);
  });

  it("are not written when the work is cancelled after the call, while the connection is set up", async () => {
    const error = await runInScope(cancelledAt(2), () =>
      core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("connecting") }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkCancelled);
    expect(await exists("connecting")).toBe(false);
  });
});
