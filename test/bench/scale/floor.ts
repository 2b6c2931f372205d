/**
 * The floor: what the writes of N ClientCredentials cost with nothing else to do. A bare client
 * (one reused connection pool) makes, per credential, the six writes Rotor cannot avoid — create
 * the ClientCredential, add Rotor's finalizer, the embedded issuer's registry Secret, the version
 * Secret, the target Secret, the status — at the same concurrency Rotor's users create at.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { OPERATOR_NAMESPACE } from "../../../hack/operator/process.ts";
import {
  FINALIZER,
  LABEL_CLIENT_CREDENTIAL,
  LABEL_MANAGED_BY,
  SECRET_ID,
} from "../../../src/api/metadata.ts";
import { type BenchClient, CC_API, forEachConcurrently, type KubeObject } from "./kube.ts";

const FLOOR_LABEL = "rotor.dev/bench-floor";

export interface FloorOptions {
  namespace: string;
  count: number;
  concurrency: number;
  credential: (i: number) => Record<string, unknown>;
  progress: (done: number) => void;
}

/** Makes the minimal writes for `count` credentials; resolves with the seconds it took. */
export async function runFloor(client: BenchClient, options: FloorOptions): Promise<number> {
  const { namespace } = options;
  const b64 = (value: string) => Buffer.from(value).toString("base64");
  // About the size of the CA bundle Rotor writes into each target Secret (two certificates).
  const caBundle = b64(randomBytes(1400).toString("base64"));
  const started = Date.now();
  let done = 0;
  await forEachConcurrently(options.count, options.concurrency, async (i) => {
    const cc = await client.create<KubeObject>(
      `${CC_API}/namespaces/${namespace}/clientcredentials`,
      options.credential(i),
    );
    const name = cc.metadata.name;
    const path = `${CC_API}/namespaces/${namespace}/clientcredentials/${name}`;
    await client.patch(path, { metadata: { finalizers: [FINALIZER] } });
    const clientId = randomUUID();
    const secretId = "1";
    const value = randomBytes(32).toString("base64url");
    const now = new Date().toISOString();
    const notAfter = new Date(Date.now() + 90 * 86_400_000).toISOString();
    await client.create(`/api/v1/namespaces/${OPERATOR_NAMESPACE}/secrets`, {
      metadata: { name: `bench-floor-${clientId}`, labels: { [FLOOR_LABEL]: "true" } },
      data: {
        "client.json": b64(
          JSON.stringify({
            clientId,
            name: `${namespace}/${name}`,
            ownerUid: cc.metadata.uid,
            createdAt: now,
            nextSecretId: 2,
            secrets: [
              { id: secretId, createdAt: now, notAfter, hash: randomBytes(32).toString("base64url") },
            ],
          }),
        ),
      },
    });
    const owner = {
      apiVersion: "rotor.dev/v1alpha1",
      kind: "ClientCredential",
      name,
      uid: cc.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    const labels = { [LABEL_CLIENT_CREDENTIAL]: name, [LABEL_MANAGED_BY]: "rotor" };
    const data = {
      client_id: b64(clientId),
      client_secret: b64(value),
      token_url: b64("https://127.0.0.1:8443/oauth2/token"),
    };
    await client.create(`/api/v1/namespaces/${namespace}/secrets`, {
      metadata: {
        name: `${name}-${secretId}`,
        labels: { ...labels, [SECRET_ID]: secretId },
        annotations: { [SECRET_ID]: secretId },
        ownerReferences: [owner],
      },
      immutable: true,
      data,
    });
    await client.create(`/api/v1/namespaces/${namespace}/secrets`, {
      metadata: { name, labels, annotations: { [SECRET_ID]: secretId }, ownerReferences: [owner] },
      data: { ...data, "ca.crt": caBundle },
    });
    await client.patch(`${path}/status`, {
      status: {
        observedGeneration: 1,
        clientId,
        currentSecretId: secretId,
        notAfter,
        renewalTime: new Date(Date.now() + 60 * 86_400_000).toISOString(),
        secrets: [
          { id: secretId, state: "Current", createdAt: now, notAfter, versionSecretName: `${name}-1` },
        ],
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "Issued",
            message: "bench floor",
            lastTransitionTime: now.replace(/\.\d+Z$/, "Z"),
            observedGeneration: 1,
          },
        ],
      },
    });
    options.progress(++done);
  });
  return (Date.now() - started) / 1000;
}

/**
 * Removes what the floor wrote before Rotor starts (Rotor would otherwise reconcile it): the
 * finalizers first (no Rotor runs to remove them), then the namespace and the registry Secrets.
 */
export async function removeFloor(
  client: BenchClient,
  namespace: string,
  concurrency: number,
): Promise<void> {
  const list = await client.get<{ items: KubeObject[] }>(
    `${CC_API}/namespaces/${namespace}/clientcredentials`,
  );
  await forEachConcurrently(list.items.length, concurrency, async (i) => {
    const name = list.items[i]?.metadata.name;
    await client.patch(`${CC_API}/namespaces/${namespace}/clientcredentials/${name}`, {
      metadata: { finalizers: null },
    });
  });
  await client.delete(`/api/v1/namespaces/${namespace}`);
  await client.delete(
    `/api/v1/namespaces/${OPERATOR_NAMESPACE}/secrets?labelSelector=${encodeURIComponent(FLOOR_LABEL)}`,
  );
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      await client.get(`/api/v1/namespaces/${namespace}`);
    } catch (error) {
      if ((error as { code?: number }).code === 404) return;
      throw error;
    }
    if (Date.now() > deadline) throw new Error(`namespace ${namespace} still there after 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
