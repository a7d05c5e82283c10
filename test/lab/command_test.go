package lab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/test/lab/labcmd"
	"github.com/palisade-dev/palisade/test/lab/netns"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

var _ = Describe("palisade-lab probe -o json", func() {
	It("prints exactly kubectl palisade matrix -o json's document, less the cells from a pod to itself", func() {
		if os.Geteuid() != 0 {
			Fail("this spec creates network namespaces and must run as root: sudo make test-e2e")
		}
		// Every pod has its IP, so that the engine's matrix can place it; no policy, so that
		// without an enforcer the measured matrix is the engine's.
		var docs []string
		for i, ns := range []string{"red", "blue"} {
			docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns))
			for j, name := range []string{"one", "two"} {
				docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s, labels: {app: %s}}
spec: {containers: [{name: c, image: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 198.18.%d.%d}
`, name, ns, name, 50+i, 10+j))
			}
		}
		path := filepath.Join(GinkgoT().TempDir(), "cluster.yaml")
		Expect(os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o600)).To(Succeed())
		const ports = "80/TCP,8080/TCP,53/UDP"

		before, err := netns.List(netns.Root)
		Expect(err).NotTo(HaveOccurred())
		var out bytes.Buffer
		cmd := labcmd.NewRootCommand()
		cmd.SetOut(&out)
		cmd.SetErr(GinkgoWriter)
		cmd.SetArgs([]string{"probe", "-f", path, "--ports", ports, "--nodes", "2", "-o", "json"})
		ctx := log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		Expect(cmd.ExecuteContext(ctx)).To(Succeed())

		var want []probe.Verdict
		for _, v := range engineMatrix(path, ports) {
			if v.From != v.To {
				want = append(want, v)
			}
		}
		Expect(want).To(HaveLen(4 * 3 * 3))
		b, err := json.MarshalIndent(probe.Matrix{Verdicts: want}, "", "  ")
		Expect(err).NotTo(HaveOccurred())
		Expect(out.String()).To(Equal(string(b) + "\n"))

		after, err := netns.List(netns.Root)
		Expect(err).NotTo(HaveOccurred())
		for _, ns := range after {
			// The netns package's tests (pal-lab-t...) may run alongside; nothing else may appear.
			if !strings.HasPrefix(ns, netns.Root+"t") {
				Expect(before).To(ContainElement(ns), "the command left namespace %s behind", ns)
			}
		}
	})
})
