import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import * as metadata from "../../../src/api/metadata.ts";
import {
  ANN_ROLLED_OUT_AT,
  clean,
  consumerOf,
  LABEL_OWNER_UID,
  LABEL_ROLE,
  parseCommandLine,
  podReferences,
  ROTATE_ANNOTATION,
  renderInspect,
  rotationPlan,
  SECRET_ID,
  when,
} from "../../../src/cli/kubectl-rotor.ts";
import type { Facts, Pod } from "../../../src/cli/types.ts";
import { podReferencesSecret } from "../../../src/controllers/rollout/consumers.ts";
import { podSpec } from "../../support/workloads.ts";

describe("the plugin's copy of Rotor's names", () => {
  it("equals src/api/metadata.ts (the plugin imports nothing, so it has its own)", () => {
    expect(ROTATE_ANNOTATION).toBe(metadata.ROTATE_ANNOTATION);
    expect(SECRET_ID).toBe(metadata.SECRET_ID);
    expect(LABEL_OWNER_UID).toBe(metadata.LABEL_OWNER_UID);
    expect(LABEL_ROLE).toBe(metadata.LABEL_ROLE);
    expect(ANN_ROLLED_OUT_AT).toBe(metadata.ANN_ROLLED_OUT_AT);
  });

  it.each(["env", "envFrom", "volume", "projected"] as const)(
    "finds a consumer as Rotor does: by %s, and not another Secret",
    (how) => {
      const pod = { metadata: { name: "p" }, spec: podSpec(["svc"], how) } as V1Pod;
      expect(podReferences(pod.spec as Pod["spec"], "svc")).toBe(true);
      expect(podReferencesSecret(pod, "svc")).toBe(true);
      expect(podReferences(pod.spec as Pod["spec"], "other")).toBe(false);
    },
  );
});

it.each([
  ["\u001b[2J\u001b]0;owned\u0007cleared", "\\u{1b}[2J\\u{1b}]0;owned\\u{7}cleared"],
  ["one\n  17   Current   forged", "one\\u{a}  17   Current   forged"],
  ["tab\there, bidi \u202egnp.exe", "tab\\u{9}here, bidi \\u{202e}gnp.exe"],
  ["plain words, é, 日本", "plain words, é, 日本"],
])("shows %j from the cluster as %j", (text, shown) => {
  expect(clean(text)).toBe(shown);
});

describe("the command line", () => {
  it.each([
    [["status", "svc"], { command: "status", name: "svc", kubectl: [] }],
    [
      ["inspect", "svc", "-n", "team-a"],
      { command: "inspect", name: "svc", kubectl: ["--namespace=team-a"] },
    ],
    [["rotate", "-nteam-a", "svc"], { command: "rotate", name: "svc", kubectl: ["--namespace=team-a"] }],
    [["status", "svc", "-n=team-a"], { command: "status", name: "svc", kubectl: ["--namespace=team-a"] }],
    [
      ["status", "svc", "--namespace", "a", "--kubeconfig=/k", "--context", "prod"],
      { command: "status", name: "svc", kubectl: ["--namespace=a", "--kubeconfig=/k", "--context=prod"] },
    ],
  ])("%j", (args, options) => {
    expect(parseCommandLine(args)).toEqual(options);
  });

  it.each([[[]], [["--help"]], [["status", "-h"]], [["help"]]])("%j: the usage", (args) => {
    expect(parseCommandLine(args)).toBeUndefined();
  });

  it.each([
    [["frob", "svc"], 'unknown command "frob"'],
    [["status"], "takes one ClientCredential name"],
    [["status", "a", "b"], "takes one ClientCredential name"],
    [["status", "svc", "-A"], "unknown flag -A"],
    [["status", "svc", "--token=x"], "unknown flag --token=x"],
    [["status", "svc", "-n"], "-n needs a value"],
  ])("refuses %j with exit code 2", (args, message) => {
    expect(() => parseCommandLine(args)).toThrow(message);
    try {
      parseCommandLine(args);
    } catch (error) {
      expect((error as { code: number }).code).toBe(2);
    }
  });
});

const now = new Date("2026-11-27T18:00:00Z");

