export * from "./clientcredential.ts";
export * from "./crds.ts";
export * from "./duration.ts";
export * from "./group.ts";
export * from "./issuer.ts";
