{{/* Names, labels and the pieces every workload shares. */}}

{{- define "billing.fullname" -}}
{{- if eq .Release.Name .Chart.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "billing.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector of one component (both tracks): dict "root" $ "component" "loader" */}}
{{- define "billing.componentSelector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The tracks of a component: stable, and canary when enabled. Returns YAML: a list of
     {name, tag, replicas}. dict "root" $ "component" "loader" */}}
{{- define "billing.tracks" -}}
{{- $values := .root.Values -}}
{{- $component := index $values .component -}}
- name: stable
  tag: {{ $values.image.tag | quote }}
  replicas: {{ $component.replicas | int }}
{{- if $values.canary.enabled }}
{{- $canary := index $values.canary .component }}
- name: canary
  tag: {{ required "canary.image.tag is required when canary.enabled is true" $values.canary.image.tag | quote }}
  replicas: {{ $canary.replicas | int }}
{{- end }}
{{- end -}}

{{/* Vault agent annotations: each listed database role's own URL (the first one is also
     BILLING_DATABASE_URL), and the document store's settings when "documents" is true.
     dict "root" $ "vaultRole" "billing-loader" "roles" (list "loader") "documents" false */}}
{{- define "billing.vaultAnnotations" -}}
{{- $root := .root -}}
{{- $vault := $root.Values.vault -}}
{{- $db := $root.Values.database -}}
{{- if $vault.enabled -}}
vault.hashicorp.com/agent-inject: "true"
vault.hashicorp.com/agent-pre-populate-only: "true"
vault.hashicorp.com/auth-path: {{ $vault.authPath | quote }}
vault.hashicorp.com/role: {{ .vaultRole | quote }}
{{- range $index, $role := .roles }}
{{- $path := printf "%s/static-creds/billing-%s" $vault.databaseMount $role }}
{{- $url := printf `postgresql://{{ .Data.username }}:{{ .Data.password | urlquery }}@%s:%v/%s?sslmode=%s` $db.host $db.port $db.name $db.sslmode }}
vault.hashicorp.com/agent-inject-secret-database-{{ $role }}.env: {{ $path | quote }}
vault.hashicorp.com/agent-inject-template-database-{{ $role }}.env: |
  {{ printf `{{- with secret %q }}` $path }}
  export BILLING_{{ upper $role }}_DATABASE_URL="{{ $url }}"
  {{- if eq $index 0 }}
  export BILLING_DATABASE_URL="{{ $url }}"
  {{- end }}
  {{ `{{- end }}` }}
{{- end }}
{{- if .documents }}
vault.hashicorp.com/agent-inject-secret-documents.env: {{ $vault.documentsPath | quote }}
vault.hashicorp.com/agent-inject-template-documents.env: |
  {{ printf `{{- with secret %q }}` $vault.documentsPath }}
  export BILLING_DOCUMENTS_URI="{{ `{{ .Data.data.documents_uri }}` }}"
  export BILLING_S3_KMS_KEY_ID="{{ `{{ .Data.data.kms_key_arn }}` }}"
  {{ `{{- end }}` }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Environment every container gets (no secret: those come from Vault). */}}
{{- define "billing.env" -}}
- name: BILLING_NATS_URL
  value: {{ .Values.nats.url | quote }}
- name: BILLING_STATE_DIR
  value: /var/lib/billing
{{- end -}}

{{/* Writable folders of a read-only root filesystem. */}}
{{- define "billing.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: state
  mountPath: /var/lib/billing
{{- end -}}
{{- define "billing.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: state
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}