it.each([
  ["2026-12-27T21:30:00Z", "2026-12-27T21:30:00Z (in 30d 3h)"],
  ["2026-11-27T17:59:15.000Z", "2026-11-27T17:59:15Z (45s ago)"],
  ["2026-11-27T18:00:00Z", "2026-11-27T18:00:00Z (in 0s)"],
  [undefined, "-"],
])("when(%s) is %s", (iso, text) => {
  expect(when(iso, now)).toBe(text);
});

function facts(strategy = "Restart"): Facts {
  return {
    cc: {
      metadata: { name: "svc", namespace: "team-a", uid: "u" },
      spec: { rollout: { strategy }, gracePeriod: "5m" },
      status: {
        clientId: "3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91",
        currentSecretId: "17",
        renewalTime: "2027-01-26T10:00:00Z",
        secrets: [
          {
            id: "15",
            state: "Superseded",
            createdAt: "t15",
            notAfter: "n15",
            supersededAt: "2026-11-27T16:00:00Z",
          },
          {
            id: "16",
            state: "Superseded",
            createdAt: "t16",
            notAfter: "n16",
            supersededAt: "2026-11-27T17:00:00Z",
          },
          { id: "17", state: "Current", createdAt: "t17", notAfter: "2027-02-25T10:00:00Z" },
        ],
        conditions: [{ type: "RolledOut", status: "False", reason: "RolloutPending", message: "waiting" }],
      },
    },
    rolledOutAt: new Map([["15", "2026-11-27T17:58:00Z"]]),
    targetSecretId: "17",
    pods: [
      consumerOf(pod("api-7d9f-a", "ReplicaSet", "api-7d9f", "7d9f", "2026-11-27T16:30:00Z")),
      consumerOf(pod("api-7d9f-b", "ReplicaSet", "api-7d9f", "7d9f", "2026-11-27T17:00:00Z")),
      consumerOf(pod("store-0", "StatefulSet", "store", undefined, "2026-11-27T17:30:00Z")),
    ],
    events: [
      { time: "2026-11-27T17:00:00Z", type: "Normal", reason: "Rotated", message: "Rotated to secret 16" },
    ],
  };
}

function pod(name: string, kind: string, owner: string, hash: string | undefined, created: string): Pod {
  const labels = hash ? { "pod-template-hash": hash } : undefined;
  const ownerReferences = [{ kind, name: owner, controller: true }];
  return { metadata: { name, creationTimestamp: created, labels, ownerReferences } };
}

describe("inspect", () => {
  const lines = renderInspect(facts(), now).split("\n");
  const row = (start: string) => lines.find((l) => l.trimStart().startsWith(start)) as string;

  it("says what each superseded secret waits for: its old pods, or the grace period after its rollover", () => {
    expect(row("17 ")).toMatch(/^\s+17\s+Current\s+t17\s+2027-02-25T10:00:00Z\s+-\s+-$/);
    // Pods created up to the switch, the same second included.
    expect(row("16 ")).toMatch(/Superseded .*2 pod\(s\) of Deployment\/api$/);
    expect(row("15 ")).toMatch(/gracePeriod 5m after the rollover at 2026-11-27T17:58:00Z$/);
    expect(row("Deployment/api")).toMatch(/Deployment\/api\s+api-7d9f-a, api-7d9f-b$/);
    expect(row("StatefulSet/store")).toBeUndefined(); // started after the switch: on the current secret
  });

  it("shows the target Secret, the next renewal, conditions with reasons and events", () => {
    expect(lines.join("\n")).toContain("target Secret svc holds 17 (current)");
    expect(row("Next renewal:")).toContain("2027-01-26T10:00:00Z (in 59d 16h)");
    expect(row("RolledOut ")).toMatch(/RolledOut\s+False\s+RolloutPending\s+-\s+waiting/);
    expect(row("2026-11-27T17:00:00Z")).toMatch(/Normal\s+Rotated\s+Rotated to secret 16/);
  });
});

describe("rotate says what follows, by rollout strategy", () => {
  it.each([
    [
      "Restart",
      "Then it restarts the workloads that read svc (Deployment/api, StatefulSet/store) and revokes secret 17",
    ],
    ["Observe", "It restarts nothing (rollout.strategy Observe): secret 17 is revoked once the consumers"],
    ["None", "It waits for no consumer (rollout.strategy None): secret 17 is revoked after gracePeriod 5m."],
  ])("%s", (strategy, text) => {
    const plan = rotationPlan(facts(strategy));
    expect(plan).toContain("Rotor will mint a new secret for client 3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91");
    expect(plan).toContain(text);
  });
});
