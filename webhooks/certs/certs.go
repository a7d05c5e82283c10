package certs

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Source says who provides the serving certificate.
type Source string

const (
	// SelfManaged: the manager issues, injects and rotates its own certificate (the default).
	SelfManaged Source = "self"
	// CertManager: cert-manager issues the certificate and injects the CA bundle.
	CertManager Source = "cert-manager"
)

// The rotator needs to read and update its Secret and to patch the CA bundle into the webhook
// configurations: the validating one, and the mutating one on clusters where it is registered
// (without config/components/apiserver-defaulting). Lists and watches cannot be narrowed by name,
// updates can.
//
// +kubebuilder:rbac:groups="",namespace=palisade-system,resources=secrets,verbs=get;list;watch;update
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations;validatingwebhookconfigurations,verbs=get;list;watch
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,resourceNames=palisade-mutating-webhook-configuration,verbs=update
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,resourceNames=palisade-validating-webhook-configuration,verbs=update

// Options configure the serving certificate.
type Options struct {
	Source Source
	// Namespace and SecretName locate the Secret holding the certificate (self-managed).
	Namespace  string
	SecretName string
	// ServiceName is the webhook Service; the certificate is valid for its in-cluster DNS names.
	ServiceName string
	// CertDir is where the Secret is mounted and the webhook server reads tls.crt and tls.key.
	CertDir string
	// MutatingWebhookConfiguration and ValidatingWebhookConfiguration receive the CA bundle. An
	// empty MutatingWebhookConfiguration means none is registered: on clusters where the API server
	// fills the defaults itself (config/components/apiserver-defaulting) only validation calls out.
	MutatingWebhookConfiguration   string
	ValidatingWebhookConfiguration string
}

// Setup arranges for the serving certificate and returns a channel that is closed once the
// certificate is in CertDir and trusted by the API server.
func Setup(mgr manager.Manager, o Options) (<-chan struct{}, error) {
	ready := make(chan struct{})
	switch o.Source {
	case CertManager:
		close(ready)
		return ready, nil
	case SelfManaged:
	default:
		return nil, fmt.Errorf("certificate source %q: want %q or %q", o.Source, SelfManaged, CertManager)
	}
	if o.Namespace == "" || o.SecretName == "" || o.ServiceName == "" || o.CertDir == "" {
		return nil, errors.New("self-managed certificates need a namespace, a secret name, a service name and a certificate directory")
	}
	if o.ValidatingWebhookConfiguration == "" {
		return nil, errors.New("self-managed certificates need the validating webhook configuration's name")
	}
	dns := fmt.Sprintf("%s.%s.svc", o.ServiceName, o.Namespace)
	webhooks := []rotator.WebhookInfo{{Name: o.ValidatingWebhookConfiguration, Type: rotator.Validating}}
	if o.MutatingWebhookConfiguration != "" {
		webhooks = append(webhooks, rotator.WebhookInfo{Name: o.MutatingWebhookConfiguration, Type: rotator.Mutating})
	}
	err := rotator.AddRotator(mgr, &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: o.Namespace, Name: o.SecretName},
		CertDir:        o.CertDir,
		CAName:         "palisade-webhook-ca",
		CAOrganization: "palisade",
		DNSName:        dns,
		ExtraDNSNames:  []string{dns + ".cluster.local", o.ServiceName + "." + o.Namespace},
		IsReady:        ready,
		Webhooks:       webhooks,
		FieldOwner:     "palisade-controller",
		// Every replica serves webhooks, so every replica needs the certificate; concurrent
		// rotations are resolved by the Secret's resourceVersion.
		RequireLeaderElection: false,
		EnableReadinessCheck:  true,
	})
	if err != nil {
		return nil, fmt.Errorf("adding the certificate rotator: %w", err)
	}
	return ready, nil
}

// ReadyCheck reports not ready until done is closed, with reason as the error.
func ReadyCheck(done <-chan struct{}, reason string) healthz.Checker {
	return func(*http.Request) error {
		select {
		case <-done:
			return nil
		default:
			return errors.New(reason)
		}
	}
}
