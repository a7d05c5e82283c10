package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/enforcer/report"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/test/assets"
)

var _ = Describe("startObservation", Ordered, func() {
	var (
		dyn dynamic.Interface
		c   client.Client
		ns  string
	)
	BeforeAll(func() {
		dir, err := assets.Dir()
		Expect(err).NotTo(HaveOccurred(), "envtest binaries: make envtest-bins")
		env := &envtest.Environment{UseExistingCluster: ptr.To(false), BinaryAssetsDirectory: dir, ControlPlaneStartTimeout: 2 * time.Minute,
			CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
		cfg, err := env.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(env.Stop)
		dyn, err = dynamic.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		c, err = client.New(cfg, client.Options{Scheme: envtestScheme()})
		Expect(err).NotTo(HaveOccurred())
		ns = enforcertest.Netns(GinkgoT())
	})

	deps := func(node string, reg prometheus.Registerer) observeDeps {
		key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "web", Name: "guard"}
		return observeDeps{node: node, netns: ns, engine: engine.New(), dynamic: dyn, registry: reg,
			programs: func() []report.Program {
				return []report.Program{{Key: key, Phase: v1alpha1.PhaseAudit, Generation: 3, EnforcedGeneration: 2}}
			}}
	}

	It("opens the group in the node's namespace, writes the NodeReport each interval and registers its metrics", func(ctx SpecContext) {
		reg := prometheus.NewRegistry()
		f := &observeFlags{enabled: true, group: 2, reportInterval: 100 * time.Millisecond, buffer: 16}
		octx, cancel := context.WithCancel(logr.NewContext(context.Background(), logr.Discard()))
		defer cancel()
		Expect(startObservation(octx, f, deps("obs-node", reg))).To(Succeed())

		var nr v1alpha1.NodeReport
		Eventually(func() error { return c.Get(ctx, client.ObjectKey{Name: "obs-node"}, &nr) }).WithTimeout(10 * time.Second).Should(Succeed())
		Expect(nr.Spec.NodeName).To(Equal("obs-node"))
		Expect(nr.Spec.Policies).To(ConsistOf(HaveField("Name", "guard")))
		Expect(nr.Spec.Policies[0].Generation).To(Equal(int64(3)))
		n, err := testutil.GatherAndCount(reg, "palisade_nflog_received_total", "palisade_nflog_dropped_total",
			"palisade_observe_samples_total", "palisade_nodereport_writes_total")
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeNumerically(">=", 4))

		// The kernel allows one listener per group: a second enforcer on it fails, and says so.
		Expect(startObservation(octx, f, deps("other", prometheus.NewRegistry()))).To(MatchError(ContainSubstring("opening NFLOG group 2")))
	})

	It("does nothing with --observe=false", func(ctx SpecContext) {
		f := &observeFlags{enabled: false, group: 3, reportInterval: 50 * time.Millisecond}
		Expect(startObservation(ctx, f, deps("quiet-node", prometheus.NewRegistry()))).To(Succeed())
		Consistently(func() error { return c.Get(ctx, client.ObjectKey{Name: "quiet-node"}, &v1alpha1.NodeReport{}) }).
			WithTimeout(300 * time.Millisecond).ShouldNot(Succeed())
	})
})
