{{/* The host of healthAddress (HOST:PORT or [IPv6]:PORT), for the probes. */}}
{{- define "sluice.healthHost" -}}
{{- regexReplaceAll ":[0-9]+$" (required "healthAddress: empty (expected: HOST:PORT; the chart's probes call /healthz and /readyz there)" .Values.healthAddress) "" | trimPrefix "[" | trimSuffix "]" -}}
{{- end -}}

{{/* The port of healthAddress. */}}
{{- define "sluice.healthPort" -}}
{{- regexReplaceAll "^.*:" .Values.healthAddress "" -}}
{{- end -}}

{{/* The port of hubble.listenAddress ([HOST]:PORT): the agents' Observer and Peer service over TCP. */}}
{{- define "sluice.hubblePort" -}}
{{- regexReplaceAll "^.*:" .Values.hubble.listenAddress "" -}}
{{- end -}}
