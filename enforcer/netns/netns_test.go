package netns

import (
	"os"
	"testing"

	"github.com/palisade-dev/palisade/enforcer/enforcertest"
)

func netnsInode(t *testing.T) string {
	t.Helper()
	l, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDo(t *testing.T) {
	ns := enforcertest.Netns(t)
	outside := netnsInode(t)
	var inside string
	if err := Do(ns, func() error { inside = netnsInode(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside == outside {
		t.Fatalf("Do ran in the caller's namespace %s", inside)
	}
	if err := Do("", func() error {
		if got := netnsInode(t); got != outside {
			t.Errorf("Do(\"\") switched to %s", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := Do("pal-does-not-exist", func() error { return nil }); err == nil {
		t.Fatal("a missing namespace must be an error")
	}
}
