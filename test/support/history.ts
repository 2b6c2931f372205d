/**
 * What happened to a namespace's ClientCredentials, straight from the API server (not through
 * any proxy Rotor talks to), by revision: resourceVersion is the local etcd's revision, one
 * counter for all objects, so target Secrets and the embedded issuer's records can be put in
 * one order. Watches are resumed whenever they end.
 */
import { type KubernetesObject, type V1Secret, Watch } from "@kubernetes/client-node";
import { decodeRecord } from "../../src/issuers/embedded/record.ts";
import { sleep } from "../../src/runtime/backoff.ts";
import { kubeConfig } from "./cluster.ts";
import { OPERATOR_NAMESPACE } from "./rotor.ts";

type Revision = bigint;

/** A version without a rotate-request annotation: the first, or a replacement. */
export const CREATION = "(no rotate request: the creation)";

const push = <T>(map: Map<string, T[]>, key: string, value: T) =>
  map.set(key, [...(map.get(key) ?? []), value]);
const byRevision = <T extends { revision: Revision }>(list: T[] = []) =>
  [...list].sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));

export class History {
  /** Target Secret → the secret id it held at each revision. */
  private readonly targets = new Map<string, Array<{ revision: Revision; id: string }>>();
  /** Client id → the secret ids the embedded issuer had for it at each revision. */
  readonly issuer = new Map<string, Array<{ revision: Revision; ids: string[] }>>();
  /** `name request` → the secret ids whose version was activated for that rotate request. */
  readonly activated = new Map<string, Set<string>>();
  private readonly stops: Array<() => void> = [];

  constructor(namespace: string) {
    this.follow(`/api/v1/namespaces/${namespace}/secrets`, "rotor.dev/role", (object) => {
      const { name = "", labels = {}, annotations = {}, resourceVersion = "0" } = object.metadata ?? {};
      const id = annotations["rotor.dev/secret-id"];
      if (!id) return;
      if (labels["rotor.dev/role"] === "target") {
        push(this.targets, name, { revision: BigInt(resourceVersion), id });
      } else if (labels["rotor.dev/role"] === "version" && annotations["rotor.dev/activated-at"]) {
        const key = `${labels["rotor.dev/client-credential"]} ${annotations["rotor.dev/rotate-request"] ?? CREATION}`;
        this.activated.set(key, (this.activated.get(key) ?? new Set()).add(id));
      }
    });
    this.follow(`/api/v1/namespaces/${OPERATOR_NAMESPACE}/secrets`, "rotor.dev/embedded-client", (object) => {
      const record = decodeRecord(object as V1Secret);
      if (!record) return;
      const revision = BigInt(object.metadata?.resourceVersion ?? "0");
      push(this.issuer, record.clientId, { revision, ids: record.secrets.map((s) => s.id) });
    });
  }

  stop(): void {
    for (const stop of this.stops) stop();
  }

  /** The secret ids the target Secret held, in order. */
  targetIds(name: string): string[] {
    const ids: string[] = [];
    for (const { id } of byRevision(this.targets.get(name))) if (ids.at(-1) !== id) ids.push(id);
    return ids;
  }

  /** Every moment the target Secret held a secret the issuer no longer had (revoked while in use). */
  heldRevoked(name: string, clientId: string): string[] {
    const steps = byRevision<{ revision: Revision; id?: string; ids?: string[] }>([
      ...(this.targets.get(name) ?? []),
      ...(this.issuer.get(clientId) ?? []),
    ]);
    let held: string | undefined;
    let live: string[] = [];
    const found: string[] = [];
    for (const step of steps) {
      held = step.id ?? held;
      live = step.ids ?? live;
      if (held !== undefined && !live.includes(held))
        found.push(`at revision ${step.revision} ${name} held secret ${held}; the issuer had [${live}]`);
    }
    return found;
  }

  /** Follows a collection's objects, resuming the watch whenever it ends. */
  private follow(path: string, labelSelector: string, seen: (object: KubernetesObject) => void): void {
    let resourceVersion: string | undefined;
    let stopped = false;
    let current: AbortController | undefined;
    const start = async (): Promise<void> => {
      if (stopped) return;
      current = await new Watch(kubeConfig()).watch(
        path,
        { labelSelector, ...(resourceVersion ? { resourceVersion } : {}) },
        (type: string, object: KubernetesObject & { code?: number }) => {
          if (type === "ERROR") {
            if (object.code === 410) resourceVersion = undefined;
            return;
          }
          resourceVersion = object.metadata?.resourceVersion;
          if (type !== "BOOKMARK" && type !== "DELETED") seen(object);
        },
        () => void sleep(200).then(() => start().catch(() => undefined)),
      );
    };
    this.stops.push(() => {
      stopped = true;
      current?.abort();
    });
    void start().catch((error) => console.error(`watch of ${path} could not start: ${error}`));
  }
}
