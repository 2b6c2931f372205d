/**
 * The embedded issuer: Rotor's own OAuth2 identity provider, following the same rules as OCS
 * (GUID clients, at most 10 secrets each, a description and an expiration on every secret,
 * values that exist only in the response that creates them).
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import type { CertificateSource } from "../../runtime/tls.ts";
import {
  type ClientRequest,
  type Issuer,
  IssuerError,
  type MintedSecret,
  type SecretRequest,
  type VerifyResult,
} from "../issuer.ts";
import { addSecret } from "./record.ts";
import type { ClientRegistry } from "./registry.ts";
import { TOKEN_PATH } from "./server.ts";

export interface EmbeddedIssuerOptions {
  registry: ClientRegistry;
  /** The token endpoint as workloads reach it (written into target Secrets). */
  publicUrl: string;
  /** The token endpoint as this process reaches it, for verification. */
  localUrl: string;
  /** The token endpoint's certificate (undefined: plain HTTP): its CA goes into target Secrets. */
  tls?: Pick<CertificateSource, "caBundle">;
  now?: () => Date;
}

export class EmbeddedIssuer implements Issuer {
  readonly tokenUrl: string;
  readonly maxDescriptionLength = 512;
  readonly createsNamedClients = true;
  readonly recordsClaims = true;
  private readonly registry: ClientRegistry;
  private readonly verifyUrl: string;
  /** The public host, which the certificate must name for the verification to pass. */
  private readonly publicHost: string;
  private readonly tls: Pick<CertificateSource, "caBundle"> | undefined;
  private readonly now: () => Date;
  /**
   * Verifications reuse their connections (a TLS handshake per new secret would be most of the
   * cost of issuing one): one agent per CA bundle, replaced when the bundle changes.
   */
  private agent: { ca: string | undefined; agent: HttpAgent } | undefined;

  constructor(options: EmbeddedIssuerOptions) {
    this.registry = options.registry;
    this.tokenUrl = `${options.publicUrl.replace(/\/$/, "")}${TOKEN_PATH}`;
    this.verifyUrl = `${options.localUrl.replace(/\/$/, "")}${TOKEN_PATH}`;
    this.publicHost = new URL(options.publicUrl).hostname.replace(/^\[(.*)\]$/, "$1");
    this.tls = options.tls;
    this.now = options.now ?? (() => new Date());
  }

  /** The CA bundle workloads need to trust the token endpoint (`ca.crt` in target Secrets). */
  get caBundle(): string | undefined {
    return this.tls?.caBundle();
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

  clientOwnedBy(ownerUid: string): string | undefined {
    return this.registry.ownedBy(ownerUid);
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

  /** From the registry's cache, with this replica's own writes applied: never older than them. */
  async listSecrets(clientId: string) {
    const record = this.registry.cached(clientId);
    if (!record)
      throw new IssuerError("ClientNotFound", `client ${clientId} does not exist at the embedded issuer`);
    return record.secrets.map(({ id, description, expiration }) => ({ id, description, expiration }));
  }

  mintSecret(clientId: string, request: SecretRequest): Promise<MintedSecret> {
    return this.registry.update(clientId, (record) => addSecret(record, request, this.now()));
  }

  async revokeSecret(clientId: string, secretId: string): Promise<undefined> {
    try {
      await this.registry.update(clientId, (record) => {
        record.secrets = record.secrets.filter((s) => s.id !== secretId);
      });
    } catch (error) {
      if (error instanceof IssuerError && error.kind === "ClientNotFound") return;
      throw error;
    }
  }

  /**
   * Over this replica's own listener (loopback), yet as a workload would connect: over TLS with
   * the CA bundle that target Secrets carry, checking that the certificate names the public host.
   */
  async verify(clientId: string, secret: string): Promise<VerifyResult> {
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: secret,
    }).toString();
    try {
      const response = await this.post(body);
      if (response.status === 200) return { ok: true };
      const answer = (() => {
        try {
          return JSON.parse(response.body) as { error?: string };
        } catch {
          return {};
        }
      })();
      return {
        ok: false,
        permanent: response.status === 401 || response.status === 400,
        reason: `token endpoint answered ${response.status} ${answer.error ?? ""}`.trim(),
      };
    } catch (error) {
      const code = (error as { code?: string }).code;
      return {
        ok: false,
        permanent: false,
        reason: `token endpoint unreachable: ${code ?? (error as Error).name}`,
      };
    }
  }

  /**
   * The TLS options live on the agent, not on each request: a per-request checkServerIdentity
   * makes Node open a new connection every time.
   */
  private agentFor(secure: boolean, ca: string | undefined): HttpAgent {
    if (!this.agent || this.agent.ca !== ca) {
      this.agent?.agent.destroy();
      const options = { keepAlive: true, maxSockets: 4 };
      this.agent = {
        ca,
        agent: secure
          ? new HttpsAgent({
              ...options,
              ca,
              // The certificate must name the public host (sent as SNI unless it is an address).
              servername: isIP(this.publicHost) ? undefined : this.publicHost,
              checkServerIdentity: (_host: string, cert: PeerCertificate) =>
                checkServerIdentity(this.publicHost, cert),
            })
          : new HttpAgent(options),
      };
    }
    return this.agent.agent;
  }

  private post(body: string): Promise<{ status: number; body: string }> {
    const url = new URL(this.verifyUrl);
    const secure = url.protocol === "https:";
    const send = secure ? httpsRequest : httpRequest;
    const ca = secure ? this.tls?.caBundle() : undefined;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          signal: AbortSignal.timeout(5000),
          agent: this.agentFor(secure, ca),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}
