package webhookintegration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/integration/webhook/benchload"
)

// The benchmark's floor is only a floor if the empty webhook is called for the same requests as
// Palisade's validating webhook and answers them as an admitting webhook must; make test checks it so
// that the benchmark does not find out after twenty minutes.
var _ = Describe("The benchmark's empty webhook", Serial, func() {
	It("is called for every policy create that Palisade's webhook sees, admits it, and is gone when removed", func() {
		ns := createNamespace("empty-webhook", nil)
		Expect(env.use(emptyWebhook.admission)).To(Succeed())
		DeferCleanup(func() { Expect(env.use(asInstalled)).To(Succeed()) })

		before := env.server.callsTo(emptyWebhookPath)
		Expect(env.client.Create(ctx, benchload.Policy(ns, "through-empty", 1, 0), client.DryRunAll)).To(Succeed())
		Expect(env.server.callsTo(emptyWebhookPath)).To(Equal(before+1), "one create, one call")

		// Alone, it refuses nothing: an invalid policy passes it (the CRD schema does not check the
		// protocol's case; Palisade's validating webhook does).
		invalid := benchload.Policy(ns, "invalid", 1, 0)
		invalid.Spec.Ingress[0].Protocol = ptr.To(v1alpha1.ProtocolFromString("tcp"))
		Expect(env.client.Create(ctx, invalid, client.DryRunAll)).To(Succeed())

		// Beside Palisade's webhook, Palisade's webhook still refuses it.
		Expect(env.use(admission{validating: true, admissionPolicy: true, empty: true})).To(Succeed())
		invalid = benchload.Policy(ns, "invalid", 1, 0)
		invalid.Spec.Ingress[0].Protocol = ptr.To(v1alpha1.ProtocolFromString("tcp"))
		err := env.client.Create(ctx, invalid, client.DryRunAll)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)

		Expect(env.use(asInstalled)).To(Succeed())
		before = env.server.callsTo(emptyWebhookPath)
		Expect(env.client.Create(ctx, benchload.Policy(ns, "after-removal", 1, 0), client.DryRunAll)).To(Succeed())
		Expect(env.server.callsTo(emptyWebhookPath)).To(Equal(before), "removed, it is not called")
	})
})

// The benchmark compares Palisade's validating handler with controller-runtime's end to end; the
// comparison means something only if controller-runtime's handler refuses and admits the same.
var _ = Describe("The benchmark's controller-runtime handler", Serial, func() {
	It("refuses an invalid policy and admits a valid one, alone", func() {
		ns := createNamespace("generic-webhook", nil)
		Expect(env.use(genericValidation.admission)).To(Succeed())
		DeferCleanup(func() { Expect(env.use(asInstalled)).To(Succeed()) })

		before := env.server.callsTo(genericValidatingPath)
		Expect(env.client.Create(ctx, benchload.Policy(ns, "valid", 1, 0), client.DryRunAll)).To(Succeed())
		Expect(env.server.callsTo(genericValidatingPath)).To(Equal(before+1), "one create, one call")
		invalid := benchload.Policy(ns, "invalid", 1, 0)
		invalid.Spec.Ingress[0].Protocol = ptr.To(v1alpha1.ProtocolFromString("tcp"))
		err := env.client.Create(ctx, invalid, client.DryRunAll)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
	})
})
