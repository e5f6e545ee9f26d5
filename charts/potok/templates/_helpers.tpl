{{/* Names are cut to 63 characters, the limit of a Kubernetes label value. */}}
{{- define "potok.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Objects are named `<release>-operator` (the release alone when it already contains the
chart's name), so they stand apart from what a KafkaCluster named like the release makes.
*/}}
{{- define "potok.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- $base := .Release.Name }}
{{- if not (contains $name .Release.Name) }}
{{- $base = printf "%s-%s" .Release.Name $name }}
{{- end }}
{{- if not (hasSuffix "operator" $base) }}
{{- $base = printf "%s-operator" $base }}
{{- end }}
{{- $base | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "potok.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels never change across upgrades: a Deployment's selector is immutable. The name
differs from the `potok` that the operator gives its clusters' pods, so a selector for one
never picks the other.
*/}}
{{- define "potok.selectorLabels" -}}
app.kubernetes.io/name: {{ include "potok.name" . }}-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "potok.labels" -}}
helm.sh/chart: {{ include "potok.chart" . }}
{{ include "potok.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: potok
{{- end }}

{{- define "potok.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "potok.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "potok.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}

{{/* What the operator may do to the resources it manages, in a cluster or a namespace. */}}
{{- define "potok.managedRules" -}}
- apiGroups: ["potok.dev"]
  resources: ["kafkaclusters", "topics", "ksqlstreams"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["potok.dev"]
  resources: ["kafkaclusters/status", "topics/status", "ksqlstreams/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["potok.dev"]
  resources: ["kafkaclusters/finalizers", "topics/finalizers", "ksqlstreams/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["statefulsets", "deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["pods", "persistentvolumeclaims"]
  verbs: ["get", "list", "watch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
{{- end }}
