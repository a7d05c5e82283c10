package ipsets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
)

type fakeKernel struct {
	save     string
	restores []string
	fail     error
}

func (k *fakeKernel) Run(_ context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	switch strings.Join(append([]string{name}, args...), " ") {
	case "ipset save":
		return []byte(k.save), nil
	case "ipset -exist restore":
		k.restores = append(k.restores, string(stdin))
		return nil, k.fail
	}
	return nil, errors.New("unexpected command " + name)
}

func set(name, typ string, members ...string) desired.Set {
	return desired.Set{Name: name, Type: typ, Family: "inet", Members: members}
}

func TestUpdate(t *testing.T) {
	const kernel = "create KUBE-X hash:ip family inet hashsize 1024 maxelem 65536\nadd KUBE-X 198.18.9.9\n" +
		"create PAL-s-a hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12\nadd PAL-s-a 198.18.0.1\nadd PAL-s-a 198.18.0.2\nadd PAL-s-a 198.18.0.3\n" +
		"create PAL-s-n hash:net family inet hashsize 1024 maxelem 65536\nadd PAL-s-n 198.18.1.0/24\nadd PAL-s-n 198.18.0.1\n" +
		"create PAL-s-p hash:ip,port family inet hashsize 1024 maxelem 65536\nadd PAL-s-p 198.18.0.1,tcp:80\nadd PAL-s-p 198.18.0.1,udp:53\n" +
		"create PAL-s-old hash:ip family inet hashsize 1024 maxelem 65536\n"
	tests := []struct {
		name string
		sets []desired.Set
		want string // the restore sent; "" for none
		res  Result
	}{
		{
			name: "unchanged, written differently",
			sets: []desired.Set{
				set("PAL-s-a", "hash:ip", "198.18.0.3", "198.18.0.1", "198.18.0.2"),
				set("PAL-s-n", "hash:net", "198.18.1.7/24", "198.18.0.1/32"),
				set("PAL-s-p", "hash:ip,port", "198.18.0.1,80", "198.18.0.1,17:53"),
			},
			res: Result{Sets: 3, Members: 7, Stale: 1},
		},
		{
			name: "delta",
			sets: []desired.Set{set("PAL-s-a", "hash:ip", "198.18.0.1", "198.18.0.2", "198.18.0.4")},
			want: "add PAL-s-a 198.18.0.4\ndel PAL-s-a 198.18.0.3\n",
			res:  Result{Added: 1, Deleted: 1, Sets: 1, Members: 3, Stale: 3},
		},
		{
			name: "wholesale change swaps",
			sets: []desired.Set{set("PAL-s-a", "hash:ip", "198.18.5.1", "198.18.5.2")},
			want: "create " + tempName("PAL-s-a") + " hash:ip family inet maxelem 65536\nflush " + tempName("PAL-s-a") + "\n" +
				"add " + tempName("PAL-s-a") + " 198.18.5.1\nadd " + tempName("PAL-s-a") + " 198.18.5.2\n" +
				"swap " + tempName("PAL-s-a") + " PAL-s-a\ndestroy " + tempName("PAL-s-a") + "\n",
			res: Result{Swapped: 1, Sets: 1, Members: 2, Stale: 3},
		},
		{
			name: "type change recreates",
			sets: []desired.Set{set("PAL-s-a", "hash:net", "198.18.0.0/16")},
			want: "destroy PAL-s-a\ncreate PAL-s-a hash:net family inet maxelem 65536\nadd PAL-s-a 198.18.0.0/16\n",
			res:  Result{Recreated: 1, Sets: 1, Members: 1, Stale: 3},
		},
		{
			name: "new set",
			sets: []desired.Set{set("PAL-s-new", "hash:ip", "198.18.0.1", "198.18.0.1")},
			want: "create PAL-s-new hash:ip family inet maxelem 65536\nadd PAL-s-new 198.18.0.1\n",
			res:  Result{Created: 1, Sets: 1, Members: 2, Stale: 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &fakeKernel{save: kernel}
			a := New(k)
			res, err := a.Update(context.Background(), tt.sets, false)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if diff := cmp.Diff(want, k.restores); diff != "" {
				t.Fatalf("restore (-want +got):\n%s", diff)
			}
			if res != tt.res {
				t.Fatalf("result = %+v, want %+v", res, tt.res)
			}
			// The applier now knows the kernel: the same update sends nothing.
			k.restores = nil
			if _, err := a.Update(context.Background(), tt.sets, false); err != nil || len(k.restores) != 0 {
				t.Fatalf("second update: %v %q", err, k.restores)
			}
		})
	}
}

func TestDestroyStaleAndCleanupNameOnlyPalisadeSets(t *testing.T) {
	k := &fakeKernel{save: "create KUBE-X hash:ip family inet\ncreate PAL-s-a hash:ip family inet\ncreate PAL-s-b hash:ip family inet\n"}
	a := New(k)
	n, err := a.DestroyStale(context.Background(), []desired.Set{set("PAL-s-a", "hash:ip")})
	if err != nil || n != 1 {
		t.Fatalf("DestroyStale = %d, %v", n, err)
	}
	n, err = a.Cleanup(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Cleanup = %d, %v", n, err)
	}
	want := []string{"destroy PAL-s-b\n", "destroy PAL-s-a\ndestroy PAL-s-b\n"}
	if diff := cmp.Diff(want, k.restores); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestUpdateErrorNamesSet(t *testing.T) {
	k := &fakeKernel{fail: &command.Error{Command: "ipset", Stderr: "ipset v7.17: Error in line 3: Syntax error"}}
	a := New(k)
	_, err := a.Update(context.Background(), []desired.Set{set("PAL-s-a", "hash:ip", "198.18.0.1"), set("PAL-s-b", "hash:ip", "bogus")}, false)
	if err == nil || !strings.Contains(err.Error(), `restoring ipset PAL-s-b: line "create PAL-s-b`) {
		t.Fatalf("error = %v", err)
	}
	if a.known != nil {
		t.Fatal("a failed restore must make the next update read the kernel")
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ typ, in, want string }{
		{"hash:ip", "2001:db8::0:1", "2001:db8::1"},
		{"hash:net", "198.18.0.1/32", "198.18.0.1"},
		{"hash:net", "198.18.1.7/24", "198.18.1.0/24"},
		{"hash:ip,port", "198.18.0.1,80", "198.18.0.1,tcp:80"},
		{"hash:ip,port", "198.18.0.1,UDP:53", "198.18.0.1,udp:53"},
		{"hash:ip,port", "198.18.0.1,132:9", "198.18.0.1,sctp:9"},
		{"hash:ip", "not-an-ip", "not-an-ip"},
	}
	for _, tt := range tests {
		if got := canonical(tt.typ, tt.in); got != tt.want {
			t.Errorf("canonical(%s, %s) = %s, want %s", tt.typ, tt.in, got, tt.want)
		}
	}
}

func FuzzParseSave(f *testing.F) {
	f.Add([]byte("create PAL-a hash:ip family inet6 maxelem 10\nadd PAL-a ::1\nadd KUBE-b x\n"))
	f.Add([]byte("add PAL-a 1.2.3.4\n"))
	f.Add([]byte("create PAL-a hash:ip maxelem x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sets, err := parseSave(in)
		if err != nil {
			return
		}
		for name := range sets {
			if !desired.Owned(name) {
				t.Fatalf("foreign set %q read", name)
			}
		}
	})
}
