package clustercheck

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

func stored(p *networkingv1.NetworkPolicy, uid, rv string) *networkingv1.NetworkPolicy {
	p.UID, p.ResourceVersion = k8stypes.UID(uid), rv
	return p
}

func TestTranslationCache(t *testing.T) {
	c := &TranslationCache{}
	first, err := c.translate(stored(knp("shop", "k", podSel(web)), "u1", "1"))
	if err != nil {
		t.Fatal(err)
	}
	// The key is trusted: the same UID and resourceVersion are the same object.
	again, err := c.translate(stored(knp("shop", "k"), "u1", "1"))
	if err != nil || again != first {
		t.Errorf("same version: %p, %v; want the cached %p", again, err, first)
	}
	if next, _ := c.translate(stored(knp("shop", "k"), "u1", "2")); next == first || next.Spec.Selector != "all()" {
		t.Errorf("new resourceVersion: got the cached translation or %q; want a fresh all()", next.Spec.Selector)
	}
	for _, p := range []*networkingv1.NetworkPolicy{stored(knp("shop", "k"), "", "1"), stored(knp("shop", "k"), "u1", "")} {
		a, _ := c.translate(p)
		b, _ := c.translate(p)
		if a == b {
			t.Errorf("uid %q rv %q: cached; want a translation on every call", p.UID, p.ResourceVersion)
		}
	}
	bad := stored(knp("shop", "k", policyTypes("Sideways")), "u2", "1")
	if _, err := c.translate(bad); err == nil {
		t.Error("invalid policy: want an error")
	}
	if _, cached := c.translated.entries[objectVersion{"u2", "1"}]; cached {
		t.Error("invalid policy was cached")
	}
	var none *TranslationCache
	if k, err := none.translate(knp("shop", "k")); err != nil || k.Spec.Selector != "all()" {
		t.Errorf("nil cache: %v, %v", k, err)
	}
}

func TestTranslationCacheIsBounded(t *testing.T) {
	c := &TranslationCache{}
	for i := range maxCachedTranslations + 1 {
		if _, err := c.translate(stored(knp("shop", "k"), fmt.Sprint(i), "1")); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.translated.entries); n != 1 {
		t.Errorf("after %d translations the cache holds %d; want it started over", maxCachedTranslations+1, n)
	}
}

// TestCachedTranslationsGiveTheSameFindings: stored Kubernetes NetworkPolicies read through the
// cache, as the webhook reads them, give the findings a fresh translation gives, request after request.
func TestCachedTranslationsGiveTheSameFindings(t *testing.T) {
	dns := stored(knp("shop", "dns", podSel(web), policyTypes(networkingv1.PolicyTypeEgress),
		knpEgress(networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{knpPort(corev1.ProtocolUDP, intstr.FromInt32(53))}})), "u-dns", "7")
	rival := stored(knp("shop", "rival", podSel(web)), "u-rival", "3")
	cl := &cluster{pods: webOK, namespaces: []Namespace{shop}, knps: []*networkingv1.NetworkPolicy{dns, rival}}
	policy := np("shop", "p", order(1000), types(v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress))
	want, err := (&Checker{Lister: cl}).NetworkPolicy(ctx, policy)
	if err != nil || len(want) != 2 {
		t.Fatalf("uncached: %v, %v; want the two ties and no DNS warning", want, err)
	}
	c := &Checker{Lister: cl, Selectors: &SelectorCache{}, Translations: &TranslationCache{}}
	for range 2 {
		got, err := c.NetworkPolicy(ctx, policy)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cached (-uncached +cached):\n%s", diff)
		}
	}
	if n := len(c.Translations.translated.entries); n != 2 {
		t.Errorf("cache holds %d translations; want 2", n)
	}
}
