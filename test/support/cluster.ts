/** Helpers for tests that talk to the real control plane. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { CoreV1Api, EventsV1Api, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

export function controlPlane() {
  return inject("controlPlane");
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(controlPlane().kubeconfig);
  return kc;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the kubectl built with the control plane, as a user would. */
export function kubectl(args: string[], input?: string): KubectlResult {
  const plane = controlPlane();
  const result = spawnSync(join(plane.binDir, "kubectl"), [`--kubeconfig=${plane.kubeconfig}`, ...args], {
    input,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** kubectl that must succeed; returns stdout. */
export function kubectlOk(args: string[], input?: string): string {
  const result = kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

let counter = 0;
/**
 * Creates a namespace for one test file; returns its name and a cleanup. The cleanup deletes the
 * file's ClientCredentials first and waits for them, so call it while the file's Rotor (and
 * issuer) still run: otherwise the next file's Rotor inherits finalizers it cannot complete.
 * Whatever is still held after 30 s loses its finalizer.
 */
export async function testNamespace(prefix: string): Promise<{ name: string; remove: () => Promise<void> }> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const name = `${prefix}-${process.pid}-${counter++}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return {
    name,
    remove: async () => {
      kubectl(["-n", name, "delete", "clientcredentials", "--all", "--wait=false"]);
      const remaining = () => kubectl(["-n", name, "get", "clientcredentials", "-o", "name"]).stdout.trim();
      const deadline = Date.now() + 30_000;
      while (remaining() !== "" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      const left = remaining();
      for (const cc of left ? left.split("\n") : []) {
        console.warn(`cleanup of ${name}: ${cc} was still held after 30 s; removing its finalizer`);
        kubectl(["-n", name, "patch", cc, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
      }
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${String(last)}` : ""}`,
  );
}

/** The events (events.k8s.io) about the object `name` in `namespace`, oldest first. */
export async function eventsAbout(
  namespace: string,
  name: string,
): Promise<Array<{ reason?: string; note?: string; type?: string }>> {
  const list = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.regarding?.name === name);
}
