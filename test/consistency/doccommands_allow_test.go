package consistency

// runner names what runs a documented command that this package does not run itself: a file that
// must exist and contain a string (a test function, a ginkgo Describe, a line of .ci/run, a Makefile
// target), so that renaming or deleting the runner fails TestDocCommandsAreRun.
type runner struct {
	path     string // relative to the repository root
	contains string
	what     string // how it runs the command, for the reader of this table
}

// allowedCommand is a documented command and what runs it.
type allowedCommand struct {
	file, command string
	by            runner
}

var (
	byCI = func(target string) runner {
		return runner{".ci/run", "\nmake " + target + "\n", "CI (bash .ci/run) runs make " + target}
	}
	byInstallDocTest = runner{"test/chart/docs_test.go", "func TestInstallDocHelmCommands(",
		"test/chart/docs_test.go reads docs/install.md's blocks and runs them as written with helm and kubectl against an envtest API server (TestInstallDocHelmCommands, TestInstallDocKustomizeCommands)"}
	byImageTest = runner{"hack/imagebuild/imagetest/images_test.go", `"make", "-C", repoRoot, "images"`,
		"make test-images (in make test-e2e, run by CI) runs make images with IMAGE_VERSION and checks the layouts"}
	byDemoSpec = runner{"test/lab/demo_test.go", `Describe("palisade-lab demo"`,
		"the lab's demo spec (make test-e2e) runs the demo's steps (what make demo runs: palisade-lab demo, its flags included) and checks each claim"}
	byCLISpec = runner{"test/integration/controllers/cli_test.go", `Describe("kubectl palisade against a cluster"`,
		"the CLI spec of the controllers' envtest suite runs status, promote (--wait), pause, resume, rollback (gnp/NAME too) and watch against a real API server with the operator running"}
	byReadmeCopy = runner{"test/consistency/readme_install_test.go", "func TestReadmeInstallIsInstallDoc(",
		"the README's Helm block is docs/install.md's \"With Helm\" block byte for byte (TestReadmeInstallIsInstallDoc), which test/chart's TestInstallDocHelmCommands runs"}
	byThisPackage = runner{"test/consistency/doccommands_cluster_test.go", "func TestDocClusterCommands(",
		"TestDocClusterCommands runs it as written with kubectl against an envtest API server"}
)

