/**
 * apply, with a fake Kubernetes writer and an in-memory issuer: the rotation protocol's order,
 * where the switch time comes from, and what a refused verification leaves behind.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ANN_ACTIVATED_AT, ANN_SUPERSEDED_AT } from "../../../../src/api/metadata.ts";
import {
  type ApplyContext,
  ApplyError,
  apply,
  type CredentialWriter,
} from "../../../../src/controllers/clientcredential/apply/index.ts";
import type { Note } from "../../../../src/controllers/clientcredential/apply/notes.ts";
import type { Action, Snapshot } from "../../../../src/controllers/clientcredential/model.ts";
import type { Issuer, IssuerSecret, MintedSecret, VerifyResult } from "../../../../src/issuers/issuer.ts";
import { at, inSyncTarget, mine, snapshot, version } from "./builders.ts";

const SERVER_TIME = "2026-11-27T10:00:07.000Z";

class FakeWriter implements CredentialWriter {
  readonly calls: string[] = [];
  readonly versions: V1Secret[] = [];
  readonly annotations = new Map<string, Record<string, string>>();
  failCreateVersion = false;
  async setFinalizers() {
    this.calls.push("setFinalizers");
  }
  async writeStatus() {
    this.calls.push("writeStatus");
  }
  async recordClient(_cc: unknown, clientId: string) {
    this.calls.push(`recordClient:${clientId}`);
  }
  async createVersion(secret: V1Secret) {
    if (this.failCreateVersion) throw new Error("etcd is down");
    this.calls.push(`createVersion:${secret.metadata?.name}`);
    this.versions.push(secret);
  }
  async annotate(secret: { name: string }, annotations: Record<string, string>) {
    this.calls.push(`annotate:${secret.name}:${Object.keys(annotations).join(",")}`);
    this.annotations.set(secret.name, { ...this.annotations.get(secret.name), ...annotations });
  }
  async deleteSecret(secret: { name: string }) {
    this.calls.push(`deleteSecret:${secret.name}`);
  }
  async release(secret: { name: string }) {
    this.calls.push(`release:${secret.name}`);
  }
  async writeTarget(target: V1Secret) {
    this.calls.push(`writeTarget:${target.metadata?.name}`);
    return SERVER_TIME;
  }
}

class FakeIssuer implements Issuer {
  readonly tokenUrl = "http://issuer/token";
  readonly createsNamedClients = true;
  readonly maxDescriptionLength = 256;
  readonly recordsClaims = true;
  owner: string | undefined;
  verifyResult: VerifyResult = { ok: true };
  /** Answers to the first verifications, before verifyResult. */
  verifyFirst: VerifyResult[] = [];
  readonly revoked: string[] = [];
  readonly minted: MintedSecret[] = [];
  async clientOwner() {
    return this.owner;
  }
  async claimClient(_id: string, uid: string) {
    this.owner ??= uid;
    return this.owner;
  }
  async releaseClient() {}
  async createClient(): Promise<MintedSecret> {
    throw new Error("not used");
  }
  async deleteClient() {}
  async listSecrets(): Promise<IssuerSecret[]> {
    return [];
  }
  async mintSecret(_clientId: string, request: { description: string; expiration: Date }) {
    const secret = {
      id: "11",
      description: request.description,
      expiration: request.expiration.toISOString(),
      value: "s3cr3t-value",
    };
    this.minted.push(secret);
    return secret;
  }
  async revokeSecret(_clientId: string, secretId: string) {
    this.revoked.push(secretId);
    return undefined;
  }
  async verify() {
    return this.verifyFirst.shift() ?? this.verifyResult;
  }
}

function context(given: Snapshot, issuer: FakeIssuer, writer = new FakeWriter()) {
  const notes: Note[] = [];
  const ctx: ApplyContext = {
    observation: {
      snapshot: given,
      issuer,
      versionSecrets: new Map(),
      readSecret: async () => undefined,
      object: { metadata: { finalizers: [], resourceVersion: "1" } },
    },
    now: at(61),
    writer,
    restarts: { request: () => true },
    record: (note) => notes.push(note),
    verifyTimeoutMs: 50,
  };
  return { ctx, notes, writer };
}

