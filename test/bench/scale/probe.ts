/**
 * What the bench reads about a process and its metrics: CPU time and RSS from /proc, the V8
 * heap after a forced garbage collection through the inspector (no change to Rotor's code), and
 * Prometheus text-format counters.
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** User plus system CPU time of a process so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Resident set size of a process, in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

export interface MemoryUsage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/**
 * Forces a full garbage collection in a process started with `--inspect=127.0.0.1:<port>` and
 * returns its `process.memoryUsage()` right after.
 */
export function memoryAfterGc(inspectPort: number): Promise<MemoryUsage> {
  return inspect(inspectPort, async (send) => {
    await send("HeapProfiler.collectGarbage");
    const reply = await send("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    return JSON.parse(String(reply.result?.result?.value)) as MemoryUsage;
  });
}

/** Writes a heap snapshot of the process (after a full GC) to `file`. */
export function writeHeapSnapshot(inspectPort: number, file: string): Promise<void> {
  return inspect(inspectPort, async (send, on) => {
    const out = createWriteStream(file);
    on("HeapProfiler.addHeapSnapshotChunk", (params) => out.write(String(params.chunk)));
    await send("HeapProfiler.collectGarbage");
    await send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    await new Promise<void>((resolve) => out.end(resolve));
  });
}

type Send = (method: string, params?: Record<string, unknown>) => Promise<InspectorReply>;
type On = (method: string, listener: (params: Record<string, unknown>) => void) => void;

async function inspect<T>(inspectPort: number, session: (send: Send, on: On) => Promise<T>): Promise<T> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectPort}`);
  const socket = new WebSocket(url);
  const pending = new Map<number, (message: InspectorReply) => void>();
  const listeners = new Map<string, (params: Record<string, unknown>) => void>();
  let lastId = 0;
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as InspectorReply;
    if (message.id !== undefined) pending.get(message.id)?.(message);
    else if (message.method) listeners.get(message.method)?.(message.params ?? {});
  });
  const send: Send = (method, params = {}) =>
    new Promise<InspectorReply>((resolve, reject) => {
      const id = ++lastId;
      const timer = setTimeout(() => reject(new Error(`inspector: ${method} timed out`)), 300_000);
      pending.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`inspector: ${method}: ${message.error.message}`));
        else resolve(message);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error(`inspector: cannot connect to ${url}`)), {
      once: true,
    });
  });
  try {
    return await session(send, (method, listener) => listeners.set(method, listener));
  } finally {
    socket.close();
  }
}

/**
 * The heap by what holds it: self sizes summed per constructor (objects) or per kind (strings,
 * arrays, code…), largest first. Enough to see what Rotor keeps per credential.
 */
export function summarizeHeap(file: string, baseline?: string, top = 30): string {
  const sizes = heapBySize(file);
  if (baseline)
    for (const [key, { bytes, count }] of heapBySize(baseline)) {
      const entry = sizes.get(key) ?? { bytes: 0, count: 0 };
      sizes.set(key, { bytes: entry.bytes - bytes, count: entry.count - count });
    }
  return [...sizes]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top)
    .map(
      ([key, { bytes, count }]) =>
        `${(bytes / 2 ** 20).toFixed(1).padStart(7)} MiB ${String(count).padStart(8)}  ${key}`,
    )
    .join("\n");
}

function heapBySize(file: string): Map<string, { bytes: number; count: number }> {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const sizes = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt] as number] as string;
    const name = snapshot.strings[snapshot.nodes[i + nameAt] as number] as string;
    const key = type === "object" || type === "closure" ? `${type} ${name}` : type;
    const entry = sizes.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += snapshot.nodes[i + sizeAt] as number;
    entry.count++;
    sizes.set(key, entry);
  }
  return sizes;
}

interface InspectorReply {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  error?: { message: string };
  result?: { result?: { value?: unknown } };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format (counters and gauges; comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[label[1] as string] = label[2] as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sums the samples named `name`, grouped by `key` (samples for which it returns undefined are left out). */
export function sumBy(
  samples: Sample[],
  name: string,
  key: (labels: Record<string, string>) => string | undefined = () => "",
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name !== name) continue;
    const k = key(sample.labels);
    if (k === undefined) continue;
    sums.set(k, (sums.get(k) ?? 0) + sample.value);
  }
  return sums;
}

/** `after - before`, key by key. */
export function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const result = new Map<string, number>();
  for (const [key, value] of after) result.set(key, value - (before.get(key) ?? 0));
  return result;
}

export const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
