/** What every action handler works with: the observation, the reconcile's clock, the writers. */
import { ANN_NOT_AFTER, SECRET_ID } from "../../../api/metadata.ts";
import type { Issuer } from "../../../issuers/issuer.ts";
import type { WorkloadRef } from "../../rollout/consumers.ts";
import type { Observation } from "../observe.ts";
import { loginClientIdOf, type Owner, type SecretContent, versionValue } from "../resources.ts";
import type { Note } from "./notes.ts";
import type { CredentialWriter } from "./writer.ts";

/** Restart requests, coalesced elsewhere; `notify` reports the outcome once the stamp is written. */
export interface RestartQueue {
  request(
    namespace: string,
    workload: WorkloadRef,
    secretId: string,
    notify: (error?: string) => void,
  ): boolean;
}

export interface ApplyContext {
  observation: Observation;
  /** The reconcile's one clock reading. */
  now: Date;
  writer: CredentialWriter;
  restarts: RestartQueue;
  /** Records an event on the ClientCredential. */
  record: (note: Note) => void;
  /** How long a new secret may take to be accepted by the token endpoint. */
  verifyTimeoutMs: number;
}

export const snapshotOf = (ctx: ApplyContext) => ctx.observation.snapshot;

export function ownerOf(ctx: ApplyContext): Owner {
  const { uid, name, namespace } = ctx.observation.snapshot.cc;
  return { uid, name, namespace };
}

export function issuerOf(ctx: ApplyContext): Issuer {
  if (!ctx.observation.issuer) throw new Error("no issuer resolved");
  return ctx.observation.issuer;
}

export function clientIdOf(ctx: ApplyContext): string {
  const { clientId } = ctx.observation.snapshot;
  if (!clientId) throw new Error("no client id");
  return clientId;
}

/**
 * A stored secret's content, read now from the API server (no cache holds values): from a
 * version Secret, or the target Secret.
 */
export async function readContent(
  ctx: ApplyContext,
  secretName: string,
  what: string,
): Promise<SecretContent> {
  const { snapshot } = ctx.observation;
  const secret = await ctx.observation.readSecret(secretName);
  const value = secret ? versionValue(secret, snapshot.cc.spec.keys.clientSecret) : undefined;
  const annotations = secret?.metadata?.annotations ?? {};
  if (!secret || value === undefined) throw new Error(`${what} has no readable value`);
  const secretId = annotations[SECRET_ID] as string;
  return {
    clientId: clientIdOf(ctx),
    loginClientId: loginClientIdOf(issuerOf(ctx).clientPerSecret, secretId),
    value,
    secretId,
    notAfter: annotations[ANN_NOT_AFTER] as string,
    tokenUrl: issuerOf(ctx).tokenUrl,
    caBundle: issuerOf(ctx).caBundle,
  };
}
