/**
 * Several Rotor replicas with leader election, as the Deployment runs them: who leads, what each
 * logged and wrote, and a kubelet that starts a replica again when its process exits.
 */
import { kubectl } from "./cluster.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "./rotor.ts";

/** Rotor's JSON log lines, parsed. */
export interface LogLine {
  /** Milliseconds since the epoch: every process on the machine reads the same wall clock. */
  time: number;
  msg: string;
  method?: string;
  path?: string;
  [field: string]: unknown;
}

export function logLines(rotor: RotorProcess): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of rotor.output().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const parsed = JSON.parse(line) as { time: string; msg: string };
      lines.push({ ...parsed, time: Date.parse(parsed.time) });
    } catch {
      // a line cut by the end of the buffer
    }
  }
  return lines;
}

/** Every Kubernetes write the replica sent (logged at debug level as it goes on the wire). */
export const kubeWrites = (rotor: RotorProcess): LogLine[] =>
  logLines(rotor).filter((line) => line.msg === "kube write");

export const describeWrites = (lines: LogLine[]) =>
  lines.map((l) => `${new Date(l.time).toISOString()} ${l.method} ${l.path}`).join("\n");

/** Sums a metric over its series (optionally only the series whose labels match `filter`). */
export async function metricSum(
  rotor: RotorProcess,
  name: string,
  filter: (labels: string) => boolean = () => true,
): Promise<number> {
  const text = await (await fetch(`${rotor.metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = line.match(/^(\w+)(\{[^}]*\})? (\S+)$/);
    if (match?.[1] === name && filter(match[2] ?? "")) sum += Number(match[3]);
  }
  return sum;
}

/** The holder of the Lease `rotor-leader`, or undefined (none, or the API does not answer). */
export function leaseHolder(): string | undefined {
  const result = kubectl([
    "-n",
    OPERATOR_NAMESPACE,
    "get",
    "lease",
    "rotor-leader",
    "-o",
    "jsonpath={.spec.holderIdentity}",
  ]);
  return result.code === 0 ? result.stdout.trim() || undefined : undefined;
}

export interface Replica {
  identity: string;
  rotor: RotorProcess;
  /** Times (epoch ms) at which its process exited by itself, and the kubelet started it again. */
  exits: number[];
}

/**
 * Replicas `rotor-<name>` with leader election. Like the kubelet, `supervise` starts a replica
 * again when its process exits — by a kill of the test's, or by itself (counted in `exits`).
 */
export class Fleet {
  readonly replicas: Replica[] = [];
  private supervising = true;
  private supervisor: Promise<void> | undefined;
  private readonly expected = new Set<Replica>();
  /** Replicas the kubelet leaves down for now (their node is gone). */
  private readonly held = new Set<Replica>();
  /** Replicas whose /readyz answered 200 at the kubelet's last probe. */
  private readonly ready = new Set<Replica>();

  static async start(names: string[], args: string[] = []): Promise<Fleet> {
    const fleet = new Fleet();
    for (const name of names) {
      const identity = `rotor-${name}`;
      const rotor = await startRotor([`--identity=${identity}`, ...args]);
      fleet.replicas.push({ identity, rotor, exits: [] });
    }
    fleet.supervisor = fleet.supervise();
    return fleet;
  }

  byIdentity(identity: string | undefined): Replica | undefined {
    return this.replicas.find((r) => r.identity === identity);
  }

  /** The replica that says it leads now: it logged "became leader" after its last step-down. */
  leader(): Replica | undefined {
    return this.replicas.find((replica) => {
      if (!replica.rotor.alive) return false;
      const lines = logLines(replica.rotor).filter(
        (l) => l.msg === "became leader" || l.msg === "stopped leading; stepping down" || l.msg === "stopped",
      );
      return lines.at(-1)?.msg === "became leader";
    });
  }

  /**
   * SIGKILLs a replica. The kubelet starts it again at once (a crashed container: same pod name,
   * so it takes its own Lease back), or with `hold`, only after `release` (a lost node).
   */
  async kill(replica: Replica, { hold = false } = {}): Promise<void> {
    this.expected.add(replica);
    if (hold) this.held.add(replica);
    await replica.rotor.kill("SIGKILL");
  }

  release(replica: Replica): void {
    this.held.delete(replica);
  }

  /** SIGTERMs a replica, as a rolling update would; the kubelet starts it again. */
  async terminate(replica: Replica): Promise<void> {
    this.expected.add(replica);
    await replica.rotor.stop();
  }

  /** The token endpoints a Service would route to now: replicas that are running and ready. */
  serving(except: ReadonlySet<Replica> = new Set()): string[] {
    return this.replicas
      .filter((r) => r.rotor.alive && this.ready.has(r) && !except.has(r))
      .map((r) => r.rotor.url);
  }

  get unexpectedExits(): number {
    return this.replicas.reduce((sum, r) => sum + r.exits.length, 0);
  }

  async stop(): Promise<void> {
    this.supervising = false;
    await this.supervisor;
    for (const { rotor } of this.replicas) rotor.signal("SIGCONT");
    await Promise.all(this.replicas.map(({ rotor }) => rotor.stop()));
  }

  private async supervise(): Promise<void> {
    while (this.supervising) {
      await Promise.all(this.replicas.map((replica) => this.probe(replica)));
      for (const replica of this.replicas) {
        if (replica.rotor.alive || !this.supervising || this.held.has(replica)) continue;
        if (!this.expected.delete(replica)) replica.exits.push(Date.now());
        await replica.rotor.restart().catch((error: unknown) => {
          console.warn(`${replica.identity} could not start again: ${String(error).slice(0, 500)}`);
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private async probe(replica: Replica): Promise<void> {
    const ok = replica.rotor.alive
      ? await fetch(`${replica.rotor.metricsUrl}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
          (response) => response.ok,
          () => false,
        )
      : false;
    if (ok) this.ready.add(replica);
    else this.ready.delete(replica);
  }
}
