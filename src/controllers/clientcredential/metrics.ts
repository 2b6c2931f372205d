/** Prometheus metrics of the ClientCredential controller (names follow cert-manager's). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ClientCredentialStatus } from "../../api/clientcredential.ts";

export class CredentialMetrics {
  readonly rotations: Counter<"result">;
  readonly reconcileDuration: Histogram<"result">;
  private readonly expiration: Gauge<"namespace" | "name">;
  private readonly renewal: Gauge<"namespace" | "name">;
  private readonly slotsUsed: Gauge<"namespace" | "name">;
  private readonly ready: Gauge<"namespace" | "name" | "condition">;

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
    const labelNames = ["namespace", "name"] as const;
    this.expiration = new Gauge({
      name: "rotor_secret_expiration_timestamp_seconds",
      help: "When the current secret expires.",
      labelNames,
      registers,
    });
    this.renewal = new Gauge({
      name: "rotor_secret_renewal_timestamp_seconds",
      help: "When the next secret is minted.",
      labelNames,
      registers,
    });
    this.slotsUsed = new Gauge({
      name: "rotor_slots_used",
      help: "Secrets the client holds at the issuer.",
      labelNames,
      registers,
    });
    this.ready = new Gauge({
      name: "rotor_ready_status",
      help: "The Ready condition, one series per status value.",
      labelNames: ["namespace", "name", "condition"],
      registers,
    });
  }

  observe(namespace: string, name: string, status: ClientCredentialStatus): void {
    const labels = { namespace, name };
    if (status.notAfter) this.expiration.set(labels, Date.parse(status.notAfter) / 1000);
    if (status.renewalTime) this.renewal.set(labels, Date.parse(status.renewalTime) / 1000);
    if (status.slots) this.slotsUsed.set(labels, status.slots.used);
    const ready = status.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown";
    for (const condition of ["True", "False", "Unknown"])
      this.ready.set({ ...labels, condition }, condition === ready ? 1 : 0);
  }

  forget(namespace: string, name: string): void {
    const labels = { namespace, name };
    this.expiration.remove(labels);
    this.renewal.remove(labels);
    this.slotsUsed.remove(labels);
    for (const condition of ["True", "False", "Unknown"]) this.ready.remove({ ...labels, condition });
  }
}
