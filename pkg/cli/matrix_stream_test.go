package cli

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// heapSampler is an io.Writer that discards the output and, every few writes, measures the live
// heap after a collection: what the command holds while it writes.
type heapSampler struct {
	writes  int
	bytes   int
	maxLive uint64
}

func (h *heapSampler) Write(p []byte) (int, error) {
	h.writes++
	h.bytes += len(p)
	if h.writes%500 == 1 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.maxLive = max(h.maxLive, ms.HeapAlloc)
	}
	return len(p), nil
}

// TestMatrixStreamsWithinBoundedMemory writes a 400-pod matrix as JSON (160,000 verdicts, about
// 20 MB of output) and checks that the live heap while writing stays far below the output's size:
// verdicts are written as they are computed, never gathered (issue 13 item 10).
func TestMatrixStreamsWithinBoundedMemory(t *testing.T) {
	var in strings.Builder
	for i := range 400 {
		fmt.Fprintf(&in, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d, namespace: ns, labels: {app: a%d}}\nstatus: {podIP: 198.18.%d.%d}\n", i, i%7, i/200, i%200+1)
	}
	in.WriteString("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d, namespace: ns}\nspec: {podSelector: {matchLabels: {app: a1}}, ingress: [{from: [{podSelector: {matchLabels: {app: a2}}}]}]}\n")
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	out := &heapSampler{}
	var errOut bytes.Buffer
	root := NewRootCommand(IOStreams{In: strings.NewReader(in.String()), Out: out, ErrOut: &errOut})
	root.SetArgs([]string{"matrix", "-f", "-", "--ports", "80", "-o", "json"})
	if code := HandleError(root.Execute(), &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if out.bytes < 15<<20 {
		t.Fatalf("wrote %d bytes, want the whole matrix (> 15 MiB)", out.bytes)
	}
	grown := int64(out.maxLive) - int64(before.HeapAlloc)
	if grown > 8<<20 {
		t.Errorf("the live heap grew by %d MiB while writing %d MiB: the matrix is held in memory", grown>>20, out.bytes>>20)
	}
}
