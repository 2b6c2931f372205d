{{/*
One component's Deployment (controller.yaml, token-server.yaml). Called with
(dict "root" $ "values" .Values.controller "component" "controller" "name" … "serviceAccount" … "args" (list …)).
*/}}
{{- define "rotor.deployment" -}}
{{- $root := .root }}
{{- $v := .values }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ include "rotor.namespace" $root }}
  labels:
    {{- include "rotor.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ $v.replicas }}
  selector:
    matchLabels:
      {{- include "rotor.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ .component }}
  template:
    metadata:
      labels:
        {{- include "rotor.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ .serviceAccount }}
      {{- with $root.Values.image.pullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with include "rotor.scheduling" (dict "values" $v "component" .component "root" $root) | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      containers:
        - name: {{ .container }}
          image: {{ include "rotor.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            - --component={{ .component }}
            {{- include "rotor.commonArgs" $root | nindent 12 }}
            {{- with .args }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.extraArgs }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          env:
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: POD_NAMESPACE
              valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - {name: https, containerPort: 8443}
            - {name: metrics, containerPort: {{ $root.Values.metrics.port }}}
          readinessProbe:
            httpGet: {path: /readyz, port: metrics}
          livenessProbe:
            httpGet: {path: /healthz, port: metrics}
          {{- with $v.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $v.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      terminationGracePeriodSeconds: 30
{{- end }}
