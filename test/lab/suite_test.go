package lab_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// TestMain lets the test binary double as the lab's node process (fakeNode), so that the suite
// needs no other binary.
func TestMain(m *testing.M) {
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
