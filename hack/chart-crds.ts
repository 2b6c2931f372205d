/**
 * The Helm chart's copy of a CRD (charts/rotor/templates/crds/<name>.yaml): the generated CRD
 * wrapped so that `crds.install` toggles it and `crds.keep` keeps it on `helm uninstall`
 * (Helm's own crds/ directory can do neither). Written and checked by hack/generate-crds.ts.
 */
import { stringify } from "yaml";

export const CHART_CRDS_DIR = ["charts", "rotor", "templates", "crds"];

export function chartCrdTemplate(crd: Record<string, unknown>, header: string): string {
  const { apiVersion, kind, metadata, spec, ...rest } = crd as {
    apiVersion: string;
    kind: string;
    metadata: { name: string; labels?: Record<string, string> } & Record<string, unknown>;
    spec: unknown;
  };
  const { name, labels: _labels, ...otherMetadata } = metadata;
  // Anything new in the generated CRD must be placed here by hand, not dropped silently.
  if (Object.keys(rest).length > 0 || Object.keys(otherMetadata).length > 0)
    throw new Error(
      `${name}: the chart's CRD template does not carry ${Object.keys({ ...rest, ...otherMetadata })}`,
    );
  const body = stringify({ spec }, { lineWidth: 0 });
  // Helm would read "{{" in a description or CEL rule as a template action.
  if (body.includes("{{")) throw new Error(`${name}: "{{" in the CRD would be read by Helm as a template`);
  return [
    header.trimEnd(),
    "{{- if .Values.crds.install }}",
    `apiVersion: ${apiVersion}`,
    `kind: ${kind}`,
    "metadata:",
    `  name: ${name}`,
    "  labels:",
    // rotor.labels holds the generated CRD's labels (the chart's test checks it).
    '    {{- include "rotor.labels" . | nindent 4 }}',
    "  {{- if .Values.crds.keep }}",
    "  annotations:",
    "    helm.sh/resource-policy: keep",
    "  {{- end }}",
    body.trimEnd(),
    "{{- end }}",
    "",
  ].join("\n");
}
