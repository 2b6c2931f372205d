/**
 * Building blocks shared by the kinds. Each field carries its own admission rules as CEL
 * (`x-kubernetes-validations`) next to the equivalent runtime check, so the API server and
 * Rotor agree on what is valid, and users read one clear message instead of a raw regex.
 */
import { z } from "zod";
import { DURATION_PATTERN } from "./duration.ts";

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  optionalOldSelf?: boolean;
}

/** Attaches CEL rules (and a description) to a schema; read back by the CRD generator. */
export function cel(...rules: CelRule[]) {
  return { "x-kubernetes-validations": rules };
}

/** Quotes a string for a CEL single-quoted literal. */
export function celString(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** A string that must match `pattern`, checked by CEL with a readable message. */
export function patternString(pattern: string, message: string, maxLength: number) {
  const regex = new RegExp(pattern);
  return z
    .string()
    .max(maxLength)
    .refine((value) => regex.test(value), message)
    .meta(cel({ rule: `self.matches(${celString(pattern)})`, message }));
}

export const GUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
export const guid = (what: string) =>
  patternString(GUID_PATTERN, `${what} must be a GUID such as 3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91`, 36);

/** A DNS-1123 subdomain: the name of a Secret or any namespaced object. */
export const DNS_SUBDOMAIN_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
export const objectName = (what: string, maxLength = 253) =>
  patternString(
    DNS_SUBDOMAIN_PATTERN,
    `${what} must be a lowercase DNS subdomain: letters, digits, '-' and '.', starting and ending with a letter or digit`,
    maxLength,
  ).refine((value) => value.length >= 1, `${what} must not be empty`);

/** A key in a Secret's data. */
export const SECRET_KEY_PATTERN = "^[-._a-zA-Z0-9]+$";
export const secretKey = (what: string) =>
  patternString(
    SECRET_KEY_PATTERN,
    `${what} must be a Secret data key: letters, digits, '-', '_' and '.'`,
    253,
  );

const DURATION_HINT = "a Go duration such as 90m, 24h or 1h30m";
const isDuration = `self.matches(${celString(DURATION_PATTERN)})`;

/**
 * A Go duration with an optional range. CEL evaluates the range with `duration()` only after the
 * format check passed, so `abc` gets the format message and not an evaluation error.
 */
export function duration(field: string, range: { min?: string; max?: string; explain?: string } = {}) {
  const rules: CelRule[] = [{ rule: isDuration, message: `${field} must be ${DURATION_HINT}` }];
  const bounds: string[] = [];
  if (range.min) bounds.push(`duration(self) >= duration(${celString(range.min)})`);
  if (range.max) bounds.push(`duration(self) <= duration(${celString(range.max)})`);
  if (bounds.length > 0) {
    const text =
      range.min && range.max
        ? `between ${range.min} and ${range.max}`
        : range.min
          ? `at least ${range.min}`
          : `at most ${range.max}`;
    rules.push({
      rule: `!${isDuration} || (${bounds.join(" && ")})`,
      message: `${field} must be ${text}${range.explain ? ` (${range.explain})` : ""}`,
    });
  }
  const regex = new RegExp(DURATION_PATTERN);
  return z
    .string()
    .max(32)
    .refine((value) => regex.test(value), `${field} must be ${DURATION_HINT}`)
    .meta(cel(...rules));
}

/** CEL that is true when `field` (a property of self) is absent or a well-formed duration. */
export function celDurationOrAbsent(field: string): string {
  return `!has(self.${field}) || self.${field}.matches(${celString(DURATION_PATTERN)})`;
}

const stringMap = z.record(z.string(), z.string());

export const labelSelector = z
  .object({
    matchLabels: stringMap
      .optional()
      .meta({ description: "Labels that must all be present with these values." }),
    matchExpressions: z
      .array(
        z.object({
          key: z.string().meta({ description: "The label key." }),
          operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]).meta({
            description: "How the key relates to the values: In, NotIn, Exists or DoesNotExist.",
          }),
          values: z.array(z.string()).optional().meta({ description: "Values for In and NotIn." }),
        }),
      )
      .optional()
      .meta({ description: "Label selector requirements; all must hold." }),
  })
  .meta({ description: "A standard Kubernetes label selector. An empty selector selects everything." });

/** `metav1.Condition`, as the API conventions define it. */
export const condition = z.object({
  type: z.string().max(316).meta({ description: "Type of the condition: Ready, Rotating or RolledOut." }),
  status: z.enum(["True", "False", "Unknown"]).meta({ description: "True, False or Unknown." }),
  observedGeneration: z
    .int()
    .min(0)
    .optional()
    .meta({ description: "The metadata.generation the condition was computed for." }),
  lastTransitionTime: z.string().meta({ description: "When the status last changed.", format: "date-time" }),
  reason: z.string().max(1024).meta({ description: "A CamelCase reason for the last transition." }),
  message: z.string().max(32768).meta({ description: "A human-readable explanation." }),
});
export type Condition = z.infer<typeof condition>;

export const conditions = z
  .array(condition)
  .optional()
  .meta({
    description: "The latest observations of the object's state.",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
  });

export const objectMetaTemplate = z.object({
  labels: stringMap.optional().meta({ description: "Labels added to the Secret." }),
  annotations: stringMap.optional().meta({ description: "Annotations added to the Secret." }),
});
