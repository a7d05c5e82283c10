// Package certs provides the webhook server's serving certificate.
//
// By default Palisade manages it itself with github.com/open-policy-agent/cert-controller: the
// rotator keeps a CA and a serving certificate in a Secret, injects the CA bundle into Palisade's
// webhook configurations and renews both before they expire. The Secret is mounted into the
// manager's pod; the returned channel closes once the certificate is on disk and the CA bundle is
// injected, and only then are the webhooks registered and the pod reported ready. With cert-manager
// (config/certmanager) the certificate is issued and injected by cert-manager and mounted before the
// container starts, so nothing waits.
//
// What this package must never do: generate certificates at deploy time (in templates or init
// containers, where nobody renews them), or gate readiness on anything but the certificate being
// present and trusted.
package certs
