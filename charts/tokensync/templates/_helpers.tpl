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

{{/*
Leader election is on when asked, and must be when more than one replica runs, unless sharding is on: sharding
replaces it (every replica works on the shards whose Lease it holds).
*/}}
{{- define "tokensync.leaderElect" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) (not .Values.sharding.enabled) }}
{{- fail "leaderElection.enabled=false needs replicaCount=1 (or sharding.enabled=true): two controllers without a leader would both mint and revoke tokens" }}
{{- end }}
{{- if and .Values.leaderElection.enabled (not .Values.sharding.enabled) }}true{{ else }}false{{ end }}
{{- end }}

{{/*
The namespaces tokensync serves: watchNamespaces, or the deprecated single watchNamespace. Empty: the whole cluster.
*/}}
{{- define "tokensync.namespaces" -}}
{{- $list := .Values.watchNamespaces | default list -}}
{{- if .Values.watchNamespace }}{{- $list = append $list .Values.watchNamespace -}}{{- end -}}
{{- $list | uniq | join "," -}}
{{- end }}

{{/*
The namespaced permissions of the controller, each rule used by the lifecycle (docs/security.md, and
test/integration/security/rbac-modes.test.ts proves every verb is exercised and nothing more is needed): rendered into
a ClusterRole (whole cluster) or a Role per served namespace. No `update`: every write is a create, a patch or a
delete.
*/}}
{{- define "tokensync.namespacedRules" -}}
# ServiceAccountTokens: watched; patched for the finalizer and the mint journal annotation.
- apiGroups: ["tokensync.io"]
  resources: ["serviceaccounttokens"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["tokensync.io"]
  resources: ["serviceaccounttokens/status"]
  verbs: ["patch"]
# Token Secrets carry a blockOwnerDeletion owner reference: clusters with the OwnerReferencesPermissionEnforcement
# admission plugin check this permission when the Secret is created.
- apiGroups: ["tokensync.io"]
  resources: ["serviceaccounttokens/finalizers"]
  verbs: ["update"]
# Namespaced provider configs: watched; patched for the in-use finalizer; their Ready condition.
- apiGroups: ["tokensync.io"]
  resources: ["credentialsproviders"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["tokensync.io"]
  resources: ["credentialsproviders/status"]
  verbs: ["patch"]
# Secrets: token Secrets (watched by label, created, replaced by patch, deleted on deletion) and credential Secrets
# (read when labelled tokensync.io/credential=true, which is also watched, and patched for the in-use finalizer).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Events on ServiceAccountTokens and providers (events.k8s.io, aggregated into series).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.restartTargets.enabled }}
# restartTargets (restartTargets.enabled): a rollout restart patches the pod template annotation (an Argo Rollout's
# spec.restartAt); list resolves label-selector targets; get reads the rollout status the rollout gate waits for.
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list", "patch"]
- apiGroups: ["argoproj.io"]
  resources: ["rollouts"]
  verbs: ["get", "list", "patch"]
{{- end }}
{{- end }}

{{/* Cluster-scoped permissions: ClusterCredentialsProviders and Namespaces (for their namespaceSelector). */}}
{{- define "tokensync.clusterRules" -}}
- apiGroups: ["tokensync.io"]
  resources: ["clustercredentialsproviders"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["tokensync.io"]
  resources: ["clustercredentialsproviders/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get"]
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
