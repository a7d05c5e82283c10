package webhookintegration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// describeStatus renders an API error the way a user meets it: reason, code, message and every
// cause with its field path.
func describeStatus(err error) string {
	GinkgoHelper()
	status, ok := err.(apierrors.APIStatus)
	Expect(ok).To(BeTrue(), "error %v is not an API status", err)
	s := status.Status()
	var b strings.Builder
	fmt.Fprintf(&b, "reason: %s (%d)\nmessage: %s\n", s.Reason, s.Code, s.Message)
	if s.Details != nil && len(s.Details.Causes) > 0 {
		b.WriteString("causes:\n")
		for _, c := range s.Details.Causes {
			fmt.Fprintf(&b, "  %s: %s\n", c.Field, c.Message)
		}
	}
	return b.String()
}

// describeError is describeStatus for errors that may not come from the API server (a kind it does
// not serve is refused by the client's REST mapping).
func describeError(err error) string {
	GinkgoHelper()
	if _, ok := err.(apierrors.APIStatus); ok {
		return describeStatus(err)
	}
	return "error: " + err.Error() + "\n"
}

func readObject(path string) *unstructured.Unstructured {
	GinkgoHelper()
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(raw, &obj.Object)).To(Succeed())
	return obj
}

var _ = Describe("Invalid policies", func() {
	BeforeEach(func() { createNamespace("lint", nil) })

	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		panic(fmt.Sprintf("no invalid corpus in testdata/invalid: %v", err))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		It("refuses "+name+" with the field paths of its errors", func() {
			err := env.client.Create(ctx, readObject(file))
			Expect(err).To(HaveOccurred(), "the API server stored an invalid policy")
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid (422) error, got %v", err)
			details := err.(apierrors.APIStatus).Status().Details
			Expect(details).NotTo(BeNil())
			Expect(details.Causes).NotTo(BeEmpty())
			for _, c := range details.Causes {
				Expect(c.Field).To(Or(HavePrefix("spec"), HavePrefix("metadata")), "cause without a field path: %+v", c)
			}
			golden(filepath.Join("invalid", name+".golden"), describeStatus(err))
		})
	}
})

// The lint corpus of `kubectl palisade lint` (examples/invalid) must be refused by the API server as
// well: by the schema, by the webhooks, or by Kubernetes' own NetworkPolicy validation. Objects are
// sent as kubectl sends them, with strict field validation, so a misspelt field is an error too.
var _ = Describe("The lint corpus", func() {
	BeforeEach(func() { createNamespace("demo", nil) })

	corpus := filepath.Join(repoRoot, "examples", "invalid")
	files, err := filepath.Glob(filepath.Join(corpus, "*.yaml"))
	if err != nil || len(files) == 0 {
		panic(fmt.Sprintf("no lint corpus in %s: %v", corpus, err))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		It("refuses examples/invalid/"+name+".yaml", func() {
			err := env.client.Create(ctx, readObject(file), client.FieldValidation("Strict"))
			Expect(err).To(HaveOccurred(), "the API server stored an object from the lint corpus")
			golden(filepath.Join("examples-invalid", name+".golden"), describeError(err))
		})
	}
})
