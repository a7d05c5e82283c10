// Package ipsets keeps Palisade's ipsets (names starting with PAL) equal to the desired ones and
// never names any other set.
//
// Each update is one `ipset -exist restore`. A set whose membership changes a little gets add and
// del lines, so the rules that match on it keep working throughout; a set whose membership changes
// wholesale (more changes than members, or more members than it can hold) is rebuilt in a temporary
// set that is then swapped in and destroyed, so the kernel goes from the old membership to the new
// one in one step. Members are compared in the form `ipset save` prints (canonical), so a member
// written differently by the renderer is never deleted and re-added at every sync.
//
// Order matters and belongs to the caller (enforcer/syncer): sets are created and updated before the
// iptables rules that reference them are written, and destroyed (DestroyStale) only after the rules
// that referenced them are gone, since the kernel refuses to destroy a referenced set. As with the
// iptables applier, the state last written is trusted between resyncs and read again (`ipset save`,
// filtered to Palisade's sets) at start, on resync and after a failure, which adopts the sets a
// previous process left and repairs members removed by hand.
package ipsets
