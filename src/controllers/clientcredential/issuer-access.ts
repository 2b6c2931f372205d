/**
 * Which issuer a ClientCredential uses, and whether it may: no issuerRef means the embedded
 * issuer; a CredentialIssuer must be in the same namespace; a ClusterCredentialIssuer may
 * restrict namespaces with a label selector.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { ClientCredentialSpec } from "../../api/clientcredential.ts";
import { GROUP, VERSION } from "../../api/group.ts";
import { clusterCredentialIssuerSpec, credentialIssuerSpec } from "../../api/issuer.ts";
import type { Issuer } from "../../issuers/issuer.ts";
import { isNotFound, makeClient } from "../../runtime/kube.ts";
import { describeError } from "../../runtime/log.ts";

export type Resolved =
  | { ok: true; issuer: Issuer }
  | { ok: false; reason: "IssuerError" | "IssuerNotAllowed"; message: string };

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === "In"
        ? has && values.includes(labels[key] as string)
        : operator === "NotIn"
          ? !has || !values.includes(labels[key] as string)
          : operator === "Exists"
            ? has
            : operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

export class IssuerResolver {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly embedded: Issuer;

  constructor(kc: KubeConfig, embedded: Issuer) {
    this.custom = makeClient(kc, CustomObjectsApi);
    this.core = makeClient(kc, CoreV1Api);
    this.embedded = embedded;
  }

  async resolve(namespace: string, spec: ClientCredentialSpec): Promise<Resolved> {
    const ref = spec.issuerRef;
    if (!ref) return { ok: true, issuer: this.embedded };
    const what = `${ref.kind} ${ref.kind === "CredentialIssuer" ? `${namespace}/` : ""}${ref.name}`;
    try {
      if (ref.kind === "CredentialIssuer") {
        const object = (await this.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: "credentialissuers",
          name: ref.name,
        })) as { spec?: unknown };
        const parsed = credentialIssuerSpec.safeParse(object.spec);
        if (!parsed.success)
          return { ok: false, reason: "IssuerError", message: `${what} has an invalid spec` };
        return this.forKind(what, parsed.data);
      }
      const object = (await this.custom.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: "clustercredentialissuers",
        name: ref.name,
      })) as { spec?: unknown };
      const parsed = clusterCredentialIssuerSpec.safeParse(object.spec);
      if (!parsed.success)
        return { ok: false, reason: "IssuerError", message: `${what} has an invalid spec` };
      const ns = await this.core.readNamespace({ name: namespace });
      if (!selects(parsed.data.namespaceSelector, ns.metadata?.labels ?? {})) {
        return {
          ok: false,
          reason: "IssuerNotAllowed",
          message: `${what} does not allow namespace ${namespace} (namespaceSelector)`,
        };
      }
      return this.forKind(what, parsed.data);
    } catch (error) {
      if (isNotFound(error)) return { ok: false, reason: "IssuerError", message: `${what} does not exist` };
      return { ok: false, reason: "IssuerError", message: `cannot read ${what}: ${describeError(error)}` };
    }
  }

  private forKind(what: string, spec: { embedded?: unknown; ocs?: unknown }): Resolved {
    if (spec.embedded) return { ok: true, issuer: this.embedded };
    return {
      ok: false,
      reason: "IssuerError",
      message: `${what} is an OCS issuer, which this version of Rotor does not support yet`,
    };
  }
}
