package rollout

import (
	"fmt"
	"math"
	"testing"
)

// TestCanaryBucketStable pins the bucket of a few identities: every enforcer and every CLI build must
// compute these exact values, so a change of the hash is a change of the contract and fails here. The
// values were computed outside Go (python3: int.from_bytes(sha256(id).digest()[:8], "big") % 100).
func TestCanaryBucketStable(t *testing.T) {
	for _, tc := range []struct {
		identity string
		bucket   int32
	}{
		{"default/web-7d9f8c6b5-abcde", 19},
		{"default/web-7d9f8c6b5-abcdf", 39},
		{"prod/api-0", 49},
		{"prod/api-1", 11},
		{"kube-system/coredns-5d78c9869d-x2x4q", 18},
		{"host-endpoint-node-a", 67},
		{"", 52},
	} {
		if got := CanaryBucket(tc.identity); got != tc.bucket {
			t.Errorf("CanaryBucket(%q) = %d, want %d", tc.identity, got, tc.bucket)
		}
	}
}

func TestInCanaryEdges(t *testing.T) {
	for _, tc := range []struct {
		percent int32
		want    bool
	}{
		{0, false}, {100, true}, {-5, false}, {150, true},
	} {
		for i := range 200 {
			id := EndpointIdentity("ns", fmt.Sprintf("pod-%d", i))
			if got := InCanary(id, tc.percent); got != tc.want {
				t.Fatalf("InCanary(%q, %d) = %v, want %v", id, tc.percent, got, tc.want)
			}
		}
	}
}

func TestEndpointIdentity(t *testing.T) {
	for _, tc := range []struct{ ns, name, want string }{
		{"default", "web-1", "default/web-1"},
		{"", "node-a", "node-a"},
	} {
		if got := EndpointIdentity(tc.ns, tc.name); got != tc.want {
			t.Errorf("EndpointIdentity(%q, %q) = %q, want %q", tc.ns, tc.name, got, tc.want)
		}
	}
}

// TestCanaryShare: on 10,000 pods named as a Deployment names them, the canary holds close to the
// share for every share, a larger share keeps every member of a smaller one, and a share is the same
// slice whichever node (or the CLI) computes it.
func TestCanaryShare(t *testing.T) {
	const pods = 10000
	ids := make([]string, pods)
	for i := range ids {
		ids[i] = EndpointIdentity(fmt.Sprintf("ns-%d", i%7), fmt.Sprintf("web-7d9f8c6b5-%05x", i*7919))
	}
	prev := map[string]bool{}
	for _, share := range []int32{1, 5, 10, 25, 50, 75, 90, 99} {
		in := map[string]bool{}
		for _, id := range ids {
			if InCanary(id, share) {
				in[id] = true
			}
		}
		// Binomial(10000, p): allow four standard deviations.
		p := float64(share) / 100
		tolerance := 4 * math.Sqrt(pods*p*(1-p))
		if d := math.Abs(float64(len(in)) - pods*p); d > tolerance {
			t.Errorf("share %d%%: %d of %d pods in the canary, want %.0f ± %.0f", share, len(in), pods, pods*p, tolerance)
		}
		for id := range prev {
			if !in[id] {
				t.Errorf("share %d%%: %s left the canary when the share grew", share, id)
			}
		}
		prev = in
	}
}
