/**
 * Two Rotor replicas with leader election, each supervised as the kubelet supervises a
 * container: when its process exits, it is started again after a short delay (growing while it
 * keeps failing, as CrashLoopBackOff does). A replica keeps its identity across restarts, as a
 * restarted container keeps its pod's name. Each process is sampled every 30 s: RSS (VmRSS) and
 * open file descriptors, from /proc.
 */
import { createWriteStream, readdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import {
  type Cluster,
  PRODUCTION_NODE_FLAGS,
  type RotorProcess,
  startRotor,
} from "../../hack/operator/process.ts";
import { backoffDelay, sleep } from "../../src/runtime/backoff.ts";
import { rssBytes } from "../bench/scale/probe.ts";

/** Exits Rotor made by itself: 1 s, 2 s, 4 s … 30 s, back to 1 s after a minute of running. */
const CRASH_BACKOFF = { baseMs: 1000, maxMs: 30_000 } as const;
const STEADY_MS = 60_000;
const SAMPLE_EVERY_MS = 30_000;
const LAST_LINES = 15;

export interface ResourceSample {
  /** Milliseconds since the run's start. */
  atMs: number;
  /** Which life of the replica (1 = first process, 2 after its first restart …). */
  life: number;
  rssMiB: number;
  fds: number;
}

/** A process end the soak did not cause, or a start that failed. */
export interface Exit {
  atMs: number;
  what: "exited" | "failed to start";
  lastLines: string[];
}

export class Replica {
  readonly identity: string;
  rotor!: RotorProcess;
  life = 0;
  restarts = 0;
  kills = 0;
  readonly exits: Exit[] = [];
  readonly samples: ResourceSample[] = [];
  private lifeStart = 0;
  private servingSeen = false;
  private killing = false;
  private restartAfterKillMs = 0;
  private starting = false;
  private failures = 0;
  /** The current process's end is already on record (it failed to start). */
  private recorded = false;
  private startedAt = 0;
  private readonly log: WriteStream;

  constructor(identity: string, logDir: string) {
    this.identity = identity;
    this.log = createWriteStream(join(logDir, `${identity}.log`));
  }

  async start(cluster: Cluster, args: string[]): Promise<void> {
    this.rotor = await startRotor(cluster, {
      args: [`--identity=${this.identity}`, ...args],
      // From source, with the Node flags the image runs with.
      nodeArgs: PRODUCTION_NODE_FLAGS,
      echo: (chunk) => this.log.write(chunk),
    });
    this.newLife(0);
  }

  /** Alive and past its "Rotor is serving" line: what a Service would send requests to. */
  get serving(): boolean {
    if (this.killing || this.starting || !this.rotor.alive) return false;
    this.servingSeen ||= this.rotor.output().indexOf("Rotor is serving", this.lifeStart) >= 0;
    return this.servingSeen;
  }

  /** SIGKILL; the supervisor starts it again `restartAfterMs` later. */
  async kill(restartAfterMs: number): Promise<void> {
    this.killing = true;
    this.restartAfterKillMs = restartAfterMs;
    this.kills++;
    await this.rotor.kill("SIGKILL");
  }

  /** One look, as the kubelet's sync loop takes: restarts the process if it is gone. */
  async supervise(runStart: number): Promise<void> {
    if (this.rotor.alive || this.starting) return;
    const expected = this.killing;
    if (Date.now() - this.startedAt > STEADY_MS) this.failures = 0;
    if (!expected && !this.recorded) {
      this.exits.push({ atMs: Date.now() - runStart, what: "exited", lastLines: this.tail() });
      this.failures++;
    }
    const delay = expected
      ? this.restartAfterKillMs
      : backoffDelay(CRASH_BACKOFF, Math.max(0, this.failures - 1));
    this.starting = true;
    try {
      await sleep(delay);
      const since = this.rotor.output().length;
      this.restarts++;
      try {
        await this.rotor.restart();
        this.newLife(since);
      } catch {
        // Exited before serving (or still not serving after 60 s): the next look decides.
        this.exits.push({
          atMs: Date.now() - runStart,
          what: "failed to start",
          lastLines: this.tail(since),
        });
        this.failures++;
        if (this.rotor.alive) this.newLife(since);
        else this.recorded = true;
      }
    } finally {
      this.killing = false;
      this.starting = false;
    }
  }

  sample(runStart: number): void {
    const pid = this.rotor.pid;
    if (pid === undefined || !this.rotor.alive) return;
    try {
      const fds = readdirSync(`/proc/${pid}/fd`).length;
      const rssMiB = rssBytes(pid) / 1048576;
      if (rssMiB === 0) return; // killed, not yet reaped
      this.samples.push({ atMs: Date.now() - runStart, life: this.life, rssMiB, fds });
    } catch {
      // Gone between the check and the read.
    }
  }

  async stop(): Promise<void> {
    await this.rotor?.stop().catch(() => undefined);
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** The last lines Rotor printed (since `from`, else of its current life). */
  tail(from = this.lifeStart, lines = LAST_LINES): string[] {
    return this.rotor.output().slice(from).trimEnd().split("\n").slice(-lines);
  }

  private newLife(offset: number): void {
    this.life++;
    this.lifeStart = offset;
    this.servingSeen = false;
    this.recorded = false;
    this.startedAt = Date.now();
  }
}

/** Supervises and samples replicas until `stop` is called. */
export function superviseAll(replicas: Replica[], runStart: number): { stop: () => Promise<void> } {
  let running = true;
  const loops = replicas.map(async (replica) => {
    while (running) {
      await replica.supervise(runStart);
      await sleep(500);
    }
  });
  const sampler = setInterval(() => {
    for (const replica of replicas) replica.sample(runStart);
  }, SAMPLE_EVERY_MS);
  for (const replica of replicas) replica.sample(runStart);
  return {
    stop: async () => {
      running = false;
      clearInterval(sampler);
      await Promise.all(loops);
    },
  };
}
