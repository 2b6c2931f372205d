/**
 * Faults a real cluster throws, on the local control plane: a component stopped (SIGKILL, as a
 * crashed node or an OOM kill would), started again with the same arguments and data, frozen;
 * etcd compacted, so that watches from before the compaction get 410 Gone.
 */
import {
  alive,
  apiServerReady,
  type Component,
  etcdReady,
  launch,
  loadState,
  type State,
  signalGroup,
  sleep,
  waitFor,
} from "./components.ts";

/** Stops a component and waits until its process is gone. */
export async function stopComponent(dir: string, component: Component, signal: NodeJS.Signals = "SIGKILL") {
  const pid = loadState(dir).pids[component];
  if (pid === undefined) throw new Error(`${component} was never started in ${dir}`);
  signalGroup(pid, signal);
  const deadline = Date.now() + 15_000;
  while (alive(pid)) {
    if (Date.now() > deadline) signalGroup(pid, "SIGKILL");
    await sleep(50);
  }
}

const readiness: Partial<Record<Component, (state: State) => () => Promise<boolean>>> = {
  etcd: etcdReady,
  "kube-apiserver": apiServerReady,
};

/**
 * Starts a stopped component again with the arguments it last ran with; resolves once it is
 * ready (etcd healthy, the API server's /readyz 200), with the seconds that took.
 */
export async function startComponent(dir: string, component: Component): Promise<number> {
  const state = loadState(dir);
  const args = state.args[component];
  if (!args) throw new Error(`${component} has no recorded arguments in ${dir}`);
  const started = launch(state, component, args);
  const ready = readiness[component]?.(state) ?? (async () => true);
  return waitFor(component, started, ready, 120_000);
}

/** Stops a component, leaves it down for `downMs`, starts it again; resolves once it is ready. */
export async function restartComponent(
  dir: string,
  component: Component,
  { downMs = 0, signal = "SIGKILL" as NodeJS.Signals } = {},
): Promise<number> {
  await stopComponent(dir, component, signal);
  await sleep(downMs);
  return startComponent(dir, component);
}

/** SIGSTOP or SIGCONT a component: a frozen API server accepts connections and answers nothing. */
export function freezeComponent(dir: string, component: Component, frozen: boolean): void {
  const pid = loadState(dir).pids[component];
  if (pid !== undefined) signalGroup(pid, frozen ? "SIGSTOP" : "SIGCONT");
}

/** Compacts etcd's whole history up to now (through its JSON gateway); returns the revision. */
export async function compactEtcd(dir: string): Promise<number> {
  const { etcdUrl } = loadState(dir);
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${etcdUrl}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { header?: { revision?: string } };
  };
  const range = await post("/v3/kv/range", { key: Buffer.from("/").toString("base64"), limit: 1 });
  const revision = Number(range.header?.revision);
  await post("/v3/kv/compaction", { revision, physical: true });
  return revision;
}
