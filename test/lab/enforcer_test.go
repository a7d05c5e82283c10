package lab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/test/lab/labcmd"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// The node enforcer end to end: for every example scenario, a lab with one real palisade-enforcer
// per node namespace, real TCP and UDP packets between every ordered pair of pods on every declared
// port, and the measured matrix held to the engine's (kubectl palisade matrix) cell for cell.
var _ = Describe("palisade-enforcer in the lab", Ordered, func() {
	var enforcer string
	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("this suite creates network namespaces and must run as root: sudo make test-e2e")
		}
		enforcer = filepath.Join(GinkgoT().TempDir(), "palisade-enforcer")
		out, err := exec.Command("go", "build", "-o", enforcer, "../../cmd/palisade-enforcer").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building palisade-enforcer: %s", out)
	})

	scenarios, err := filepath.Glob("../../examples/*")
	if err != nil {
		panic(err)
	}
	for _, dir := range scenarios {
		name := filepath.Base(dir)
		if name == "calico" || name == "invalid" {
			continue // no pods: Calico manifests to convert, and policies admission refuses
		}
		It("measures the engine's matrix for examples/"+name, func() {
			var out bytes.Buffer
			cmd := labcmd.NewRootCommand()
			cmd.SetOut(&out)
			cmd.SetErr(GinkgoWriter)
			cmd.SetArgs([]string{"probe", "-f", dir, "--nodes", "2", "-o", "json",
				"--enforcer-cmd", enforcer + " run --kubeconfig {{.Kubeconfig}} --node-name {{.Node}} --health-addr 127.0.0.1:9808 --metrics-addr 0 --min-sync-interval 100ms --rollout-phases=false",
				"--node-ready-url", "http://127.0.0.1:9808/readyz"})
			ctx := log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
			Expect(cmd.ExecuteContext(ctx)).To(Succeed())
			var measured probe.Matrix
			Expect(json.Unmarshal(out.Bytes(), &measured)).To(Succeed())
			Expect(measured.Verdicts).NotTo(BeEmpty())

			var ports []string
			for _, v := range measured.Verdicts {
				p := probe.Port{Port: v.Port, Protocol: v.Protocol}.String()
				if !slices.Contains(ports, p) {
					ports = append(ports, p)
				}
			}
			want := engineMatrix(dir, strings.Join(ports, ","))
			Expect(probe.Diff(measured.Verdicts, want)).To(BeEmpty(), "measured with packets against kubectl palisade matrix")
			allowed := 0
			for _, v := range measured.Verdicts {
				if v.Allowed {
					allowed++
				}
			}
			fmt.Fprintf(GinkgoWriter, "examples/%s: %d flows measured, %d allowed, all as the engine says\n", name, len(measured.Verdicts), allowed)
		})
	}
})
