/**
 * `rotor_issuer_ready{kind,namespace,name}`: 1 while Rotor can work with the issuer (its Ready
 * condition is True), else 0; one series per issuer object, removed when it is deleted and on
 * a replica that stops leading (the next leader checks every issuer again). A
 * ClusterCredentialIssuer has no namespace label of its own.
 */
import { Gauge, type Registry } from "prom-client";
import type { IssuerRef } from "./keys.ts";

const labelsOf = (ref: IssuerRef) => ({ kind: ref.kind, namespace: ref.namespace ?? "", name: ref.name });

export class IssuerMetrics {
  private readonly ready: Gauge<"kind" | "namespace" | "name">;

  constructor(registry: Registry) {
    this.ready = new Gauge({
      name: "rotor_issuer_ready",
      help: "1 while the issuer's Ready condition is True (Rotor can work with it), else 0.",
      labelNames: ["kind", "namespace", "name"],
      registers: [registry],
    });
  }

  observe(ref: IssuerRef, ready: boolean): void {
    this.ready.set(labelsOf(ref), ready ? 1 : 0);
  }

  forget(ref: IssuerRef): void {
    this.ready.remove(labelsOf(ref));
  }

  clear(): void {
    this.ready.reset();
  }
}
