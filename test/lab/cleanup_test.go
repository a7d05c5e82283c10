package lab_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/netns"
)

var _ = Describe("cleanup after a crashed run", func() {
	It("kills the run's processes, deletes its namespaces and removes its directory, and nothing else", func() {
		if os.Geteuid() != 0 {
			Fail("this spec creates network namespaces and must run as root: sudo make test-e2e")
		}
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		prefix := netns.Root + hex.EncodeToString(b)
		other := netns.Root + "x" + hex.EncodeToString(b) // another run: must survive

		// What a SIGKILLed lab leaves: a node namespace with its process, a directory, and a
		// control-plane process whose command line names the directory.
		var spawned []*exec.Cmd
		DeferCleanup(func() {
			for _, c := range spawned {
				_ = c.Process.Kill()
				_ = c.Wait()
			}
			_, _ = lab.Cleanup(prefix)
			_, _ = lab.Cleanup(other)
		})
		for _, name := range []string{prefix + "-n0", other + "-n0"} {
			ns, err := netns.Create(name)
			Expect(err).NotTo(HaveOccurred())
			Expect(ns.Close()).To(Succeed())
			c := exec.Command("ip", "netns", "exec", name, "sleep", "60")
			Expect(c.Start()).To(Succeed())
			spawned = append(spawned, c)
		}
		dir := lab.WorkDir(prefix)
		Expect(os.MkdirAll(filepath.Join(dir, "etcd"), 0o700)).To(Succeed())
		// The stand-in must not fork: a shell running `sleep` as a child shows the child with the
		// shell's command line between fork and exec, and Cleanup rightly counts it (CI saw a third
		// PID that way). `read` is a builtin, and blocks on a pipe nobody writes.
		cp := exec.Command("sh", "-c", "read -r line", "--data-dir="+filepath.Join(dir, "etcd"))
		stdin, err := cp.StdinPipe()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = stdin.Close() }) // cp.Wait closes it first when the spec gets there
		Expect(cp.Start()).To(Succeed())
		spawned = append(spawned, cp)
		Eventually(func() ([]int, error) { return netns.Processes(prefix + "-n0") }).WithTimeout(5 * time.Second).Should(HaveLen(1))

		left, err := lab.Cleanup(prefix)
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Namespaces).To(Equal([]string{prefix + "-n0"}))
		Expect(left.Processes).To(ConsistOf(spawned[0].Process.Pid, cp.Process.Pid))
		Expect(left.Dirs).To(Equal([]string{dir}))

		Expect(spawned[0].Wait()).NotTo(Succeed()) // killed
		Expect(cp.Wait()).NotTo(Succeed())
		after, err := lab.Find(prefix)
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Namespaces).To(BeEmpty())
		Expect(after.Dirs).To(BeEmpty())

		// The other run is untouched.
		others, err := lab.Find(other)
		Expect(err).NotTo(HaveOccurred())
		Expect(others.Namespaces).To(Equal([]string{other + "-n0"}))
		Expect(others.Processes).To(Equal([]int{spawned[1].Process.Pid}))
		Expect(syscall.Kill(spawned[1].Process.Pid, 0)).To(Succeed(), "the other run's process is alive")
	})
})
