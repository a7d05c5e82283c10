package rollout

import (
	"crypto/sha256"
	"encoding/binary"
)

// EndpointIdentity is the identity canary membership is computed from: "namespace/name" for a pod,
// the name for a cluster-scoped endpoint. Names, not UIDs or IPs: the same pod is in or out of the
// canary on every node, in the CLI and across enforcer restarts, from the objects alone.
func EndpointIdentity(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// CanaryBucket places an endpoint identity in one of 100 buckets, uniformly and stably: the first
// eight bytes of its SHA-256, modulo 100. A cryptographic hash is used for its spread over similar
// names (pods of one ReplicaSet differ in a few characters), not for secrecy.
func CanaryBucket(identity string) int32 {
	sum := sha256.Sum256([]byte(identity))
	return int32(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// InCanary reports whether the endpoint is in the canary slice for a share of percent (0..100): the
// endpoints whose bucket is below the share. The slice depends on the identity and the share only, so
// every node and the CLI agree, and a larger share keeps every endpoint of a smaller one. The same
// endpoints form the canary of every Staged policy: one known slice of the workload carries the risk
// of all staged changes, rather than a different slice per policy.
func InCanary(identity string, percent int32) bool {
	return CanaryBucket(identity) < percent
}
