// Package metrics holds the enforcer's Prometheus metrics. Every label has a fixed, small set of
// values (a sync step, an IP family, a result) so the series count never grows with the cluster:
// nothing here is labelled by pod, policy or set name.
package metrics
