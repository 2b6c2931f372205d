/**
 * The rotation protocol. Each step leaves a state that the next observe → decide recognises and
 * completes, so a crash anywhere loses nothing:
 *
 *   1. mint      the issuer creates the secret; its description carries Rotor's ownership
 *                marker, so a secret whose value was never stored is found and revoked (orphan).
 *   2. persist   the value goes into an immutable version Secret before anything refers to it;
 *                if it cannot be stored, the secret is revoked at once.
 *   3. verify    the token endpoint must accept it (retried for --verify-timeout). If it does
 *                not, nothing is revoked: the version stays pending, the current secret stays in
 *                use, and the reconcile fails so the queue retries with backoff (`resume`).
 *   4. activate  the version is annotated activated-at: from here on it is the current secret.
 *
 * Where the token endpoint accepts the new secret at the first try (the embedded issuer always
 * does), 3 comes before 2 and the version is stored activated (2–4 in one write). Nothing is lost
 * by that order: a crash before the version is stored leaves an orphan nobody could have used.
 *   5. switch    the target Secret is written; the API server's time of that write is the switch.
 *   6. supersede the versions that were current before are annotated superseded-at (that time),
 *                and wait for the rollover gate in `decide`.
 */
import { isoSeconds } from "../../../api/duration.ts";
import { ANN_ACTIVATED_AT, ANN_SUPERSEDED_AT } from "../../../api/metadata.ts";
import type { MintedSecret } from "../../../issuers/issuer.ts";
import { retryUntil } from "../../../runtime/backoff.ts";
import { describeError } from "../../../runtime/log.ts";
import { currentScope } from "../../../runtime/scope.ts";
import { desiredTarget, desiredVersion, type SecretContent } from "../resources.ts";
import { type ApplyContext, issuerOf, ownerOf, snapshotOf } from "./context.ts";
import { ApplyError } from "./errors.ts";
import { notes } from "./notes.ts";

export type SwitchReason = "Issued" | "Rotated" | "IssuedToNewClient";

const loginOf = (content: SecretContent) => content.loginClientId ?? content.clientId;

const VERIFY_BACKOFF = { baseMs: 250, maxMs: 4000 };

/** Steps 2–6 for a secret the issuer just minted. */
export async function install(
  ctx: ApplyContext,
  minted: MintedSecret,
  meta: { clientId: string; mintId: string; rotateRequest: string | undefined },
  reason: SwitchReason,
): Promise<void> {
  const snapshot = snapshotOf(ctx);
  const content: SecretContent = {
    clientId: meta.clientId,
    loginClientId: minted.clientId,
    value: minted.value,
    secretId: minted.id,
    notAfter: minted.expiration,
    tokenUrl: issuerOf(ctx).tokenUrl,
    caBundle: issuerOf(ctx).caBundle,
  };
  const verifiedAtOnce = (await issuerOf(ctx).verify(loginOf(content), content.value)).ok;
  const version = desiredVersion(ownerOf(ctx), snapshot.cc.spec, snapshot.secretName, content, {
    // To the millisecond: two secrets minted within one second are still ordered, whatever their
    // ids (a client per secret has random ids).
    createdAt: ctx.now.toISOString(),
    mintId: meta.mintId,
    rotateRequest: meta.rotateRequest,
    activatedAt: verifiedAtOnce ? isoSeconds(ctx.now) : undefined,
  });
  try {
    await ctx.writer.createVersion(version);
  } catch (error) {
    // The value could not be kept: revoke the secret now rather than leave an orphan.
    await issuerOf(ctx)
      .revokeSecret(meta.clientId, minted.id)
      .catch(() => undefined);
    throw new ApplyError(
      "KubernetesError",
      `could not store secret ${minted.id} in a version Secret (${describeError(error)}); it was revoked`,
    );
  }
  const versionName = version.metadata?.name as string;
  if (verifiedAtOnce) await switchTarget(ctx, content, versionName, reason);
  else await switchTo(ctx, content, versionName, reason);
}

/** Steps 3–6: verify, activate, switch the target, supersede the previous versions. */
export async function switchTo(
  ctx: ApplyContext,
  content: SecretContent,
  versionName: string,
  reason: SwitchReason,
): Promise<void> {
  const { namespace } = snapshotOf(ctx).cc;
  const failure = await verify(ctx, content);
  if (failure) {
    ctx.record(notes.verificationPending(content.secretId, failure));
    throw new ApplyError(
      "VerificationPending",
      `new secret ${content.secretId} is not accepted by the token endpoint yet (${failure}); the current secret stays in use`,
    );
  }
  await ctx.writer.annotate({ namespace, name: versionName }, { [ANN_ACTIVATED_AT]: isoSeconds(ctx.now) });
  await switchTarget(ctx, content, versionName, reason);
}

/** Steps 5–6, for an activated version. */
async function switchTarget(
  ctx: ApplyContext,
  content: SecretContent,
  versionName: string,
  reason: SwitchReason,
): Promise<void> {
  const snapshot = snapshotOf(ctx);
  const { namespace } = snapshot.cc;
  const target = desiredTarget(ownerOf(ctx), snapshot.cc.spec, snapshot.secretName, content);
  const switchedAt =
    (await ctx.writer.writeTarget(target, snapshot.target.state === "missing")) ?? isoSeconds(ctx.now);
  const previous = snapshot.versions.filter(
    (v) => v.activatedAt && !v.supersededAt && v.name !== versionName,
  );
  for (const v of previous)
    await ctx.writer.annotate({ namespace, name: v.name }, { [ANN_SUPERSEDED_AT]: switchedAt });
  ctx.record(
    notes.switched(reason, content.secretId, content.notAfter, snapshot.secretName, loginOf(content)),
  );
}

/** Undefined when the token endpoint accepted the secret; else why not (safe to show). */
async function verify(ctx: ApplyContext, content: SecretContent): Promise<string | undefined> {
  let last = "verification timed out";
  const accepted = await retryUntil(
    async () => {
      const result = await issuerOf(ctx).verify(loginOf(content), content.value);
      if (result.ok) return true;
      last = result.permanent ? `rejected: ${result.reason}` : `could not be checked: ${result.reason}`;
      return undefined;
    },
    { deadlineMs: ctx.verifyTimeoutMs, backoff: VERIFY_BACKOFF, signal: currentScope()?.signal },
  );
  return accepted ? undefined : last;
}
