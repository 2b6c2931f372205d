/**
 * `kubectl rotor` (README "kubectl plugin"), installed the way the README says for a single file:
 * the compiled `dist/cli/kubectl-rotor.js` copied alone onto PATH as `kubectl-rotor`, run by the
 * control plane's real kubectl as a plugin, against Rotor as its own process. status and inspect
 * show the secrets, which is current and which superseded and waiting, the consumers still on the
 * old secret and the next renewal; rotate makes Rotor rotate; no output holds a secret value.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlane, eventually, kubectlOk, testNamespace } from "../../support/cluster.ts";
import {
  condition,
  createClientCredential,
  decoded,
  getClientCredential,
  readSecret,
  versionSecrets,
  waitForReady,
} from "../../support/credentials.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";
import { createDeployment, podSpec, readyPods } from "../../support/workloads.ts";

const root = join(import.meta.dirname, "..", "..", "..");
let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let bin: string;
/** Every line the plugin printed, to look for secret values at the end. */
const printed: string[] = [];

beforeAll(async () => {
  // The build users run, into a directory of its own; then the one file, alone, onto PATH.
  const dir = mkdtempSync(join(tmpdir(), "kubectl-rotor-"));
  const tsc = join(root, "node_modules", ".bin", "tsc");
  const build = spawnSync(tsc, ["-p", join(root, "tsconfig.build.json"), "--outDir", join(dir, "dist")], {
    encoding: "utf8",
  });
  expect(build.status, build.stdout + build.stderr).toBe(0);
  bin = join(dir, "bin");
  mkdirSync(bin);
  copyFileSync(join(dir, "dist", "cli", "kubectl-rotor.js"), join(bin, "kubectl-rotor"));
  chmodSync(join(bin, "kubectl-rotor"), 0o755);

  ns = await testNamespace("plugin");
  rotor = await startRotor(["--consumer-resync=3s"]);
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

/** `kubectl rotor …` through the control plane's kubectl, with the plugin first on PATH. */
function kubectlRotor(args: string[], env: Record<string, string> = {}) {
  const path = [bin, controlPlane().binDir, dirname(process.execPath), process.env.PATH].join(delimiter);
  const result = spawnSync(join(controlPlane().binDir, "kubectl"), ["rotor", ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, PATH: path, KUBECONFIG: controlPlane().kubeconfig, ...env },
  });
  printed.push(result.stdout, result.stderr);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok(args: string[]): string {
  const result = kubectlRotor(args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

/** The line of `output` that starts with `label` (after the indent). */
const line = (output: string, label: string) =>
  output.split("\n").find((l) => l.trimStart().startsWith(label)) ?? `(no line ${label})`;

describe("kubectl rotor", () => {
  let oldSecret: string;
  let newSecret: string;
  let oldPods: string[];

  it("is one file that runs on its own, with a shebang", () => {
    expect(readFileSync(join(bin, "kubectl-rotor"), "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
    const help = ok(["--help"]);
    for (const command of ["status NAME", "inspect NAME", "rotate NAME", "-n/--namespace", "--kubeconfig"])
      expect(help).toContain(command);
  });

  it("status: the current secret, the next renewal and the consumers", { timeout: 120_000 }, async () => {
    // Observe: Rotor restarts nothing, so the old pods stay and the superseded secret waits for them.
    await createClientCredential(ns.name, "svc", { rollout: { strategy: "Observe" }, gracePeriod: "5s" });
    const cc = await waitForReady(ns.name, "svc");
    oldSecret = cc.status?.currentSecretId as string;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // pods start after the switch's second
    await createDeployment(ns.name, "api", podSpec(["svc"], "env"), 2);
    oldPods = (await readyPods(ns.name, "api", 2)).map((p) => p.metadata?.name as string);
    const counted = await eventually("consumers counted", async () => {
      const c = await getClientCredential(ns.name, "svc");
      return c?.status?.consumers?.summary === "1/1" ? c : undefined;
    });

    const status = ok(["status", "svc", "-n", ns.name]);
    expect(status).toContain(`ClientCredential ${ns.name}/svc`);
    expect(line(status, "Client ID:")).toContain(cc.status?.clientId as string);
    expect(line(status, "Current secret:")).toContain(`${oldSecret}, expires ${cc.status?.notAfter}`);
    expect(line(status, "Next renewal:")).toContain(counted.status?.renewalTime as string);
    expect(line(status, "Ready:")).toMatch(/True, Issued: /);
    expect(line(status, "Consumers:")).toContain("1/1 workloads on the current secret");
    expect(line(status, "Superseded:")).toContain("none");
  });

  it("rotate: sets the annotation, says what follows, and Rotor rotates", { timeout: 120_000 }, async () => {
    const said = ok(["rotate", "svc", `--namespace=${ns.name}`]);
    expect(said).toContain(`Asked Rotor to rotate ClientCredential ${ns.name}/svc (rotor.dev/rotate=`);
    expect(said).toContain(
      `It restarts nothing (rollout.strategy Observe): secret ${oldSecret} is revoked once`,
    );
    expect(said).toContain("Deployment/api");
    const annotated = await getClientCredential(ns.name, "svc");
    expect(annotated?.metadata.annotations?.["rotor.dev/rotate"]).toBeTruthy();

    const rotated = await eventually("a new secret", async () => {
      const c = await getClientCredential(ns.name, "svc");
      const waits = condition(c, "RolledOut")?.reason === "RolloutPending";
      return c?.status?.currentSecretId !== oldSecret && waits ? c : undefined;
    });
    newSecret = rotated.status?.currentSecretId as string;
  });

  it("inspect: every secret, what the superseded one waits for, old consumers, conditions, events", async () => {
    const cc = await getClientCredential(ns.name, "svc");
    const inspect = ok(["inspect", "svc", "-n", ns.name]);
    expect(inspect).toContain(`target Secret svc holds ${newSecret} (current)`);
    const [current, superseded] = [line(inspect, `${newSecret} `), line(inspect, `${oldSecret} `)];
    expect(current).toMatch(new RegExp(`^\\s+${newSecret}\\s+Current\\s`));
    const entry = cc?.status?.secrets?.find((s) => s.id === oldSecret);
    expect(superseded).toMatch(new RegExp(`^\\s+${oldSecret}\\s+Superseded\\s`));
    expect(superseded).toContain(String(entry?.supersededAt).replace(/\.\d+Z$/, "Z"));
    expect(superseded).toContain("2 pod(s) of Deployment/api");
    const consumers = line(inspect, "Deployment/api");
    for (const pod of oldPods) expect(consumers).toContain(pod);
    expect(line(inspect, "Superseded:")).toContain(oldSecret);
    expect(line(inspect, "Consumers:")).toContain("still on an old secret: Deployment/api");
    expect(line(inspect, "Next renewal:")).toContain(cc?.status?.renewalTime as string);
    expect(line(inspect, "RolledOut ")).toMatch(/RolledOut\s+False\s+RolloutPending\s/);
    expect(line(inspect, "Ready ")).toMatch(/Ready\s+True\s+Issued\s/);
    expect(inspect).toMatch(new RegExp(`Normal\\s+Rotated\\s+Rotated to secret ${newSecret}`));
  });

  it("passes --kubeconfig and --context to kubectl, and reports kubectl's refusals", () => {
    const context = kubectlOk(["config", "current-context"]).trim();
    const elsewhere = { KUBECONFIG: join(bin, "no-such-kubeconfig") };
    const args = ["status", "svc", "-n", ns.name, `--kubeconfig=${controlPlane().kubeconfig}`];
    expect(kubectlRotor([...args, "--context", context], elsewhere).code).toBe(0);
    const wrongContext = kubectlRotor([...args, "--context=nowhere"], elsewhere);
    expect(wrongContext.code).toBe(1);
    expect(wrongContext.stderr).toMatch(/^kubectl rotor: .*nowhere/);
    const missing = kubectlRotor(["status", "svc"]); // the context's namespace: default
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('"svc" not found');
    const wrong = kubectlRotor(["status", "svc", "--all-namespaces"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("unknown flag --all-namespaces");
  });

  it("shows what a tenant wrote as text: no terminal escape, no forged line, no forged target", async () => {
    const cc = await getClientCredential(ns.name, "svc");
    const uid = cc?.metadata.uid as string;
    // The team, with the built-in edit role, labels a Secret of its own like Rotor's target.
    const team = `system:serviceaccount:${ns.name}:team`;
    kubectlOk(["-n", ns.name, "create", "serviceaccount", "team"]);
    kubectlOk([
      "-n",
      ns.name,
      "create",
      "rolebinding",
      "team-edit",
      "--clusterrole=edit",
      `--serviceaccount=${ns.name}:team`,
    ]);
    const forgedTarget = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "svc-look-here",
        labels: { "rotor.dev/client-credential-uid": uid, "rotor.dev/role": "target" },
        annotations: { "rotor.dev/secret-id": "99\tforged" },
      },
    };
    kubectlOk([`--as=${team}`, "-n", ns.name, "create", "-f", "-"], JSON.stringify(forgedTarget));
    // And an event about the ClientCredential (whoever may write events there) that clears the
    // screen, sets the terminal's title and starts a line of its own.
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "svc.forged", namespace: ns.name },
      involvedObject: {
        apiVersion: "rotor.dev/v1alpha1",
        kind: "ClientCredential",
        name: "svc",
        namespace: ns.name,
        uid,
      },
      type: "Normal",
      reason: "Rotated",
      message: "\u001b[2J\u001b]0;owned\u0007\n  99  Current  forged",
      firstTimestamp: now,
      lastTimestamp: now,
    };
    kubectlOk(["-n", ns.name, "create", "-f", "-"], JSON.stringify(event));

    const inspect = ok(["inspect", "svc", "-n", ns.name]);
    expect(inspect).toContain("\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{a}  99  Current  forged");
    expect(inspect).not.toContain("\u001b");
    expect(inspect).not.toContain("\u0007");
    expect(inspect.split("\n").filter((l) => /^\s+99\s/.test(l))).toEqual([]);
    expect(inspect).toContain(`target Secret svc holds ${newSecret} (current)`);
  });

  it("never prints a secret value", async () => {
    const values = new Set<string>();
    const target = await readSecret(ns.name, "svc");
    values.add(decoded(target, "client_secret") as string);
    const cc = await getClientCredential(ns.name, "svc");
    for (const version of await versionSecrets(ns.name, cc?.metadata.uid as string))
      values.add(decoded(version, "client_secret") as string);
    expect(values.size).toBe(2); // the current secret's and the superseded one's
    const all = printed.join("\n");
    expect(all.length).toBeGreaterThan(1000);
    for (const value of values) {
      expect(value.length).toBeGreaterThan(16);
      expect(all).not.toContain(value);
    }
  });
});
