package render_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/pkg/render"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const examplesDir = "../../examples"

// checkGolden compares got with the file at path, whole; -update rewrites it.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./pkg/render -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test ./pkg/render -run '%s' -update rewrites it)\n--- want\n%s\n--- got\n%s", path, t.Name(), want, got)
	}
}

// loadExample loads a manifest directory into an engine the way kubectl palisade does
// (pkg/cli/model.go): objects without a namespace go to "default", namespaces that are used but
// not defined are created, every policy is the enforced generation. Pods without
// spec.nodeName are placed on node-a and node-b in turn, in namespace/name order.
func loadExample(t *testing.T, dir string) *engine.Engine {
	t.Helper()
	set, err := manifest.Load([]string{dir}, nil)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	e := engine.New()
	nsSeen := map[string]bool{}
	must := func(err error) {
		t.Helper()
		var invalid *engine.InvalidPolicyError
		if err != nil && !errors.As(err, &invalid) {
			t.Fatal(err)
		}
	}
	implicit := func(ns string) {
		if ns == "" {
			ns = "default"
		}
		if !nsSeen[ns] {
			nsSeen[ns] = true
			must(e.UpsertNamespace(engine.Namespace{Name: ns}))
		}
	}
	for _, x := range set.Namespaces {
		ns, err := engine.FromNamespace(x.Object)
		must(err)
		must(e.UpsertNamespace(ns))
		nsSeen[ns.Name] = true
	}
	for _, x := range set.ServiceAccounts {
		o := x.Object.DeepCopy()
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		sa, err := engine.FromServiceAccount(o)
		must(err)
		must(e.UpsertServiceAccount(sa))
	}
	var pods []engine.Endpoint
	for _, x := range set.Pods {
		o := x.Object.DeepCopy()
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		ep, err := engine.FromPod(o)
		if errors.Is(err, engine.ErrNotWorkload) {
			continue
		}
		must(err)
		pods = append(pods, ep)
	}
	slices.SortFunc(pods, func(a, b engine.Endpoint) int { return strings.Compare(a.Ref().String(), b.Ref().String()) })
	unplaced := 0
	for _, ep := range pods {
		if ep.Node == "" {
			ep.Node = []string{"node-a", "node-b"}[unplaced%2]
			unplaced++
		}
		implicit(ep.Namespace)
		must(e.UpsertPod(ep))
	}
	for _, x := range set.KubernetesNetworkPolicies {
		o := x.Object.DeepCopy()
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		implicit(o.Namespace)
		must(e.UpsertKubernetesNetworkPolicy(o, engine.SlotEnforced))
	}
	for _, x := range set.NetworkPolicies {
		o := x.Object.DeepCopy()
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		implicit(o.Namespace)
		must(e.UpsertNetworkPolicy(o, engine.SlotEnforced))
	}
	for _, x := range set.GlobalNetworkPolicies {
		must(e.UpsertGlobalNetworkPolicy(x.Object, engine.SlotEnforced))
	}
	return e
}

// renderNodes renders every node of the engine as one text: per node the iptables-restore and
// ip6tables-restore inputs and the ipset restore input of both families.
func renderNodes(t *testing.T, e *engine.Engine) string {
	t.Helper()
	var b strings.Builder
	if len(e.NodeNames()) == 0 {
		b.WriteString("# no pod in the scenario: no node to render\n")
	}
	for _, n := range e.NodeNames() {
		v4, v6, err := render.Build(e.NodeModel(n), render.DefaultOptions())
		if err != nil {
			t.Fatalf("rendering node %s: %v", n, err)
		}
		for _, p := range []*render.Program{v4, v6} {
			if err := p.Validate(); err != nil {
				t.Fatalf("node %s %s: %v", n, p.Family, err)
			}
		}
		r4, r6 := v4.Ruleset(), v6.Ruleset()
		fmt.Fprintf(&b, "### node %s: iptables-restore\n%s", n, r4.IptablesRestoreText("filter"))
		fmt.Fprintf(&b, "### node %s: ip6tables-restore\n%s", n, r6.IptablesRestoreText("filter"))
		fmt.Fprintf(&b, "### node %s: ipset restore\n%s%s", n, r4.IpsetRestoreText(), r6.IpsetRestoreText())
	}
	return b.String()
}

// TestExamplesGolden renders every scenario under examples/ (examples/invalid holds documents
// that are meant not to load) and compares the whole text with testdata/examples/<name>.golden.
func TestExamplesGolden(t *testing.T) {
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range entries {
		if !ent.IsDir() || ent.Name() == "invalid" {
			continue
		}
		n++
		t.Run(ent.Name(), func(t *testing.T) {
			e := loadExample(t, filepath.Join(examplesDir, ent.Name()))
			checkGolden(t, filepath.Join("testdata", "examples", ent.Name()+".golden"), renderNodes(t, e))
		})
	}
	if n == 0 {
		t.Fatal("no example scenario found under " + examplesDir)
	}
}
