import { describe, expect, it } from "vitest";
import { parseComponentFlags, rolesOf, verifyBaseUrl } from "../../src/component.ts";

const fail = (message: string): never => {
  throw new Error(message);
};
const parse = (values: Record<string, string | boolean | undefined>) =>
  parseComponentFlags({ component: "all", "leader-elect": true, ...values }, fail);

describe("--component and --watch-namespaces", () => {
  it.each([
    ["all", { servesTokens: true, reconciles: true, writesKeys: true }],
    ["controller", { servesTokens: false, reconciles: true, writesKeys: true }],
    ["token-server", { servesTokens: true, reconciles: false, writesKeys: false }],
  ] as const)("%s does what its name says", (component, roles) => {
    expect(rolesOf(component)).toEqual(roles);
  });

  it.each([
    [{ component: "webhook" }, "--component must be one of"],
    [{ component: "controller" }, "needs --issuer-url"],
    [{ "token-server-url": "http://x" }, "for --component=controller only"],
    [{ component: "controller", "issuer-url": "http://a", "token-server-url": "nope" }, "must be a URL"],
    [{ "watch-namespaces": "team-a,Team_B" }, '"Team_B" is not a namespace name'],
    [{ component: "token-server", "watch-namespaces": "a" }, "is for the controller"],
  ])("refuses %o", (values, message) => {
    expect(() => parse(values)).toThrow(message);
  });

  it("lists namespaces without blanks or repeats; none means every namespace", () => {
    expect(parse({ "watch-namespaces": " a, b,,a " }).watchNamespaces).toEqual(["a", "b"]);
    expect(parse({ "watch-namespaces": "" }).watchNamespaces).toBeUndefined();
  });

  it("never lets the token server campaign for the Lease", () => {
    expect(parse({ component: "token-server" }).leaderElect).toBe(false);
    expect(parse({}).leaderElect).toBe(true);
    expect(parse({ "leader-elect": false }).leaderElect).toBe(false);
  });

  it("verifies at the token server: its own URL, else the issuer URL, else (all) this process", () => {
    const controller = parse({ component: "controller", "issuer-url": "https://public" });
    expect(verifyBaseUrl({ ...controller, issuerUrl: "https://public" }, "http://127.0.0.1:1")).toBe(
      "https://public",
    );
    const internal = parse({
      component: "controller",
      "issuer-url": "https://public",
      "token-server-url": "http://rotor.rotor-system.svc:8080",
    });
    expect(verifyBaseUrl({ ...internal, issuerUrl: "https://public" }, "http://127.0.0.1:1")).toBe(
      "http://rotor.rotor-system.svc:8080",
    );
    expect(verifyBaseUrl({ ...parse({}), issuerUrl: "https://public" }, "http://127.0.0.1:1")).toBe(
      "http://127.0.0.1:1",
    );
  });
});
