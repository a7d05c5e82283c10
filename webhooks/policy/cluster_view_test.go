package policy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// TestChecksCutShortAdmitWithANotice: a check that reaches its work cap, or cannot get a turn
// before its deadline, admits the policy with a notice saying so, first among the warnings, and
// with the findings of the checks that finished.
func TestChecksCutShortAdmitWithANotice(t *testing.T) {
	ctx := context.Background()
	noHTTP := policy(func(p *v1alpha1.NetworkPolicy) {
		p.Spec.Ingress[0].Destination.Ports = []v1alpha1.Port{v1alpha1.PortFromString("metrics")}
	})
	pods := []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}

	full, err := (&NetworkPolicyWebhook{View: view(t, webPod("shop", "web-1", pods...))}).ValidateCreate(ctx, noHTTP)
	if err != nil || len(full) != 1 {
		t.Fatalf("unbounded: %q, %v; want the named-port warning", full, err)
	}

	// The selection costs two units (the pod seen, then tested); the named-port check one more.
	v := view(t, webPod("shop", "web-1", pods...))
	v.MaxWork = 2
	warns, err := (&NetworkPolicyWebhook{View: v}).ValidateCreate(ctx, noHTTP)
	want := admission.Warnings{"Palisade's cluster checks were cut short (only selection finished: they reached their work limit); the findings of the others are unknown, and the policy is admitted"}
	if err != nil || !cmp.Equal(want, warns) {
		t.Errorf("work cap: %q, %v; want %q", warns, err, want)
	}

	// Every turn taken: the check waits until its deadline and does not run.
	v = view(t, webPod("shop", "web-1", pods...))
	v.MaxConcurrentChecks, v.CheckTimeout = 1, 10*time.Millisecond
	release, err := v.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	warns, err = (&NetworkPolicyWebhook{View: v}).ValidateCreate(ctx, noHTTP)
	want = admission.Warnings{"Palisade's cluster checks were cut short (none ran: too many checks were running); the findings of the others are unknown, and the policy is admitted"}
	if err != nil || !cmp.Equal(want, warns) {
		t.Errorf("no turn: %q, %v; want %q", warns, err, want)
	}
	release()
	if warns, err := (&NetworkPolicyWebhook{View: v}).ValidateCreate(ctx, noHTTP); err != nil || !cmp.Equal(full, warns) {
		t.Errorf("turn given back: %q, %v; want %q", warns, err, full)
	}

	// A request whose own context has ended is cut short, not refused.
	done, cancel := context.WithCancel(ctx)
	cancel()
	warns, err = (&GlobalNetworkPolicyWebhook{View: view(t, webPod("shop", "web-1"))}).ValidateCreate(done, gnpSelecting("app == 'web'"))
	want = admission.Warnings{"Palisade's cluster checks were cut short (none ran: the request had ended); the findings of the others are unknown, and the policy is admitted"}
	if err != nil || !cmp.Equal(want, warns) {
		t.Errorf("ended request: %q, %v; want %q", warns, err, want)
	}
}

func gnpSelecting(sel string) *v1alpha1.GlobalNetworkPolicy {
	p := &v1alpha1.GlobalNetworkPolicy{}
	p.Name, p.Spec.Selector, p.Spec.Order = "g", sel, ptr.To(1.0)
	return p
}

// TestNoticesAreNeverDropped: a notice comes first and stays when the findings are bounded.
func TestNoticesAreNeverDropped(t *testing.T) {
	var ws []validation.Warning
	for i := range 20 {
		ws = append(ws, validation.Warning{Field: fmt.Sprintf("spec.ingress[%d]", i), Message: "m"})
	}
	ws = append(ws, cutShortNotice("why"))
	got := toWarnings(ws)
	if len(got) != maxWarnings || got[0] != ws[20].Message || got[1] != "spec.ingress[0]: m" || got[maxWarnings-1] != "10 more warnings not shown" {
		t.Errorf("toWarnings = %q", got)
	}
}

// TestEndpointCache: a stored pod is converted once per resourceVersion; a pod without UID or
// resourceVersion every time; a pod that is no endpoint is remembered as none; the cache is bounded.
func TestEndpointCache(t *testing.T) {
	c := &endpointCache{}
	p := webPod("shop", "web", corev1.ContainerPort{Name: "http", ContainerPort: 80})
	p.UID, p.ResourceVersion = "u1", "1"
	first := c.convert(p)
	if first == nil || first.Name != "web" || len(first.Ports) != 1 {
		t.Fatalf("convert = %+v", first)
	}
	if again := c.convert(p); again != first {
		t.Error("same resourceVersion converted again")
	}
	changed := p.DeepCopy()
	changed.ResourceVersion, changed.Labels = "2", map[string]string{"app": "api"}
	if next := c.convert(changed); next == first || next.Labels["app"] != "api" {
		t.Errorf("new resourceVersion: %+v; want a fresh conversion", next)
	}
	unstored := webPod("shop", "x")
	if a, b := c.convert(unstored), c.convert(unstored); a == b {
		t.Error("a pod without UID was cached")
	}
	host := webPod("shop", "host")
	host.UID, host.ResourceVersion, host.Spec.HostNetwork = "u2", "1", true
	if ep := c.convert(host); ep != nil {
		t.Errorf("host-networked pod converted to %+v; want none", ep)
	}
	for i := range maxCachedEndpoints + 1 {
		q := webPod("shop", "p")
		q.UID, q.ResourceVersion = k8stypes.UID(fmt.Sprint(i)), "1"
		c.convert(q)
	}
	if n := len(c.entries); n > maxCachedEndpoints {
		t.Errorf("cache holds %d entries; want at most %d", n, maxCachedEndpoints)
	}
}
