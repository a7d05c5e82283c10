package lab_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/test/lab/probe"
)

// labWorlds holds the engine's random worlds written as lab scenarios (pkg/engine/labworld_test.go:
// the generator of the engine's property tests, seeds chosen for having pods and policies left
// once written for the lab), and slots.yaml, every pod place they use.
const labWorlds = "../../pkg/engine/testdata/lab-worlds"

// randomPorts are what the generator's rules and flows name: TCP 80 and 8080, UDP 53 and 80, and
// ICMP echo.
const randomPorts = "80/TCP,8080/TCP,53/UDP,80/UDP,ICMP"

// The engine's random scenarios with real packets: one lab with a real enforcer on each of its 2
// nodes, started with every pod slot; each scenario replaces the pods, service accounts, namespace
// labels and policies, waits for the enforcers to settle, and the matrix measured between its pods
// over TCP, UDP and ICMP must equal the engine's cell for cell.
var _ = Describe("the engine's random scenarios with packets", Ordered, func() {
	var (
		e     *enforcedLab
		ports = must(probe.ParsePorts(randomPorts))
	)
	seeds, err := filepath.Glob(filepath.Join(labWorlds, "seed-*.yaml"))
	if err != nil {
		panic(err)
	}

	BeforeAll(func() {
		Expect(seeds).To(HaveLen(20), "the lab worlds under %s (go test ./pkg/engine -run TestLabWorlds -update writes them)", labWorlds)
		slots, err := os.ReadFile(filepath.Join(labWorlds, "slots.yaml"))
		Expect(err).NotTo(HaveOccurred())
		ctx := log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		e = startEnforcedLab(ctx, string(slots), 2, []uint16{53, 80, 8080})
	})
	AfterEach(func() { e.dumpLogs() })

	for _, path := range seeds {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		It("measures the engine's matrix for "+name, func() {
			b, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred())
			set, err := manifestSet(string(b))
			Expect(err).NotTo(HaveOccurred())

			before := e.fingerprint()
			e.replaceWorld(set.Namespaces, string(b))
			settled := e.waitSettled(before)

			var refs []string
			for _, p := range set.Pods {
				refs = append(refs, p.Object.Namespace+"/"+p.Object.Name)
			}
			eps := e.endpoints(refs...)
			a := e.measureUntilAgreed(path, eps, ports, 10*time.Second)
			if len(a.diff) > 0 {
				Fail(fmt.Sprintf("%s: packets and the engine disagree on %d cells:\n%s\n\nreplay: kubectl palisade trace -f %s --from NS/POD --to NS/POD --port PORT/PROTO (or --icmp 8/0)\nmanifest:\n%s",
					name, len(a.diff), describeDiff(a.diff), path, b))
			}
			allowed := 0
			for _, v := range a.measured {
				if v.Allowed {
					allowed++
				}
			}
			GinkgoWriter.Printf("%s: %d pods, %d policies; rules settled in %v; %d cells (%d allowed) agree with the engine after %d probe rounds\n",
				name, len(set.Pods), len(set.NetworkPolicies)+len(set.GlobalNetworkPolicies)+len(set.KubernetesNetworkPolicies),
				settled.Round(time.Millisecond), len(a.measured), allowed, a.attempts)
		})
	}
})
