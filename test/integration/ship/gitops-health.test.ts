/**
 * How GitOps tools read Rotor's objects, on real objects in every state with Rotor as its own
 * process: Flux's kstatus (kstatus.ts) and Argo CD's health checks and action (argocd-health.ts).
 * One file, so that the states (one of them needs rollout.timeout, a minute) are made once.
 * kstatus goes first: Argo CD's action rotates the Ready object.
 */
import { afterAll, beforeAll, describe } from "vitest";
import { argoCdReads } from "./argocd-health.ts";
import { GitOpsStates } from "./gitops-states.ts";
import { kstatusReads } from "./kstatus.ts";

const states = new GitOpsStates("gitops");

beforeAll(async () => {
  await states.start();
});
afterAll(async () => {
  await states.stop();
});

describe("Flux: kstatus", () => kstatusReads(states));
describe("Argo CD: health checks and the action rotate", () => argoCdReads(states));
