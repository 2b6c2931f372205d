/**
 * The control plane's processes: how each is launched, recorded and probed. Each runs in its own
 * process group and logs to `<dir>/logs/<component>.log`; `<dir>/state.json` records pids and
 * arguments, so that another process can stop the control plane (the CLI's `down`) or stop and
 * start one component again with the same arguments (faults.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";

export const COMPONENTS = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kwok",
] as const;
export type Component = (typeof COMPONENTS)[number];

export interface ControlPlane {
  /** The directory holding certificates, data, logs and the kubeconfig. */
  dir: string;
  /** An admin (system:masters) kubeconfig. */
  kubeconfig: string;
  server: string;
  /** The directory of the built binaries (kubectl included). */
  binDir: string;
  nodes: string[];
}

export interface State extends ControlPlane {
  etcdUrl?: string;
  pids: Partial<Record<Component, number>>;
  args: Partial<Record<Component, string[]>>;
}

export interface Started {
  child: ChildProcess;
  logFile: string;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function saveState(state: State): void {
  writeFileSync(join(state.dir, "state.json"), JSON.stringify(state, null, 2));
}

export function loadState(dir: string): State {
  return JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as State;
}

/** Starts `component` with `args`, in its own process group, and records it in state.json. */
export function launch(state: State, component: Component, args: string[]): Started {
  const logFile = join(state.dir, "logs", `${component}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(join(state.binDir, component), args, { detached: true, stdio: ["ignore", fd, fd] });
  child.unref();
  state.pids[component] = child.pid as number;
  state.args[component] = args;
  saveState(state);
  return { child, logFile };
}

export class ComponentFailed extends Error {
  constructor(component: string, why: string, logFile: string) {
    super(`${component} failed to start: ${why}\n--- last lines of ${logFile} ---\n${tail(logFile, 25)}`);
    this.name = "ComponentFailed";
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Polls `ready` until it holds; throws when the process exits or `timeoutMs` passes. Returns seconds taken. */
export async function waitFor(
  component: Component,
  started: Started,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<number> {
  const t0 = Date.now();
  while (Date.now() < t0 + timeoutMs) {
    const { exitCode, signalCode } = started.child;
    if (exitCode !== null || signalCode !== null)
      throw new ComponentFailed(component, `exited with ${exitCode ?? signalCode}`, started.logFile);
    if (await ready()) return (Date.now() - t0) / 1000;
    await sleep(200);
  }
  throw new ComponentFailed(component, `not ready after ${timeoutMs / 1000}s`, started.logFile);
}

/** GET over TLS; resolves with the status code, or 0 when nothing answers yet. */
export function probe(url: string, tls: https.RequestOptions): Promise<number> {
  return new Promise((resolve) => {
    const request = https.get(url, { ...tls, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", () => resolve(0));
    request.on("timeout", () => request.destroy());
  });
}

export function httpProbe(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (response) => response.status,
    () => 0,
  );
}

/** The admin's client certificate, for probing the API server. */
export function adminTls(dir: string): https.RequestOptions {
  const pki = (name: string) => readFileSync(join(dir, "pki", name));
  return { ca: pki("ca.crt"), cert: pki("admin.crt"), key: pki("admin.key") };
}

export const etcdReady = (state: State) => async () => (await httpProbe(`${state.etcdUrl}/health`)) === 200;

export const apiServerReady = (state: State) => {
  const tls = adminTls(state.dir);
  return async () => (await probe(`${state.server}/readyz`, tls)) === 200;
};

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {}
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
