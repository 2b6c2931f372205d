{{/*
Names and labels shared by every template (also the monitoring templates).
*/}}

{{- define "rotor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The base of every object's name: the release name, or <release>-rotor. */}}
{{- define "rotor.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Rotor's own namespace (its Lease, the embedded issuer's keys, the Deployments). */}}
{{- define "rotor.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 }}
{{- end }}

{{- define "rotor.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "rotor.labels" -}}
helm.sh/chart: {{ include "rotor.chart" . }}
{{ include "rotor.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rotor
{{- end }}

{{/*
Selects the pods of both components (the metrics Service, a ServiceMonitor's selector adds
app.kubernetes.io/component: metrics to find that Service). A component's pods add
app.kubernetes.io/component: controller or token-server.
*/}}
{{- define "rotor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rotor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The controller's service account (bound to the ClusterRole and Roles). */}}
{{- define "rotor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rotor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "rotor.tokenServerServiceAccountName" -}}
{{- printf "%s-token-server" (include "rotor.serviceAccountName" .) }}
{{- end }}

{{/* --issuer-url: the token server's Service as workloads reach it, unless issuerUrl says otherwise. */}}
{{- define "rotor.issuerUrl" -}}
{{- .Values.issuerUrl | default (printf "https://%s.%s.svc:8443" (include "rotor.fullname" .) (include "rotor.namespace" .)) }}
{{- end }}

{{- define "rotor.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The scheduling of one component: its own affinity and topology spread, or with 2 or more replicas
and none given, one replica per node where possible and a spread over zones.
Called with (dict "values" .Values.controller "component" "controller" "root" $).
*/}}
{{- define "rotor.scheduling" -}}
{{- $v := .values }}
{{- $selector := merge (dict "app.kubernetes.io/component" .component) (include "rotor.selectorLabels" .root | fromYaml) }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $v.affinity }}
affinity:
  {{- toYaml $v.affinity | nindent 2 }}
{{- else if ge (int $v.replicas) 2 }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- toYaml $selector | nindent 14 }}
{{- end }}
{{- if $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml $v.topologySpreadConstraints | nindent 2 }}
{{- else if ge (int $v.replicas) 2 }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- toYaml $selector | nindent 8 }}
{{- end }}
{{- end }}

{{/* Flags both components take. */}}
{{- define "rotor.commonArgs" -}}
- --issuer-url={{ include "rotor.issuerUrl" . }}
- --metrics-port={{ .Values.metrics.port }}
- --log-level={{ .Values.logLevel }}
- --log-format={{ .Values.logFormat }}
{{- end }}
