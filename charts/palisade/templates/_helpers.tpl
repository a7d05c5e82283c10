{{/*
Labels every object of the release carries. Nothing here may be random or time-based: rendering the
chart twice must give the same bytes (charts test).
*/}}
{{- define "palisade.labels" -}}
app.kubernetes.io/part-of: palisade
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The image reference of a component: repository, then @digest or :tag (default appVersion). */}}
{{- define "palisade.image" -}}
{{- $img := .image -}}
{{- if $img.digest -}}
{{ $img.repository }}@{{ $img.digest }}
{{- else -}}
{{ $img.repository }}:{{ $img.tag | default .appVersion }}
{{- end -}}
{{- end }}

{{/*
"true" when the API server fills the defaults (MutatingAdmissionPolicy) and the mutating webhook is
not registered; "" when the mutating webhook fills them.
*/}}
{{- define "palisade.apiServerDefaulting" -}}
{{- $mode := .Values.admission.defaulting -}}
{{- if eq $mode "apiServer" -}}
true
{{- else if and (eq $mode "auto") (semverCompare ">=1.36.0-0" .Capabilities.KubeVersion.Version) -}}
true
{{- end -}}
{{- end }}

{{/*
The documents of a manifest copied from config/ into files/ by `make chart-sync`, as a list of
objects. The copies are the single source of the RBAC and webhook rules: the templates only set
names and namespaces.
*/}}
{{- define "palisade.configObjects" -}}
{{- $objs := list -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" . -1 -}}
{{- $obj := fromYaml $doc -}}
{{- if and $obj $obj.kind -}}
{{- $objs = append $objs $obj -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "items" $objs) -}}
{{- end }}

{{/* The cert-manager CA injection annotation of the webhook configurations. */}}
{{- define "palisade.webhookAnnotations" -}}
{{- if eq .Values.certificates.mode "cert-manager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/palisade-webhook-serving-cert
{{- end }}
{{- end }}
