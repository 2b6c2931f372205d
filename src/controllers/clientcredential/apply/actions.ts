/**
 * One handler per action of a plan. Handlers carry out what `decide` chose — every time, id and
 * text comes from the action or the observation — and record what they did.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { ANN_ROLLED_OUT_AT, ANN_SUPERSEDED_AT, FINALIZER } from "../../../api/metadata.ts";
import { IssuerError, type MintedSecret } from "../../../issuers/issuer.ts";
import { workloadKey } from "../../rollout/consumers.ts";
import { type Action, describeWithMarker } from "../model.ts";
import { desiredTarget, loginClientIdOf, restoredVersion } from "../resources.ts";
import { type ApplyContext, clientIdOf, issuerOf, ownerOf, readContent, snapshotOf } from "./context.ts";
import { ApplyError } from "./errors.ts";
import { notes } from "./notes.ts";
import { install, switchTo } from "./rotation.ts";

type Handler<T extends Action["type"]> = (
  ctx: ApplyContext,
  action: Extract<Action, { type: T }>,
) => Promise<void>;

/** A short random id that ties a minted secret's marker to its version Secret. */
const newMintId = () => randomBytes(5).toString("hex");

const description = (ctx: ApplyContext, text: string, mintId: string) => {
  const { issuer, cc } = snapshotOf(ctx);
  return describeWithMarker(text, cc.uid, mintId, issuer.ok ? issuer.maxDescriptionLength : 256);
};

const finalizersOf = (ctx: ApplyContext) => ctx.observation.object.metadata?.finalizers ?? [];
const key = (ctx: ApplyContext, name: string) => ({ namespace: snapshotOf(ctx).cc.namespace, name });

