{{/* The chart's name, shortened to a DNS label. */}}
{{- define "airlock.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the prefix of every object. */}}
{{- define "airlock.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "airlock.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "airlock.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: control-plane
{{- end }}

{{/* The control plane pod's identity: the Deployment's selector, the Service's, and what sandboxes admit. */}}
{{- define "airlock.selectorLabels" -}}
app.kubernetes.io/name: {{ include "airlock.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "airlock.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "airlock.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The control plane's image, which is also the sandboxes' proxy image by default. */}}
{{- define "airlock.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Where sandboxes live. */}}
{{- define "airlock.sandboxNamespace" -}}
{{- default .Release.Namespace .Values.kubernetes.namespace }}
{{- end }}

{{- define "airlock.postgres" -}}
{{- if .Values.store.postgres.existingSecret }}true{{ end }}
{{- end }}

{{/* Combinations that cannot work, refused with a message saying what to change. */}}
{{- define "airlock.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "airlock.postgres" .)) }}
{{- fail (printf "replicaCount is %d but the store is SQLite, which one replica alone may open: set replicaCount to 1, or set store.postgres.existingSecret to a Secret holding a postgres:// URL" (int .Values.replicaCount)) }}
{{- end }}
{{- if and (eq .Values.kubernetes.workload "claim") (not .Values.kubernetes.warmPool) }}
{{- fail "kubernetes.workload is claim but kubernetes.warmPool is empty: name the SandboxWarmPool sandboxes are claimed from" }}
{{- end }}
{{- if and (ne .Values.kubernetes.workload "claim") .Values.kubernetes.warmPool }}
{{- fail (printf "kubernetes.warmPool is %q but kubernetes.workload is %s: a warm pool is used only with workload claim" .Values.kubernetes.warmPool .Values.kubernetes.workload) }}
{{- end }}
{{- if and (eq .Values.kubernetes.workload "claim") (eq .Values.kubernetes.topology "proxy-pod") }}
{{- fail "kubernetes.workload claim needs kubernetes.topology sidecar: a warm pod exists before a paired proxy pod could" }}
{{- end }}
{{- if and (eq .Values.kubernetes.topology "proxy-pod") (eq .Values.kubernetes.networkPolicy.mode "none") }}
{{- fail "kubernetes.networkPolicy.mode none cannot be used with the proxy-pod topology: only NetworkPolicies keep the workload behind its proxy" }}
{{- end }}
{{- if and (eq .Values.kubernetes.topology "proxy-pod") (not .Values.kubernetes.networkPolicy.dns) }}
{{- fail "kubernetes.networkPolicy.dns false cannot be used with the proxy-pod topology: the workload finds its proxy by DNS" }}
{{- end }}
{{- if and (ne .Values.kubernetes.workload "pod") (not .Values.rbac.agentSandbox) }}
{{- fail (printf "kubernetes.workload is %s but rbac.agentSandbox is false: the control plane could not create agent-sandbox objects" .Values.kubernetes.workload) }}
{{- end }}
{{- end }}
