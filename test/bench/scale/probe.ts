/**
 * What the bench reads about a process and its metrics: CPU time and RSS from /proc, the V8
 * heap after a forced garbage collection through the inspector (no change to Rotor's code), and
 * Prometheus text-format counters.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

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
export async function memoryAfterGc(inspectPort: number): Promise<MemoryUsage> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectPort}`);
  const socket = new WebSocket(url);
  const pending = new Map<number, (message: InspectorReply) => void>();
  let lastId = 0;
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as InspectorReply;
    if (message.id !== undefined) pending.get(message.id)?.(message);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<InspectorReply>((resolve, reject) => {
      const id = ++lastId;
      const timer = setTimeout(() => reject(new Error(`inspector: ${method} timed out`)), 60_000);
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
    await send("HeapProfiler.collectGarbage");
    const reply = await send("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    return JSON.parse(String(reply.result?.result?.value)) as MemoryUsage;
  } finally {
    socket.close();
  }
}

interface InspectorReply {
  id?: number;
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
