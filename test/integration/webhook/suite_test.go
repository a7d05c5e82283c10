package webhookintegration

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// update rewrites the golden files from what the API server answers, instead of comparing.
var update = flag.Bool("update", false, "rewrite testdata golden files")

var (
	env *environment
	// warnClient is a client whose warnings are collected in warnings.
	warnClient client.Client
	warnings   = &warningCollector{}
	ctx        = context.Background()
)

func TestWebhooks(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Webhook integration suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	env, err = startEnvironment()
	Expect(err).NotTo(HaveOccurred())
	cfg := rest.CopyConfig(env.cfg)
	cfg.WarningHandler = warnings
	warnClient, err = client.New(cfg, client.Options{Scheme: env.scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	Expect(env.stop()).To(Succeed())
})

// warningCollector records the warnings the API server returns.
type warningCollector struct {
	mu   sync.Mutex
	msgs []string
}

func (c *warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, text)
}

// take returns the warnings received since the last take.
func (c *warningCollector) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.msgs
	c.msgs = nil
	return out
}

// createNamespace creates a namespace with labels and returns its name.
func createNamespace(name string, labels map[string]string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	err := env.client.Create(ctx, ns)
	if !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	return name
}

// createPod creates a pod with labels and named TCP ports ("name=port").
func createPod(ns, name string, labels map[string]string, ports ...corev1.ContainerPort) {
	GinkgoHelper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.invalid/app:1", Ports: ports,
		}}},
	}
	Expect(env.client.Create(ctx, p)).To(Succeed())
}

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(name, got string) {
	GinkgoHelper()
	path := filepath.Join("testdata", name)
	if *update {
		Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
		Expect(os.WriteFile(path, []byte(got), 0o644)).To(Succeed())
		return
	}
	want, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "golden file %s (run with -update to create it)", path)
	Expect(got).To(Equal(string(want)), "golden file %s differs (run with -update to rewrite it)", path)
}

// eventually is Eventually with the suite's patience for the informer cache to catch up.
func eventually(f any) AsyncAssertion {
	return Eventually(f).WithTimeout(20 * time.Second).WithPolling(100 * time.Millisecond)
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }
