import { describe, expect, it } from "vitest";
import {
  type ContainerSecurityContext,
  type PodSecurityContext,
  podmanSecurityFlags,
} from "../../../hack/image/security-context.ts";

const DEPLOYED: { pod: PodSecurityContext; container: ContainerSecurityContext } = {
  pod: {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    seccompProfile: { type: "RuntimeDefault" },
  },
  container: {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
  },
};

describe("a securityContext as podman flags", () => {
  it("maps the Deployment's: user, no seccomp opt-out, read-only root without podman's tmpfs, no privileges", () => {
    expect(podmanSecurityFlags(DEPLOYED.pod, DEPLOYED.container, "65532:65532")).toEqual([
      "--user",
      "65532:65532",
      "--read-only",
      "--read-only-tmpfs=false",
      "--security-opt",
      "no-new-privileges",
      "--cap-drop",
      "ALL",
    ]);
  });

  it.each([
    ["the container's user over the pod's", { runAsUser: 1 }, { runAsUser: 2 }, "", "2"],
    ["the image's user when none is set", { runAsNonRoot: true }, {}, "65532:65532", "65532:65532"],
    ["the image's group with the pod's user", {}, {}, "10:20", "10:20"],
    ["the pod's group over the image's", { runAsGroup: 30 }, {}, "10:20", "10:30"],
  ])("takes %s", (_, pod, container, imageUser, user) => {
    expect(podmanSecurityFlags(pod, container, imageUser).slice(0, 2)).toEqual(["--user", user]);
  });

  it("leaves seccomp unconfined when no profile is set, as the kubelet does by default", () => {
    expect(podmanSecurityFlags({ runAsUser: 1 }, {})).toEqual([
      "--user",
      "1",
      "--security-opt",
      "seccomp=unconfined",
    ]);
  });

  it.each([
    [
      "a named image user under runAsNonRoot (the kubelet cannot check it)",
      { runAsNonRoot: true },
      {},
      "node",
      "not numeric",
    ],
    ["an image running as root under runAsNonRoot", { runAsNonRoot: true }, {}, "0", "runs as root"],
    ["runAsUser 0 under runAsNonRoot", { runAsNonRoot: true }, { runAsUser: 0 }, "", "runAsUser: 0"],
    ["a field it cannot map", { runAsUser: 1, sysctls: [] }, {}, "", "no podman flag for sysctls"],
    [
      "a container field it cannot map",
      { runAsUser: 1 },
      { procMount: "Unmasked" },
      "",
      "no podman flag for procMount",
    ],
    [
      "a Localhost seccomp profile",
      { runAsUser: 1, seccompProfile: { type: "Localhost" } },
      {},
      "",
      "only RuntimeDefault",
    ],
  ])("refuses %s", (_, pod, container, imageUser, message) => {
    expect(() => podmanSecurityFlags(pod as never, container as never, imageUser)).toThrow(message);
  });
});
