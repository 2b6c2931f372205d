/**
 * Rotor's identity for a container run against a test cluster: deploy/rbac.yaml moved into a
 * namespace of its own, and the files the kubelet would mount for a service account.
 */
import { chmodSync, chownSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";

/**
 * An RBAC file for Rotor running in `namespace` instead of the one it names: its namespaced
 * objects moved there, its ClusterRoleBindings renamed (they would otherwise take the binding
 * of another Rotor away). ClusterRoles stay as they are: they name no namespace.
 */
export function rbacInNamespace(
  file: string,
  namespace: string,
): { manifest: string; clusterBindings: string[] } {
  const clusterBindings: string[] = [];
  const objects = parseAllDocuments(readFileSync(file, "utf8"))
    .map((document) => document.toJS())
    .filter((object) => object && object.kind !== "Namespace")
    .map((object) => {
      if (object.kind === "ClusterRoleBinding") {
        object.metadata.name = `${object.metadata.name}-${namespace}`;
        clusterBindings.push(object.metadata.name);
      } else if (!object.kind.startsWith("Cluster")) object.metadata.namespace = namespace;
      for (const subject of object.subjects ?? [])
        if (subject.kind === "ServiceAccount") subject.namespace = namespace;
      return stringify(object);
    });
  return { manifest: objects.join("---\n"), clusterBindings };
}

/**
 * What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount — a requested token,
 * the cluster's CA and the namespace — in a new directory readable by root and group `gid` only.
 */
export async function serviceAccountDir(
  kc: KubeConfig,
  namespace: string,
  serviceAccount: string,
  gid: number,
): Promise<string> {
  const request = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = kc.getCurrentCluster();
  const ca = cluster?.caData
    ? Buffer.from(cluster.caData, "base64")
    : readFileSync(cluster?.caFile as string);
  const dir = mkdtempSync(join(tmpdir(), "rotor-image-sa-"));
  const files = { token: request.status?.token as string, "ca.crt": ca, namespace };
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(join(dir, file), content, { mode: 0o640 });
    chownSync(join(dir, file), 0, gid);
  }
  chownSync(dir, 0, gid);
  chmodSync(dir, 0o750);
  return dir;
}
