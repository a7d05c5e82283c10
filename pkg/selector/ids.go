package selector

import (
	"crypto/sha256"
	"encoding/base64"
)

// uniqueID mirrors libcalico-go's hash.MakeUniqueID("s", canonical): the
// prefix is part of the hashed content as well as of the result. Felix names
// selector ipsets from this value, so it must stay byte-for-byte identical.
func uniqueID(canonical string) string {
	const prefix = "s:"
	sum := sha256.Sum224([]byte(prefix + canonical))
	return prefix + base64.RawURLEncoding.EncodeToString(sum[:])
}
