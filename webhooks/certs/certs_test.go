package certs

import (
	"testing"
)

func TestReadyCheck(t *testing.T) {
	done := make(chan struct{})
	check := ReadyCheck(done, "certificates not ready")
	if err := check(nil); err == nil || err.Error() != "certificates not ready" {
		t.Errorf("before close: %v; want \"certificates not ready\"", err)
	}
	close(done)
	if err := check(nil); err != nil {
		t.Errorf("after close: %v; want nil", err)
	}
}

func TestSetupCertManagerIsReadyAtOnce(t *testing.T) {
	ready, err := Setup(nil, Options{Source: CertManager})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	default:
		t.Error("cert-manager source: channel not closed")
	}
}

func TestSetupRejectsBadOptions(t *testing.T) {
	noValidating := Options{Source: SelfManaged, Namespace: "ns", SecretName: "s", ServiceName: "svc", CertDir: "/certs"}
	for _, o := range []Options{{Source: "vault"}, {Source: SelfManaged, Namespace: "ns"}, noValidating} {
		if _, err := Setup(nil, o); err == nil {
			t.Errorf("Setup(%+v): want an error", o)
		}
	}
}
