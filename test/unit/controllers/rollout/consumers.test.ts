import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podReferencesSecret } from "../../../../src/controllers/rollout/consumers.ts";

const pod = (spec: V1Pod["spec"]): V1Pod => ({ spec });

describe("podReferencesSecret", () => {
  it.each<[string, V1Pod, boolean]>([
    [
      "env secretKeyRef",
      pod({
        containers: [
          { name: "a", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "k" } } }] },
        ],
      }),
      true,
    ],
    [
      "envFrom secretRef",
      pod({ containers: [{ name: "a", envFrom: [{ secretRef: { name: "creds" } }] }] }),
      true,
    ],
    [
      "an init container",
      pod({
        containers: [{ name: "a" }],
        initContainers: [{ name: "i", envFrom: [{ secretRef: { name: "creds" } }] }],
      }),
      true,
    ],
    [
      "a secret volume",
      pod({ containers: [{ name: "a" }], volumes: [{ name: "v", secret: { secretName: "creds" } }] }),
      true,
    ],
    [
      "a projected volume",
      pod({
        containers: [{ name: "a" }],
        volumes: [
          {
            name: "v",
            projected: { sources: [{ configMap: { name: "x" } }, { secret: { name: "creds" } }] },
          },
        ],
      }),
      true,
    ],
    [
      "another Secret",
      pod({
        containers: [{ name: "a", envFrom: [{ secretRef: { name: "other" } }] }],
        volumes: [{ name: "v", secret: { secretName: "other" } }],
      }),
      false,
    ],
    [
      "a ConfigMap of the same name",
      pod({ containers: [{ name: "a", envFrom: [{ configMapRef: { name: "creds" } }] }] }),
      false,
    ],
  ])("%s", (_what, input, expected) => {
    expect(podReferencesSecret(input, "creds")).toBe(expected);
  });
});
