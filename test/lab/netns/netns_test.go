package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// requireRoot fails (never skips) a test that needs to create network namespaces.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test creates network namespaces and must run as root: sudo go test ./test/lab/...")
	}
}

func tempName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return Root + "t" + hex.EncodeToString(b)
}

func create(t *testing.T, name string) *NS {
	t.Helper()
	ns, err := Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ns.Close()
		if err := Delete(name); err != nil {
			t.Error(err)
		}
	})
	return ns
}

func TestSysctlStaysInItsNamespace(t *testing.T) {
	requireRoot(t)
	rootBefore, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	name := tempName(t)
	ns := create(t, name)
	want := "1"
	if strings.TrimSpace(string(rootBefore)) == "1" {
		want = "0" // prove the write lands in the namespace whatever the root's value
	}
	if err := ns.WriteSysctl("net.ipv4.ip_forward", want); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "exec", name, "cat", "/proc/sys/net/ipv4/ip_forward").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns exec: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("ip_forward inside %s = %s, want %s", name, got, want)
	}
	if got, err := ns.ReadSysctl("net.ipv4.ip_forward"); err != nil || got != want {
		t.Errorf("ReadSysctl = %q, %v; want %s", got, err, want)
	}
	rootAfter, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	if string(rootAfter) != string(rootBefore) {
		t.Errorf("the root namespace's ip_forward changed from %q to %q", rootBefore, rootAfter)
	}
}

func TestListenerLivesInItsNamespace(t *testing.T) {
	requireRoot(t)
	a := create(t, tempName(t))
	b := create(t, tempName(t))
	l, err := a.Listen(context.Background(), "tcp4", "127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = c.Write([]byte("x"))
			c.Close()
		}
	}()
	// The same address in another namespace is free, and reachable only from a.
	lb, err := b.Listen(context.Background(), "tcp4", "127.0.0.1:6443")
	if err != nil {
		t.Fatalf("127.0.0.1:6443 should be free in a second namespace: %v", err)
	}
	lb.Close()
	c, err := a.DialContext(context.Background(), nil, "tcp4", "127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err != nil || buf[0] != 'x' {
		t.Errorf("read %q, %v", buf, err)
	}
	c.Close()
}

func TestListAndProcesses(t *testing.T) {
	requireRoot(t)
	name := tempName(t)
	create(t, name)
	got, err := List(name)
	if err != nil || !slices.Equal(got, []string{name}) {
		t.Fatalf("List(%s) = %v, %v", name, got, err)
	}
	cmd := exec.Command("ip", "netns", "exec", name, "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var pids []int
	for range 100 { // until ip has entered the namespace and exec'd sleep
		if pids, err = Processes(name); err != nil || len(pids) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.Equal(pids, []int{cmd.Process.Pid}) {
		t.Errorf("Processes(%s) = %v, %v; want [%d]", name, pids, err, cmd.Process.Pid)
	}
}

func TestRefusesForeignNames(t *testing.T) {
	for _, name := range []string{"", "pal-lab-", "other", "pal-x", "pal-lab-a/b"} {
		if _, err := Create(name); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
		if err := Delete(name); err == nil {
			t.Errorf("Delete(%q) succeeded", name)
		}
	}
	if _, err := List("pal-"); err == nil {
		t.Error("List(pal-) succeeded")
	}
}
