/**
 * Rotor's flags on the real process (README "Flags"): a bad value of any flag stops it at start
 * with one clear line on stderr and exit code 2, never a stack trace; `--no-leader-elect` and
 * `--leader-elect=false` run it without a Lease; `--log-format=text` prints readable lines.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorKubeconfig } from "../../../hack/operator/process.ts";
import { controlPlane, kubectl, kubectlOk, testNamespace } from "../../support/cluster.ts";
import { createClientCredential, waitForReady } from "../../support/credentials.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../../support/rotor.ts";

const MAIN = join(import.meta.dirname, "..", "..", "..", "src", "main.ts");
let kubeconfig: string;
let ns: Awaited<ReturnType<typeof testNamespace>>;
/** The Rotor that still runs when the namespace is removed (its finalizers need one). */
let rotor: RotorProcess | undefined;

beforeAll(async () => {
  kubeconfig = await operatorKubeconfig({ kubeconfig: controlPlane().kubeconfig, kubectl: kubectlOk });
  ns = await testNamespace("flags");
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

/** Rotor as production starts it, with flags that would otherwise let it run. */
function runRotor(args: string[]) {
  const result = spawnSync(
    process.execPath,
    [MAIN, `--kubeconfig=${kubeconfig}`, "--port=0", "--metrics-port=0", ...args],
    { encoding: "utf8", timeout: 30_000, env: { ...process.env, ROTOR_LOG_LEVEL: "" } },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("a bad flag", () => {
  it.each([
    [
      "--log-level=verbose",
      '--log-level must be one of fatal, error, warn, info, debug, trace, silent, not "verbose"',
    ],
    ["--leader-elect=maybe", '--leader-elect takes true or false, not "maybe"'],
    ["--metrics-port=99999", '--metrics-port must be a whole number from 0 to 65535, not "99999"'],
    ["--reconcile-timeout=2 minutes", "--reconcile-timeout must be a Go duration such as 90s, 5m or 1h30m"],
    ["--tls-ca-file=/no/such/ca.crt", '--tls-ca-file must name a file: there is none at "/no/such/ca.crt"'],
    ["--issuer-url=rotor.example", "--issuer-url must be an absolute http(s) URL"],
    ["--log-format=yaml", '--log-format must be one of json, text, not "yaml"'],
    ["--loglevel=debug", "unknown flag --loglevel (did you mean --log-level?)"],
  ])("%s: exit 2, what is wrong on stderr, no stack trace", (arg, message) => {
    const { code, stdout, stderr } = runRotor([arg]);
    expect(code).toBe(2);
    const lines = stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`rotor: ${message}`);
    expect(lines[1]).toBe("rotor --help lists every flag.");
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stdout).toBe("");
  });

  it("--help lists the flags on stdout and exits 0", () => {
    const { code, stdout } = runRotor(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("--no-leader-elect turns it off");
    expect(stdout).toMatch(/--log-format=json\|text .*\(default json\)/);
  });
});

describe("--log-format=text", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill("SIGKILL");
  });

  // Before any ClientCredential exists: this Rotor leads nothing and must not reconcile beside another.
  it("prints single readable lines, with level names", async () => {
    child = spawn(
      process.execPath,
      [MAIN, `--kubeconfig=${kubeconfig}`, "--port=0", "--metrics-port=0", "--no-leader-elect"].concat([
        "--log-format=text",
        "--token-endpoint-insecure-http",
        `--namespace=${OPERATOR_NAMESPACE}`,
      ]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 60_000;
    while (!output.includes("Rotor is serving") && Date.now() < deadline && child.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 100));
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }

    const serving = output.split("\n").find((line) => line.includes("Rotor is serving")) as string;
    expect(serving).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}Rotor is serving (\S+=\S+ )*port=\d+ metricsPort=\d+ localUrl=http:\/\/127\.0\.0\.1:\d+ /,
    );
    const lines = output.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines)
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /);
    expect(output).not.toContain('"level"');
  });
});

describe("leader election off", () => {
  it.each([
    ["--no-leader-elect", "flags-no-leader"],
    ["--leader-elect=false", "flags-leader-false"],
  ])("%s: Rotor reconciles at once and never takes the Lease", async (flag, lease) => {
    await rotor?.stop();
    rotor = await startRotor([flag, `--leader-election-id=${lease}`]);
    const name = lease.replace("flags-", "");
    await createClientCredential(ns.name, name, {});
    await waitForReady(ns.name, name);
    const got = kubectl(["-n", OPERATOR_NAMESPACE, "get", "lease", lease]);
    expect(got.stderr).toContain("NotFound");
  });
});
