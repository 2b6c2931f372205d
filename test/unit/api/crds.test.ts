/** The generated CRD schemas are structural and carry the rules the contract promises. */
import { describe, expect, it } from "vitest";
import { customResourceDefinitions, toStructural } from "../../../src/api/crds.ts";

type Node = Record<string, unknown>;

function walk(node: unknown, visit: (node: Node, path: string) => void, path = ""): void {
  if (!node || typeof node !== "object") return;
  visit(node as Node, path);
  for (const [key, child] of Object.entries(node as Node)) walk(child, visit, `${path}/${key}`);
}

describe("generated CRDs", () => {
  const crds = customResourceDefinitions();

  it("are three, one per kind", () => {
    expect(crds.map((crd) => (crd.metadata as Node).name)).toEqual([
      "clientcredentials.rotor.dev",
      "credentialissuers.rotor.dev",
      "clustercredentialissuers.rotor.dev",
    ]);
  });

  it("have structural schemas: a type everywhere, no JSON-Schema-only keywords", () => {
    for (const crd of crds) {
      walk(crd, (node, path) => {
        if (!path.includes("openAPIV3Schema")) return;
        expect(node).not.toHaveProperty("$schema");
        expect(node).not.toHaveProperty("anyOf");
        expect(node).not.toHaveProperty("propertyNames");
        expect(node.additionalProperties).not.toBe(false);
        if (path.endsWith("/properties") || path.endsWith("x-kubernetes-validations")) return;
        if (
          /\/x-kubernetes-validations\/\d+$/.test(path) ||
          path.endsWith("/required") ||
          path.endsWith("/enum")
        )
          return;
        if (path.endsWith("x-kubernetes-list-map-keys") || path.endsWith("/default")) return;
        expect(node.type, path).toBeTypeOf("string");
      });
    }
  });

  it("toStructural drops what Kubernetes refuses", () => {
    expect(
      toStructural({
        $schema: "x",
        type: "object",
        additionalProperties: false,
        properties: {
          m: { type: "object", propertyNames: { type: "string" }, additionalProperties: { type: "string" } },
        },
        required: [],
      }),
    ).toEqual({
      type: "object",
      properties: { m: { type: "object", additionalProperties: { type: "string" } } },
    });
  });
});
