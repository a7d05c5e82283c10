package clustercheck

import (
	networkingv1 "k8s.io/api/networking/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
)

// maxCachedTranslations bounds the TranslationCache, as maxCachedSelectors bounds the SelectorCache.
const maxCachedTranslations = 4096

// TranslationCache remembers the translations of stored Kubernetes NetworkPolicies by UID and
// resourceVersion, which change whenever the object does, so that each version is translated once
// rather than on every admission request that reads it (the tie and DNS checks read every
// Kubernetes NetworkPolicy of a namespace). Objects without both, which were not read from the API
// server, are translated every time. When it is full it starts over. The zero value is ready to use
// and safe for concurrent use; a nil *TranslationCache translates every time.
//
// It serves stored objects only: an object under admission may carry the resourceVersion of the
// version it replaces.
type TranslationCache struct {
	translated boundedCache[objectVersion, *kubernetesPolicy]
}

type objectVersion struct {
	uid             k8stypes.UID
	resourceVersion string
}

// translate returns the translation of a stored policy, from the cache when it is there. The
// translations it hands out are shared: callers must not modify them.
func (c *TranslationCache) translate(p *networkingv1.NetworkPolicy) (*kubernetesPolicy, error) {
	if c == nil || p.UID == "" || p.ResourceVersion == "" {
		return translate(p)
	}
	return c.translated.get(objectVersion{p.UID, p.ResourceVersion}, maxCachedTranslations,
		func() (*kubernetesPolicy, error) { return translate(p) })
}
