/**
 * Whether a CustomResourceDefinition is being deleted. When a CRD goes, the API server deletes
 * every object of its kind: a controller must not take that for each owner's own wish (to revoke,
 * say). Asked only while an object is being deleted, and at most once per `ttlMs`, so a CRD
 * deletion that removes thousands of objects costs a handful of GETs.
 */
import { ApiextensionsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { makeClient } from "./kube.ts";
import { describeError } from "./log.ts";

export type DefinitionDeleting = () => Promise<boolean>;

export function definitionDeleting(kc: KubeConfig, name: string, ttlMs = 2_000): DefinitionDeleting {
  const api = makeClient(kc, ApiextensionsV1Api);
  let last: { at: number; answer: Promise<boolean> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > ttlMs) {
      const answer = api.readCustomResourceDefinition({ name }).then(
        (crd) => Boolean(crd.metadata?.deletionTimestamp),
        (error: unknown) => {
          throw new Error(
            `cannot tell whether the CRD ${name} is being deleted (Rotor needs get on customresourcedefinitions): ${describeError(error)}`,
          );
        },
      );
      // A failed read is not remembered: the reconcile that asked fails and is retried.
      answer.catch(() => {
        if (last?.answer === answer) last = undefined;
      });
      last = { at: Date.now(), answer };
    }
    return last.answer;
  };
}