const renewal: Action = {
  type: "mint",
  reason: "renewal",
  rotateRequest: undefined,
  secret: { expiration: "2026-11-27T13:01:00Z", description: "app" },
};
const due = () =>
  snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") });

describe("apply: the rotation protocol", () => {
  it("stores a secret verified at once activated, switches, then supersedes with the API server's time of the switch", async () => {
    const issuer = new FakeIssuer();
    const { ctx, writer, notes } = context(due(), issuer);
    await apply(ctx, { actions: [renewal], blocker: undefined, requeueAfterMs: undefined, notices: [] });
    expect(writer.calls).toEqual([
      "createVersion:app-11",
      "writeTarget:app",
      `annotate:app-1:${ANN_SUPERSEDED_AT}`,
    ]);
    expect(writer.versions[0]?.metadata?.annotations?.[ANN_ACTIVATED_AT]).toBe(
      at(61).toISOString().replace(".000", ""),
    );
    expect(writer.annotations.get("app-1")).toEqual({ [ANN_SUPERSEDED_AT]: SERVER_TIME });
    // The expiry decide chose is the one minted; the description carries the ownership marker.
    expect(issuer.minted[0]?.expiration).toBe("2026-11-27T13:01:00.000Z");
    expect(issuer.minted[0]?.description).toMatch(
      /^app \(rotor:11111111-1111-4111-8111-111111111111:[0-9a-f]{10}\)$/,
    );
    expect(notes.map((n) => n.reason)).toEqual(["Rotated"]);
    expect(JSON.stringify(notes)).not.toContain("s3cr3t-value");
  });

  it("persists a secret not yet accepted first, then verifies, activates and switches", async () => {
    const issuer = new FakeIssuer();
    issuer.verifyFirst = [{ ok: false, permanent: false, reason: "token endpoint answered 503" }];
    const { ctx, writer } = context(due(), issuer);
    await apply(ctx, { actions: [renewal], blocker: undefined, requeueAfterMs: undefined, notices: [] });
    expect(writer.calls).toEqual([
      "createVersion:app-11",
      `annotate:app-11:${ANN_ACTIVATED_AT}`,
      "writeTarget:app",
      `annotate:app-1:${ANN_SUPERSEDED_AT}`,
    ]);
    expect(writer.versions[0]?.metadata?.annotations).not.toHaveProperty(ANN_ACTIVATED_AT);
  });

  it("keeps a new secret the token endpoint refuses, revokes nothing and leaves the target alone", async () => {
    const issuer = new FakeIssuer();
    issuer.verifyResult = { ok: false, permanent: true, reason: "token endpoint answered 429" };
    const { ctx, writer, notes } = context(due(), issuer);
    const failed = await apply(ctx, {
      actions: [renewal],
      blocker: undefined,
      requeueAfterMs: undefined,
      notices: [],
    }).catch((e) => e);
    expect(failed).toBeInstanceOf(ApplyError);
    expect(failed.reason).toBe("VerificationPending");
    expect(issuer.revoked).toEqual([]);
    expect(writer.calls).toEqual(["createVersion:app-11"]);
    expect(notes.map((n) => n.reason)).toEqual(["VerificationFailed"]);
  });

  it("revokes a new secret at once when its value cannot be stored", async () => {
    const issuer = new FakeIssuer();
    const writer = new FakeWriter();
    writer.failCreateVersion = true;
    const { ctx } = context(due(), issuer, writer);
    const failed = await apply(ctx, {
      actions: [renewal],
      blocker: undefined,
      requeueAfterMs: undefined,
      notices: [],
    }).catch((e) => e);
    expect(failed.reason).toBe("KubernetesError");
    expect(issuer.revoked).toEqual(["11"]);
  });

  it("a claim lost to another ClientCredential stops the plan before anything is minted", async () => {
    const issuer = new FakeIssuer();
    issuer.owner = "22222222-2222-4222-8222-222222222222";
    const { ctx } = context(snapshot({ clientOwnedByRotor: false, issuerSecrets: [] }), issuer);
    const plan = {
      actions: [{ type: "claimClient" } as Action, renewal],
      blocker: undefined,
      requeueAfterMs: undefined,
      notices: [],
    };
    const failed = await apply(ctx, plan).catch((e) => e);
    expect(failed.reason).toBe("ClientIdConflict");
    expect(issuer.minted).toEqual([]);
  });
});
