package controllersintegration

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// createPod creates a pod with labels (envtest schedules nothing: the pod only has to exist).
func createPod(ns, name string, labels map[string]string) {
	GinkgoHelper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/c"}}}}
	Expect(env.client.Create(ctx, p)).To(Succeed())
}

var _ = Describe("suggested rules in status evidence", func() {
	It("suggests, for each top would-deny flow, a rule naming the peer by its stable labels, and says why when it cannot", func() {
		ns := newNamespace()
		other := newNamespace()
		createPod(ns, "web-0", map[string]string{"app": "web"})
		createPod(ns, "client-5d8f-x", map[string]string{"app": "client", "pod-template-hash": "5d8f"})
		createPod(other, "prom-0", map[string]string{"app.kubernetes.io/name": "prometheus", "statefulset.kubernetes.io/pod-name": "prom-0"})
		createPolicy(makePolicy(ns, "web"))
		p := waitNP(ns, "web", inPhase(audit))

		step(30 * time.Second)
		writeReport("node-a", echo(p, v1alpha1.FlowCounts{WouldDeny: 9},
			flow(ns+"/client-5d8f-x", ns+"/web-0", 8080, 5),
			flow(other+"/prom-0", ns+"/web-0", 9090, 3),
			flow(ns+"/gone", ns+"/web-0", 8080, 1)))
		tcp := v1alpha1.ProtocolFromString("TCP")
		ingress := func(src v1alpha1.EntityRule, port int) []v1alpha1.SuggestedRule {
			return []v1alpha1.SuggestedRule{{Direction: v1alpha1.PolicyTypeIngress, Rule: v1alpha1.Rule{
				Action: v1alpha1.Allow, Protocol: &tcp, Source: src,
				Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromInt(port)}},
			}}}
		}
		p = waitNP(ns, "web", func(g Gomega, p *v1alpha1.NetworkPolicy) {
			g.Expect(p.Status.Evidence.TopFlows).To(HaveLen(3))
		})
		flows := p.Status.Evidence.TopFlows
		Expect(flows[0].Source).To(Equal(ns + "/client-5d8f-x"))
		Expect(flows[0].SuggestedRules).To(Equal(ingress(v1alpha1.EntityRule{Selector: "app == 'client'"}, 8080)))
		Expect(flows[0].SuggestionNote).To(BeEmpty())
		Expect(flows[1].SuggestedRules).To(Equal(ingress(v1alpha1.EntityRule{
			Selector:          "app.kubernetes.io/name == 'prometheus'",
			NamespaceSelector: "kubernetes.io/metadata.name == '" + other + "'",
		}, 9090)))
		Expect(flows[2].SuggestedRules).To(BeEmpty())
		Expect(flows[2].SuggestionNote).To(Equal("source: pod " + ns + "/gone no longer exists"))

		By("pasting the suggestions: the flows are allowed, and the next window is quiet")
		// From a fresh read, again on a conflict: the operator keeps writing the status.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := env.client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
				return err
			}
			p.Spec.Ingress = append(p.Spec.Ingress, flows[0].SuggestedRules[0].Rule, flows[1].SuggestedRules[0].Rule)
			return env.client.Update(ctx, p)
		})).To(Succeed(), "the API server admits the pasted rules")
	})
})
