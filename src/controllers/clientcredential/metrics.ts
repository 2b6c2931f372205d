/**
 * Prometheus metrics of the ClientCredential controller (names follow cert-manager's). Every
 * per-credential series is a pure function of the status a reconcile computed (`seriesOf`), so
 * what an alert sees is what `kubectl get cc -o yaml` shows.
 *
 * Cardinality: each ClientCredential has at most one series per metric (three for
 * `rotor_ready_status` and `rotor_condition`: one per status value or condition type), labelled
 * with its namespace, name and issuer (`issuer_kind`, `issuer_name`; immutable in the spec).
 * A series whose value the status no longer holds is removed, and `forget` (the ClientCredential
 * is gone) and `clear` (this replica stopped leading: another one reports now) remove them all.
 * Condition reasons come from Rotor's code, never from a user, so they are a fixed set.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { type ClientCredentialStatus, ISSUER_KINDS } from "../../api/clientcredential.ts";

/** The ClientCredential a status belongs to, as labels show it. */
export interface CredentialIdentity {
  namespace: string;
  name: string;
  /** Absent: the embedded issuer built into Rotor (`issuer_kind="Embedded"`). */
  issuerRef?: { kind: string; name: string };
}

const CONDITION_TYPES = ["Ready", "Rotating", "RolledOut"] as const;
const STATUS_VALUES = ["True", "False", "Unknown"] as const;
/** The labels of a ClientCredential's issuer when it names none. */
export const EMBEDDED_ISSUER = { issuer_kind: "Embedded", issuer_name: "embedded" } as const;

/** What the metrics say about one ClientCredential; undefined: no series. */
export interface CredentialSeries {
  expirationTimestampSeconds: number | undefined;
  renewalTimestampSeconds: number | undefined;
  slotsUsed: number | undefined;
  maxSecrets: number | undefined;
  supersededSecrets: number;
  rolloverPendingWorkloads: number | undefined;
  ready: (typeof STATUS_VALUES)[number];
  conditions: Array<{ type: string; status: string; reason: string }>;
}

const seconds = (iso: string | undefined) => {
  const ms = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
};

/** The series of one ClientCredential, from its computed status alone. */
export function seriesOf(status: ClientCredentialStatus): CredentialSeries {
  const byType = new Map((status.conditions ?? []).map((c) => [c.type, c]));
  const ready = byType.get("Ready")?.status;
  return {
    expirationTimestampSeconds: seconds(status.notAfter),
    renewalTimestampSeconds: seconds(status.renewalTime),
    slotsUsed: status.slots?.used,
    maxSecrets: status.slots?.max,
    supersededSecrets: (status.secrets ?? []).filter((s) => s.state === "Superseded").length,
    rolloverPendingWorkloads: status.consumers && status.consumers.total - status.consumers.updated,
    ready: ready === "True" || ready === "False" ? ready : "Unknown",
    conditions: CONDITION_TYPES.flatMap((type) => {
      const c = byType.get(type);
      return c ? [{ type, status: c.status, reason: c.reason }] : [];
    }),
  };
}

/**
 * The issuerRef of a spec the schema refused (reported InvalidSpec), when it still names an
 * issuer plainly; otherwise the ClientCredential is labelled as the embedded issuer's.
 */
export function issuerRefOf(spec: unknown): CredentialIdentity["issuerRef"] {
  const ref = (spec as { issuerRef?: { kind?: unknown; name?: unknown } } | undefined)?.issuerRef;
  const kind = ref?.kind;
  const name = ref?.name;
  if (typeof kind !== "string" || !(ISSUER_KINDS as readonly string[]).includes(kind)) return undefined;
  return typeof name === "string" && name.length <= 253 ? { kind, name } : undefined;
}

export const credentialLabels = ({ namespace, name, issuerRef }: CredentialIdentity) => ({
  namespace,
  name,
  ...(issuerRef ? { issuer_kind: issuerRef.kind, issuer_name: issuerRef.name } : EMBEDDED_ISSUER),
});

type Labels = ReturnType<typeof credentialLabels>;
/** The fields of CredentialSeries that are one gauge each. */
type Scalar = {
  [K in keyof CredentialSeries]: CredentialSeries[K] extends number | undefined ? K : never;
}[keyof CredentialSeries];
const LABEL_NAMES = ["namespace", "name", "issuer_kind", "issuer_name"] as const;

export class CredentialMetrics {
  readonly rotations: Counter<"result">;
  readonly reconcileDuration: Histogram<"result">;
  private readonly scalars: Array<[Scalar, Gauge]>;
  private readonly ready: Gauge;
  private readonly condition: Gauge;
  /** The labels each ClientCredential's series carry, and its condition series: to remove them. */
  private readonly written = new Map<string, { labels: Labels; conditions: Array<Record<string, string>> }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.rotations = new Counter({
      name: "rotor_rotations_total",
      help: "Secrets minted and switched to, by result.",
      labelNames: ["result"],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: "rotor_reconcile_duration_seconds",
      help: "Duration of ClientCredential reconciles.",
      labelNames: ["result"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const gauge = (name: string, help: string, extra: string[] = []) =>
      new Gauge({ name, help, labelNames: [...LABEL_NAMES, ...extra], registers });
    this.scalars = [
      [
        "expirationTimestampSeconds",
        gauge(
          "rotor_secret_expiration_timestamp_seconds",
          "When the current secret expires (status.notAfter).",
        ),
      ],
      [
        "renewalTimestampSeconds",
        gauge(
          "rotor_secret_renewal_timestamp_seconds",
          "When the next secret is minted (status.renewalTime).",
        ),
      ],
      ["slotsUsed", gauge("rotor_slots_used", "Secrets the client holds at the issuer, from any source.")],
      ["maxSecrets", gauge("rotor_max_secrets", "The most secrets the client may hold (spec.maxSecrets).")],
      [
        "supersededSecrets",
        gauge(
          "rotor_superseded_secrets",
          "Superseded secrets still valid at the issuer, waiting for the consumers and gracePeriod before revocation.",
        ),
      ],
      [
        "rolloverPendingWorkloads",
        gauge(
          "rotor_rollover_pending_workloads",
          "Consumer workloads still running pods started before the current secret was switched to.",
        ),
      ],
    ];
    this.ready = gauge("rotor_ready_status", "The Ready condition, one series per status value.", [
      "condition",
    ]);
    this.condition = gauge(
      "rotor_condition",
      "1 for each condition (Ready, Rotating, RolledOut) with its status and reason.",
      ["type", "status", "reason"],
    );
  }

  observe(credential: CredentialIdentity, status: ClientCredentialStatus): void {
    const key = `${credential.namespace}/${credential.name}`;
    const labels = credentialLabels(credential);
    const previous = this.written.get(key);
    if (previous) this.remove(previous);
    const series = seriesOf(status);
    for (const [field, gauge] of this.scalars) {
      const value = series[field];
      if (value !== undefined) gauge.set(labels, value);
    }
    for (const condition of STATUS_VALUES)
      this.ready.set({ ...labels, condition }, condition === series.ready ? 1 : 0);
    const conditions = series.conditions.map((c) => ({ ...labels, ...c }));
    for (const c of conditions) this.condition.set(c, 1);
    this.written.set(key, { labels, conditions });
  }

  /** The ClientCredential is gone: its series go too. */
  forget(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const previous = this.written.get(key);
    if (previous) this.remove(previous);
    this.written.delete(key);
  }

  /** This replica stopped leading: the next leader reports every ClientCredential. */
  clear(): void {
    for (const [, gauge] of this.scalars) gauge.reset();
    this.ready.reset();
    this.condition.reset();
    this.written.clear();
  }

  private remove({ labels, conditions }: { labels: Labels; conditions: Array<Record<string, string>> }) {
    for (const [, gauge] of this.scalars) gauge.remove(labels);
    for (const condition of STATUS_VALUES) this.ready.remove({ ...labels, condition });
    for (const c of conditions) this.condition.remove(c);
  }
}
