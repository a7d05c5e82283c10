package lab_test

import (
	"os/exec"
	"path/filepath"

	. "github.com/onsi/gomega"
)

// buildCommands builds the named commands of cmd/ into dir, as `make build` would.
func buildCommands(dir string, names ...string) {
	args := []string{"build", "-o", dir + "/"}
	for _, n := range names {
		args = append(args, "../../cmd/"+n)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "building %v: %s", names, out)
}

// buildHelm builds what `make helm` builds into dir: the helm CLI of test/chart's go.mod
// (helm.sh/helm/v4), which stays out of the root module.
func buildHelm(dir string) {
	out, err := exec.Command("go", "build", "-C", "../chart", "-o", filepath.Join(dir, "helm"), "helm.sh/helm/v4/cmd/helm").CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "building helm from test/chart's go.mod: %s", out)
}