// allowedCommands are the documented commands run elsewhere. Each names its document and its exact
// text (blanks collapsed, comments dropped), so that a changed command must be looked at again.
var allowedCommands = []allowedCommand{
	{"README.md", "make demo", byDemoSpec},
	{"docs/demo.md", "make demo", byDemoSpec},
	{"docs/demo.md", `sudo -E env PATH="$PATH" make demo`, byDemoSpec},
	{"docs/demo.md", `make demo DEMO_FLAGS="--window 30s --log-dir /tmp/palisade-demo"`, byDemoSpec},
	{"docs/rollout.md", "kubectl palisade status -n shop web", byCLISpec},
	{"docs/rollout.md", "kubectl palisade promote -n shop web --wait", byCLISpec},
	{"docs/rollout.md", "kubectl palisade watch -n shop web --timeout 1h", byCLISpec},
	{"docs/rollout.md", "kubectl palisade rollback gnp/default-deny", byCLISpec},
	{"README.md", "make test", byCI("test")},
	{"README.md", `sudo -E env PATH="$PATH" make test-e2e`, runner{".ci/run", `sudo -n -E env "PATH=$PATH" make test-e2e`, "CI (bash .ci/run) runs make test-e2e as root, with sudo when it is not root"}},

	{"README.md", "kubectl create namespace palisade-system", byReadmeCopy},
	{"README.md", "kubectl label namespace palisade-system pod-security.kubernetes.io/enforce=privileged --overwrite", byReadmeCopy},
	{"README.md", "kubectl apply --server-side -f charts/palisade/crds/", byReadmeCopy},
	{"README.md", "helm install palisade charts/palisade -n palisade-system --set controller.image.repository=registry.example.com/palisade/palisade-controller --set enforcer.image.repository=registry.example.com/palisade/palisade-enforcer", byReadmeCopy},

	{"docs/images.md", "make images", byImageTest},
	{"docs/images.md", "make images IMAGE_VERSION=0.1.0", byImageTest},

	{"docs/install.md", "kubectl create namespace palisade-system", byInstallDocTest},
	{"docs/install.md", "kubectl label namespace palisade-system pod-security.kubernetes.io/enforce=privileged --overwrite", byInstallDocTest},
	{"docs/install.md", "kubectl apply --server-side -f charts/palisade/crds/", byInstallDocTest},
	{"docs/install.md", "helm install palisade charts/palisade -n palisade-system --set controller.image.repository=registry.example.com/palisade/palisade-controller --set enforcer.image.repository=registry.example.com/palisade/palisade-enforcer", byInstallDocTest},
	{"docs/install.md", "helm install palisade charts/palisade -n palisade-system -f charts/palisade/examples/production.yaml", byInstallDocTest},
	{"docs/install.md", "kubectl apply --server-side -k config/default", byInstallDocTest},
	{"docs/install.md", "helm upgrade palisade charts/palisade -n palisade-system -f my-values.yaml", byInstallDocTest},
	{"docs/install.md", "helm uninstall palisade -n palisade-system", byInstallDocTest},
	{"docs/install.md", "kubectl delete -f charts/palisade/crds/", byInstallDocTest},
	{"docs/install.md", "kubectl delete validatingwebhookconfiguration palisade-validating-webhook-configuration", byInstallDocTest},
	{"docs/install.md", "kubectl delete mutatingwebhookconfiguration palisade-mutating-webhook-configuration --ignore-not-found", byInstallDocTest},
	{"docs/install.md", "kubectl delete mutatingadmissionpolicybinding,mutatingadmissionpolicy palisade-policy-defaults --ignore-not-found", byInstallDocTest},
	{"docs/install.md", "kubectl delete clusterrolebinding,clusterrole -l app.kubernetes.io/part-of=palisade", byInstallDocTest},
	{"docs/install.md", "kubectl delete namespace palisade-system --wait=false", byInstallDocTest},
}

// notRun are the documented commands no test can run here, each with the reason. Keep it short: a
// command belongs here only when running it needs what no test machine has.
var notRun = []struct{ file, command, reason string }{
	{"docs/install.md", "kubectl -n palisade-system rollout status deployment/palisade-controller",
		"needs a kubelet to make the Pods ready; envtest has none (docs/install.md says so)"},
	{"docs/install.md", "kubectl -n palisade-system rollout status daemonset/palisade-enforcer",
		"needs a kubelet to make the Pods ready; envtest has none (docs/install.md says so)"},
	{"README.md", "kubectl -n palisade-system rollout status deployment/palisade-controller",
		"needs a kubelet to make the Pods ready; envtest has none (the block is docs/install.md's)"},
	{"README.md", "kubectl -n palisade-system rollout status daemonset/palisade-enforcer",
		"needs a kubelet to make the Pods ready; envtest has none (the block is docs/install.md's)"},
	{"docs/images.md", "skopeo copy oci:bin/images/palisade-controller.oci:palisade-controller:0.1.0 docker://registry.example.com/palisade/palisade-controller:0.1.0",
		"pushes to a registry, which no test has"},
	{"docs/images.md", "crane push bin/images/palisade-enforcer.oci registry.example.com/palisade/palisade-enforcer:0.1.0",
		"pushes to a registry, which no test has"},
	{"docs/images.md", "docker build --target palisade-controller --build-arg VERSION=0.1.0 -t palisade-controller:0.1.0 .",
		"needs Docker, which the test machines do not have (make images builds the same images without it)"},
	{"docs/images.md", "docker build --target palisade-enforcer --build-arg VERSION=0.1.0 -t palisade-enforcer:0.1.0 .",
		"needs Docker, which the test machines do not have (make images builds the same images without it)"},
}
