{{/* Chart name, overridable. */}}
{{- define "tokensync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release name, suffixed with the chart name unless it already contains it. */}}
{{- define "tokensync.fullname" -}}
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

{{- define "tokensync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "tokensync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokensync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/* Standard labels on every object of the release. */}}
{{- define "tokensync.labels" -}}
helm.sh/chart: {{ include "tokensync.chart" . }}
{{ include "tokensync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | toString | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tokensync
{{- end }}

{{- define "tokensync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tokensync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tokensync.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/* Leader election is on when asked, and must be when more than one replica runs. */}}
{{- define "tokensync.leaderElect" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "leaderElection.enabled=false needs replicaCount=1: two controllers without a leader would both mint and revoke tokens" }}
{{- end }}
{{- if .Values.leaderElection.enabled }}true{{ else }}false{{ end }}
{{- end }}

{{/*
The namespaced permissions of the controller: rendered into a ClusterRole (whole cluster) or a Role (watchNamespace).
*/}}
{{- define "tokensync.namespacedRules" -}}
# ServiceAccountTokens: the resources the controller reconciles (update/patch for the finalizer and annotations).
- apiGroups: ["tokensync.io"]
  resources: ["serviceaccounttokens"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["tokensync.io"]
  resources: ["serviceaccounttokens/status"]
  verbs: ["get", "update", "patch"]
# Needed on clusters with the OwnerReferencesPermissionEnforcement admission plugin, to set blockOwnerDeletion.
- apiGroups: ["tokensync.io"]
  resources: ["serviceaccounttokens/finalizers"]
  verbs: ["update"]
# Namespaced provider configs and their Ready condition; patch adds and drops the in-use finalizer.
- apiGroups: ["tokensync.io"]
  resources: ["credentialsproviders"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["tokensync.io"]
  resources: ["credentialsproviders/status"]
  verbs: ["get", "update", "patch"]
# Token Secrets (watched by label app.kubernetes.io/managed-by=tokensync) and management credentials (get).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
# Events on ServiceAccountTokens and providers (both APIs, depending on the client's recorder).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# restartTargets: a rollout restart patches the pod template annotation.
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "patch"]
{{- end }}

{{/* Cluster-scoped permissions: ClusterCredentialsProviders and Namespaces (for their namespaceSelector). */}}
{{- define "tokensync.clusterRules" -}}
- apiGroups: ["tokensync.io"]
  resources: ["clustercredentialsproviders"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["tokensync.io"]
  resources: ["clustercredentialsproviders/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{/*
A map of labels, annotations or node-selector terms with every value quoted: `--set podLabels.cost-center=4711` or
`--set podAnnotations.prometheus\.io/scrape=true` reach the chart as a number or a boolean, which Kubernetes refuses
in these maps.
*/}}
{{- define "tokensync.stringMap" -}}
{{- range $key, $value := . }}
{{ $key | quote }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
