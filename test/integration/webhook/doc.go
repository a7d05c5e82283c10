// Package webhookintegration tests Palisade's admission webhooks through a real kube-apiserver and
// etcd (envtest, binaries from test/assets): invalid policies refused with their field paths,
// warnings delivered as warnings, defaults stored, re-applies that change nothing, bad input
// answered with errors, and the real kubectl's output. It also holds the webhook latency benchmark
// (BenchmarkWebhookLatency), which writes docs/benchmarks-webhook.md.
//
// Nothing here may skip: without the control-plane binaries the suite fails with the message from
// test/assets saying how to install them.
package webhookintegration
