/**
 * A pod's and its container's securityContext as podman flags, so that the image runs here as
 * the kubelet would run it (test/integration/ship/image.test.ts runs it with deploy/operator.yaml's).
 * A field it does not know is refused, not dropped: what the Deployment asks for is either
 * enforced here or the test says it cannot be.
 */

export interface SeccompProfile {
  type: "RuntimeDefault" | "Unconfined" | "Localhost";
  localhostProfile?: string;
}

export interface PodSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  supplementalGroups?: number[];
  seccompProfile?: SeccompProfile;
}

export interface ContainerSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  seccompProfile?: SeccompProfile;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}

const POD_FIELDS = [
  "runAsNonRoot",
  "runAsUser",
  "runAsGroup",
  "fsGroup",
  "supplementalGroups",
  "seccompProfile",
];
const CONTAINER_FIELDS = [
  "runAsNonRoot",
  "runAsUser",
  "runAsGroup",
  "seccompProfile",
  "allowPrivilegeEscalation",
  "readOnlyRootFilesystem",
  "privileged",
  "capabilities",
];

function refuseUnknown(what: string, context: object, known: string[]) {
  const unknown = Object.keys(context).filter((key) => !known.includes(key));
  if (unknown.length > 0)
    throw new Error(`${what} securityContext: no podman flag for ${unknown.join(", ")}`);
}

/**
 * The user the container runs as, checked as the kubelet checks runAsNonRoot: a numeric uid
 * other than 0, from the securityContext or else from the image's USER (which must then be
 * numeric: the kubelet cannot look a name up in the image's /etc/passwd).
 */
function userFlag(uid: number | undefined, gid: number | undefined, nonRoot: boolean, imageUser: string) {
  if (uid === undefined) {
    const [imageUid, imageGid] = imageUser.split(":");
    if (nonRoot && !/^\d+$/.test(imageUid ?? ""))
      throw new Error(`runAsNonRoot: the image's user ${JSON.stringify(imageUser)} is not numeric`);
    if (nonRoot && Number(imageUid) === 0) throw new Error("runAsNonRoot: the image runs as root");
    const group = gid ?? imageGid;
    return ["--user", group === undefined ? (imageUid as string) : `${imageUid}:${group}`];
  }
  if (nonRoot && uid === 0) throw new Error("runAsNonRoot with runAsUser: 0");
  return ["--user", gid === undefined ? `${uid}` : `${uid}:${gid}`];
}

function seccompFlags(profile: SeccompProfile | undefined): string[] {
  // Unset is Unconfined for the kubelet (unless it runs with --seccomp-default).
  switch (profile?.type ?? "Unconfined") {
    case "RuntimeDefault":
      return []; // podman's default profile, as containerd's and CRI-O's
    case "Unconfined":
      return ["--security-opt", "seccomp=unconfined"];
    default:
      throw new Error(
        `seccompProfile ${JSON.stringify(profile)}: only RuntimeDefault and Unconfined are mapped`,
      );
  }
}

export function podmanSecurityFlags(
  pod: PodSecurityContext = {},
  container: ContainerSecurityContext = {},
  imageUser = "",
): string[] {
  refuseUnknown("pod", pod, POD_FIELDS);
  refuseUnknown("container", container, CONTAINER_FIELDS);
  const flags = userFlag(
    container.runAsUser ?? pod.runAsUser,
    container.runAsGroup ?? pod.runAsGroup,
    (container.runAsNonRoot ?? pod.runAsNonRoot) === true,
    imageUser,
  );
  for (const group of [
    ...(pod.fsGroup === undefined ? [] : [pod.fsGroup]),
    ...(pod.supplementalGroups ?? []),
  ])
    flags.push("--group-add", String(group));
  flags.push(...seccompFlags(container.seccompProfile ?? pod.seccompProfile));
  // podman would mount tmpfs on /tmp, /var/tmp and /run of a read-only container; the kubelet does not.
  if (container.readOnlyRootFilesystem) flags.push("--read-only", "--read-only-tmpfs=false");
  if (container.allowPrivilegeEscalation === false) flags.push("--security-opt", "no-new-privileges");
  if (container.privileged) flags.push("--privileged");
  for (const capability of container.capabilities?.drop ?? []) flags.push("--cap-drop", capability);
  for (const capability of container.capabilities?.add ?? []) flags.push("--cap-add", capability);
  return flags;
}
