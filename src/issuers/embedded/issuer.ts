/**
 * The embedded issuer: Rotor's own OAuth2 identity provider, following the same rules as OCS
 * (GUID clients, at most 10 secrets each, a description and an expiration on every secret,
 * values that exist only in the response that creates them).
 */
import {
  type ClientRequest,
  type Issuer,
  IssuerError,
  type MintedSecret,
  type SecretRequest,
  type VerifyResult,
} from "../issuer.ts";
import { addSecret, type ClientRegistry } from "./registry.ts";
import { TOKEN_PATH } from "./server.ts";

export interface EmbeddedIssuerOptions {
  registry: ClientRegistry;
  /** The token endpoint as workloads reach it (written into target Secrets). */
  publicUrl: string;
  /** The token endpoint as this process reaches it, for verification. */
  localUrl: string;
  now?: () => Date;
}

export class EmbeddedIssuer implements Issuer {
  readonly tokenUrl: string;
  readonly maxDescriptionLength = 512;
  readonly createsNamedClients = true;
  readonly recordsClaims = true;
  private readonly registry: ClientRegistry;
  private readonly verifyUrl: string;
  private readonly now: () => Date;

  constructor(options: EmbeddedIssuerOptions) {
    this.registry = options.registry;
    this.tokenUrl = `${options.publicUrl.replace(/\/$/, "")}${TOKEN_PATH}`;
    this.verifyUrl = `${options.localUrl.replace(/\/$/, "")}${TOKEN_PATH}`;
    this.now = options.now ?? (() => new Date());
  }

  createClient(request: ClientRequest): Promise<MintedSecret> {
    return this.registry.create(
      request.clientId,
      request.name,
      request.ownerUid,
      request.firstSecret,
      this.now(),
    );
  }

  /** From the registry's cache: a claim itself is always a compare-and-swap on the record. */
  async clientOwner(clientId: string): Promise<string | undefined> {
    return this.registry.cached(clientId)?.ownerUid;
  }

  claimClient(clientId: string, ownerUid: string): Promise<string | undefined> {
    return this.registry.update(clientId, (record) => {
      record.ownerUid ??= ownerUid;
      return record.ownerUid;
    });
  }

  async releaseClient(clientId: string, ownerUid: string): Promise<void> {
    try {
      await this.registry.update(clientId, (record) => {
        if (record.ownerUid === ownerUid) delete record.ownerUid;
      });
    } catch (error) {
      if (!(error instanceof IssuerError && error.kind === "ClientNotFound")) throw error;
    }
  }

  deleteClient(clientId: string): Promise<void> {
    return this.registry.delete(clientId);
  }

  async listSecrets(clientId: string) {
    const record = await this.registry.read(clientId);
    if (!record)
      throw new IssuerError("ClientNotFound", `client ${clientId} does not exist at the embedded issuer`);
    return record.secrets.map(({ id, description, expiration }) => ({ id, description, expiration }));
  }

  mintSecret(clientId: string, request: SecretRequest): Promise<MintedSecret> {
    return this.registry.update(clientId, (record) => addSecret(record, request, this.now()));
  }

  async revokeSecret(clientId: string, secretId: string): Promise<void> {
    try {
      await this.registry.update(clientId, (record) => {
        record.secrets = record.secrets.filter((s) => s.id !== secretId);
      });
    } catch (error) {
      if (error instanceof IssuerError && error.kind === "ClientNotFound") return;
      throw error;
    }
  }

  async verify(clientId: string, secret: string): Promise<VerifyResult> {
    try {
      const response = await fetch(this.verifyUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: clientId,
          client_secret: secret,
        }),
        signal: AbortSignal.timeout(5000),
      });
      if (response.ok) return { ok: true };
      const body = (await response.json().catch(() => ({}))) as { error?: string };
      return {
        ok: false,
        permanent: response.status === 401 || response.status === 400,
        reason: `token endpoint answered ${response.status} ${body.error ?? ""}`.trim(),
      };
    } catch (error) {
      return { ok: false, permanent: false, reason: `token endpoint unreachable: ${(error as Error).name}` };
    }
  }
}
