/**
 * Vitest global setup: one real control plane for the whole run (or the cluster named by
 * ROTOR_TEST_KUBECONFIG, with ROTOR_TEST_BIN_DIR holding kubectl). Tests read it with
 * `inject("controlPlane")`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import {
  buildBinaries,
  type ControlPlane,
  startControlPlane,
  stopControlPlane,
} from "../../hack/controlplane/controlplane.ts";
import { installCrds } from "../../hack/controlplane/install.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** `dir` is the local control plane's, which faults tests stop and start parts of; none for an outside cluster. */
    controlPlane: Pick<ControlPlane, "kubeconfig" | "binDir" | "nodes"> & { dir?: string };
  }
}

export default async function setup(project: TestProject) {
  const existing = process.env.ROTOR_TEST_KUBECONFIG;
  if (existing) {
    const binDir = process.env.ROTOR_TEST_BIN_DIR ?? buildBinaries();
    project.provide("controlPlane", { kubeconfig: existing, binDir, nodes: [] });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "rotor-test-"));
  const started = Date.now();
  const plane = await startControlPlane({ dir, log: (line) => console.log(`[controlplane] ${line}`) });
  try {
    await installCrds(plane);
  } catch (error) {
    await stopControlPlane(dir);
    throw error;
  }
  console.log(
    `[controlplane] up with CRDs in ${((Date.now() - started) / 1000).toFixed(1)}s: ${plane.server}`,
  );
  project.provide("controlPlane", {
    kubeconfig: plane.kubeconfig,
    binDir: plane.binDir,
    nodes: plane.nodes,
    dir,
  });
  return async () => {
    await stopControlPlane(dir);
  };
}
