/**
 * Two shards: two Rotor processes, each watching the ClientCredentials of one value of the
 * sharding label and leading on a Lease of its own, split N credentials between them.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { ControlPlane } from "../../../hack/controlplane/controlplane.ts";
import { type BenchClient, CC_API, forEachConcurrently } from "./kube.ts";
import {
  isReady,
  type MeasuredRotor,
  memory,
  startMeasuredRotor,
  tenths,
  track,
  waitForLeader,
} from "./rotor.ts";
import { Watcher } from "./watch.ts";

export const SHARD_LABEL = "rotor.dev/shard";
const SHARD_FLAGS = ["--watch-label-selector", "--leader-election-id"];
const root = join(import.meta.dirname, "..", "..", "..");

export type ShardsResult =
  | { skipped: string }
  | { seconds: number; shards: Array<{ name: string; count: number; rss: number; heapUsed: number }> };

/** The shard flags this build of Rotor lacks (none once the lead's sharding is in). */
export function missingShardFlags(): string[] {
  const help = execFileSync(process.execPath, [join(root, "dist", "main.js"), "--help"], {
    encoding: "utf8",
  });
  return SHARD_FLAGS.filter((flag) => !help.includes(flag));
}

export async function runShards(
  plane: ControlPlane,
  client: BenchClient,
  options: {
    namespace: string;
    count: number;
    concurrency: number;
    credential: (i: number, labels: Record<string, string>) => Record<string, unknown>;
    started: (rotor: MeasuredRotor) => void;
  },
): Promise<ShardsResult> {
  const missing = missingShardFlags();
  if (missing.length > 0) return { skipped: `flag missing (${missing.join(", ")})` };
  const shardOf = (i: number) => (i % 2 === 0 ? "a" : "b");
  const rotors = new Map<string, MeasuredRotor>();
  for (const shard of ["a", "b"]) {
    const rotor = await startMeasuredRotor(plane, [
      `--watch-label-selector=${SHARD_LABEL}=${shard}`,
      `--leader-election-id=rotor-${shard}`,
    ]);
    options.started(rotor);
    rotors.set(shard, rotor);
  }
  for (const rotor of rotors.values()) await waitForLeader(rotor.process);
  await client.create("/api/v1/namespaces", { metadata: { name: options.namespace } });
  const path = `${CC_API}/namespaces/${options.namespace}/clientcredentials`;
  const watcher = new Watcher(client, path);
  await watcher.start();
  try {
    const names = Array.from({ length: options.count }, (_, i) => `app-${i}`);
    const started = Date.now();
    const ready = track(watcher, names, isReady, tenths("shards", options.count, started));
    await forEachConcurrently(options.count, options.concurrency, async (i) => {
      await client.create(path, options.credential(i, { [SHARD_LABEL]: shardOf(i) }));
    });
    const finished = await ready.finished;
    const shards = [];
    for (const [name, rotor] of rotors) {
      const { rss, heapUsed } = await memory(rotor);
      shards.push({ name, count: names.filter((_, i) => shardOf(i) === name).length, rss, heapUsed });
    }
    return { seconds: (finished - started) / 1000, shards };
  } finally {
    await watcher.stop();
  }
}
