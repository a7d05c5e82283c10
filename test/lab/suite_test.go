package lab_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/palisade-dev/palisade/test/lab/chartrun"
)

// TestMain lets the test binary double as the lab's node process (fakeNode) and as the chart
// specs' Helm post-renderer, so that the suite needs no other binary.
func TestMain(m *testing.M) {
	// Helm runs this binary as the chart specs' post-renderer (package chartrun).
	chartrun.ServePostRenderer()
	if len(os.Args) > 1 && os.Args[1] == fakeNodeArg {
		os.Exit(fakeNode(os.Args[2:]))
	}
	code := m.Run()
	closeBenchLab()
	os.Exit(code)
}

func TestLab(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "lab")
}
