package iptables

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// hashLen is how many hex digits of a rule's hash its comment carries: 64 bits, enough that two
// different rule sequences of one chain never share a hash in practice.
const hashLen = 16

// hashCommentPrefix starts the marker every Palisade rule carries: "PAL:" and its hash.
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

// ownComment is how the renderer writes a rule's own comment (pkg/render: quoted, without
// quotes inside, after every criterion, before the target).
const ownComment = "-m comment --comment \""

// maxComment is the xt_comment limit (256 bytes with the terminating NUL).
const maxComment = 255

// withHash returns the rule text as the Applier writes it: the hash marker at the start of the
// rule's own comment ("PAL:<hash> <comment>"), so after every criterion; a rule without a
// comment gets the marker as its own comment, first.
//
// One comment, placed last, matters for speed, not for meaning (a comment always matches):
// iptables-nft turns each -m comment into an xtables match that nft_compat calls for every packet
// reaching it, so a marker of its own before the criteria cost a call for every packet walking
// past the rule (most of them, in a policy chain) and one more for every packet it took.
func withHash(rule, hash string) string {
	marker := hashCommentPrefix + hash
	i := strings.Index(rule, ownComment)
	if i < 0 || (i > 0 && rule[i-1] != ' ') {
		return ownComment + marker + `" ` + rule
	}
	start := i + len(ownComment)
	end := strings.IndexByte(rule[start:], '"')
	if end < 0 {
		return ownComment + marker + `" ` + rule
	}
	text := marker + " " + rule[start:start+end]
	if len(text) > maxComment {
		text = text[:maxComment]
	}
	return rule[:start] + text + rule[start+end:]
}