export const handlers: { [T in Action["type"]]: Handler<T> } = {
  async addFinalizer(ctx) {
    const { cc } = snapshotOf(ctx);
    await ctx.writer.setFinalizers(
      key(ctx, cc.name),
      [...finalizersOf(ctx), FINALIZER],
      ctx.observation.object.metadata?.resourceVersion,
    );
  },

  async removeFinalizer(ctx, action) {
    const { cc } = snapshotOf(ctx);
    if (action.warning) ctx.record(notes.revocationAbandoned(action.warning));
    await ctx.writer.setFinalizers(
      key(ctx, cc.name),
      finalizersOf(ctx).filter((f) => f !== FINALIZER),
      ctx.observation.object.metadata?.resourceVersion,
    );
  },

  async keepSecrets(ctx, action) {
    for (const name of action.names) await ctx.writer.release(key(ctx, name));
    ctx.record(notes.secretsKept(action.names, action.why));
  },

  async createClient(ctx, action) {
    const { cc } = snapshotOf(ctx);
    const issuer = issuerOf(ctx);
    const clientId = action.clientId ?? randomUUID();
    // Checked before anything is created: a role the tenant lacks, or the issuer does not give,
    // is the ClientCredential's error to read.
    const roles = await issuer.clientRoles?.(action.roleIds);
    // The chosen id is recorded before the client exists, so a crash in between does not leave
    // a client nobody knows about — unless the issuer itself can say which client is this
    // ClientCredential's (it records the owner with the client). The roles go with it.
    if (roles || (!action.clientId && !issuer.clientOwnedBy))
      await ctx.writer.recordClient(key(ctx, cc.name), clientId, roles);
    const mintId = newMintId();
    let minted: MintedSecret;
    try {
      minted = await issuer.createClient({
        clientId,
        name: action.name,
        roleIds: roles?.map((role) => role.id) ?? action.roleIds,
        ownerUid: cc.uid,
        firstSecret: {
          description: description(ctx, action.firstSecret.description, mintId),
          expiration: new Date(action.firstSecret.expiration),
        },
      });
    } catch (error) {
      // The client exists already (a given clientId, or a retry): the next reconcile mints.
      if (error instanceof IssuerError && error.kind === "ClientExists") return;
      throw error;
    }
    if (roles) ctx.record(notes.clientCreated(clientId, roles));
    try {
      await install(ctx, minted, { clientId, mintId, rotateRequest: undefined }, "IssuedToNewClient");
    } catch (error) {
      if (!roles) ctx.record(notes.clientCreated(clientId));
      throw error;
    }
  },

  async claimClient(ctx) {
    const { cc } = snapshotOf(ctx);
    const owner = await issuerOf(ctx).claimClient(clientIdOf(ctx), cc.uid);
    if (owner !== undefined && owner !== cc.uid)
      throw new ApplyError(
        "ClientIdConflict",
        `client ${clientIdOf(ctx)} was claimed by another ClientCredential first; Rotor mints nothing for it here`,
      );
  },

  async deleteClient(ctx) {
    await issuerOf(ctx).deleteClient(clientIdOf(ctx));
    ctx.record(notes.clientDeleted(clientIdOf(ctx)));
  },

  async releaseClient(ctx) {
    await issuerOf(ctx).releaseClient(clientIdOf(ctx), snapshotOf(ctx).cc.uid);
  },

  async revoke(ctx, action) {
    const uncertain = await issuerOf(ctx).revokeSecret(clientIdOf(ctx), action.secretId);
    if (uncertain) ctx.record(notes.revocationUncertain(action.secretId, uncertain));
    if (action.versionName) await ctx.writer.deleteSecret(key(ctx, action.versionName));
    ctx.record(notes.revoked(action.secretId, action.reason));
  },

  async deleteVersion(ctx, action) {
    await ctx.writer.deleteSecret(key(ctx, action.versionName));
    ctx.record(notes.versionDeleted(action.versionName, action.why));
  },

  async restoreVersion(ctx, action) {
    const snapshot = snapshotOf(ctx);
    const value = action.valueFromTarget
      ? (await readContent(ctx, snapshot.secretName, `Secret ${snapshot.secretName}`)).value
      : undefined;
    const version = restoredVersion(
      ownerOf(ctx),
      snapshot.cc.spec,
      snapshot.secretName,
      {
        ...action,
        clientId: clientIdOf(ctx),
        loginClientId: loginClientIdOf(issuerOf(ctx).clientPerSecret, action.secretId),
        value,
        tokenUrl: issuerOf(ctx).tokenUrl,
      },
      randomBytes(3).toString("hex"),
    );
    await ctx.writer.createVersion(version);
    ctx.record(notes.versionRestored(action, version.metadata?.name as string));
  },

  async deleteTarget(ctx, action) {
    await ctx.writer.deleteSecret(key(ctx, action.secretName));
    ctx.record(notes.targetDeleted(action.secretName, action.why));
  },

  async markSuperseded(ctx, action) {
    await ctx.writer.annotate(key(ctx, action.versionName), { [ANN_SUPERSEDED_AT]: action.at });
  },

  async markRolledOut(ctx, action) {
    await ctx.writer.annotate(key(ctx, action.versionName), { [ANN_ROLLED_OUT_AT]: action.at });
    ctx.record(notes.rolledOut(action.versionName, snapshotOf(ctx).cc.spec.gracePeriod));
  },

  async restart(ctx, action) {
    const what = workloadKey(action.workload);
    ctx.restarts.request(snapshotOf(ctx).cc.namespace, action.workload, action.secretId, (error) =>
      ctx.record(error ? notes.restartFailed(what, error) : notes.restarted(what, action.secretId)),
    );
  },

  async repairTarget(ctx, action) {
    const snapshot = snapshotOf(ctx);
    const content = await readContent(ctx, action.versionName, `version Secret ${action.versionName}`);
    const target = desiredTarget(ownerOf(ctx), snapshot.cc.spec, snapshot.secretName, content);
    await ctx.writer.writeTarget(target, snapshot.target.state === "missing");
    ctx.record(notes.targetRestored(snapshot.secretName, action.versionName, content.secretId));
  },

  async resume(ctx, action) {
    const content = await readContent(ctx, action.versionName, `version Secret ${action.versionName}`);
    await switchTo(ctx, content, action.versionName, "Rotated");
  },

  async mint(ctx, action) {
    const clientId = clientIdOf(ctx);
    const mintId = newMintId();
    const minted = await issuerOf(ctx).mintSecret(clientId, {
      description: description(ctx, action.secret.description, mintId),
      expiration: new Date(action.secret.expiration),
    });
    const reason = action.reason === "initial" ? "Issued" : "Rotated";
    await install(ctx, minted, { clientId, mintId, rotateRequest: action.rotateRequest }, reason);
  },
};
