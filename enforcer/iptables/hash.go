package iptables

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// hashLen is how many hex digits of a rule's hash its comment carries: 64 bits, enough that two
// different rule sequences of one chain never share a hash in practice.
const hashLen = 16

// hashComment is the marker every Palisade rule carries first: "PAL:" and its hash.
const hashCommentPrefix = "PAL:"

// hashRE finds the marker in a rule as iptables-save prints it (the nft backend moves the comment
// after the protocol match, so it is searched anywhere in the line).
var hashRE = regexp.MustCompile(`--comment "?` + hashCommentPrefix + `([0-9a-f]{16})"?`)

// ruleHashes gives each rule of a chain a hash that covers the chain's name, the rule and every rule
// before it (as Felix does): two chains have the same list of hashes only if they have the same
// rules in the same order, and the first differing hash is where they diverge.
func ruleHashes(chain string, rules []string) []string {
	out := make([]string, len(rules))
	h := sha256.Sum256([]byte(chain))
	for i, r := range rules {
		s := sha256.New()
		s.Write(h[:])
		s.Write([]byte(r))
		copy(h[:], s.Sum(nil))
		out[i] = hex.EncodeToString(h[:])[:hashLen]
	}
	return out
}

// ruleHash extracts the hash from a saved rule, or "" when it carries none (someone else's rule, or
// one whose comment was edited by hand).
func ruleHash(line string) string {
	m := hashRE.FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return m[1]
}
