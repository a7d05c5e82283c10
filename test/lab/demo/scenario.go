package demo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// The demo tells its story on examples/three-tier: an ingress controller, web, api, worker and
// database pods in their own namespaces on two nodes, and one policy per tier.
const (
	scenarioDir = "examples/three-tier"
	// invalidPolicy is refused by the validating webhook, with the field it names.
	invalidPolicy = "examples/invalid/port-without-protocol.yaml"
	// operatorNamespace is palisade-controller's namespace (GlobalNetworkPolicy revisions, events).
	operatorNamespace = "palisade-system"
)

// The policies of the story, from the scenario's policy.yaml.
var (
	// immediatePolicy is applied with strategy Immediate: enforced as soon as it is programmed.
	immediatePolicy = policyRef{Namespace: "database", Name: "database-tier"}
	// progressivePolicy is applied with strategy Progressive and short windows: it starts in Audit.
	progressivePolicy = policyRef{Namespace: "frontend", Name: "web-tier"}
)

// The flows whose verdicts the story claims.
var (
	workerToDatabase = flow{From: "backend/worker", To: "database/postgres-0", Port: probe.Port{Port: 5432, Protocol: probe.TCP}}
	apiToDatabase    = flow{From: "backend/api", To: "database/postgres-0", Port: probe.Port{Port: 5432, Protocol: probe.TCP}}
	webToDatabase    = flow{From: "frontend/web", To: "database/postgres-0", Port: probe.Port{Port: 5432, Protocol: probe.TCP}}
	webToWorker      = flow{From: "frontend/web", To: "backend/worker", Port: probe.Port{Port: 9100, Protocol: probe.TCP}}
	webToAPI         = flow{From: "frontend/web", To: "backend/api", Port: probe.Port{Port: 8080, Protocol: probe.TCP}}
	apiToWeb         = flow{From: "backend/api", To: "frontend/web", Port: probe.Port{Port: 80, Protocol: probe.TCP}}
	ingressToWeb     = flow{From: "ingress-nginx/ingress-controller", To: "frontend/web", Port: probe.Port{Port: 80, Protocol: probe.TCP}}
)

// workerMetricsRule is the fix of the progressive policy: web scrapes the worker's metrics.
var workerMetricsRule = map[string]any{
	"action": "Allow", "protocol": "TCP",
	"destination": map[string]any{
		"namespaceSelector": "kubernetes.io/metadata.name == 'backend'",
		"selector":          "tier == 'worker'",
		"ports":             []any{9100},
	},
}

type policyRef struct{ Namespace, Name string }

func (p policyRef) String() string { return p.Namespace + "/" + p.Name }

type flow struct {
	From, To string
	Port     probe.Port
}

func (f flow) String() string { return fmt.Sprintf("%s -> %s:%s", f.From, f.To, f.Port) }

// traceArgs are `kubectl palisade trace`'s flags for the flow.
func (f flow) traceArgs() []string {
	return []string{"--from", f.From, "--to", f.To, "--port", f.Port.String()}
}

// scenario is the example's workload (what the lab builds) and its policies (what the demo
// applies), as parsed YAML objects so that the demo can set their rollout and write them back.
type scenario struct {
	workload *manifest.Set
	policies map[policyRef]map[string]any
}

// loadScenario reads the example from the repository at root. The workload gets two more
// namespaces: the operator's, and "demo", where examples/invalid's policies live.
func loadScenario(root string) (*scenario, error) {
	dir := filepath.Join(root, scenarioDir)
	cluster, err := os.ReadFile(filepath.Join(dir, "cluster.yaml"))
	if err != nil {
		return nil, fmt.Errorf("reading the demo's workload: %w", err)
	}
	var b bytes.Buffer
	b.Write(cluster)
	for _, ns := range []string{operatorNamespace, "demo"} {
		fmt.Fprintf(&b, "\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    kubernetes.io/metadata.name: %s\n", ns, ns)
	}
	workload, err := manifest.Parse(filepath.Join(dir, "cluster.yaml"), b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("parsing the demo's workload: %w", err)
	}
	if err := workload.Err(); err != nil {
		return nil, fmt.Errorf("parsing the demo's workload: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		return nil, fmt.Errorf("reading the demo's policies: %w", err)
	}
	s := &scenario{workload: workload, policies: map[policyRef]map[string]any{}}
	for i, doc := range strings.Split(string(raw), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("%s/policy.yaml, document %d: %w", scenarioDir, i+1, err)
		}
		meta, _ := obj["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		name, _ := meta["name"].(string)
		s.policies[policyRef{Namespace: ns, Name: name}] = obj
	}
	for _, want := range []policyRef{immediatePolicy, progressivePolicy} {
		if s.policies[want] == nil {
			return nil, fmt.Errorf("%s/policy.yaml has no policy %s, which the demo applies", scenarioDir, want)
		}
	}
	return s, nil
}

// policy returns a deep copy of the named policy with spec.rollout set.
func (s *scenario) policy(ref policyRef, rollout map[string]any) (map[string]any, error) {
	b, err := yaml.Marshal(s.policies[ref])
	if err != nil {
		return nil, fmt.Errorf("copying policy %s: %w", ref, err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("copying policy %s: %w", ref, err)
	}
	spec, ok := obj["spec"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("policy %s has no spec", ref)
	}
	spec["rollout"] = rollout
	return obj, nil
}

// addEgressRule appends an egress rule to a policy object from policy.
func addEgressRule(obj map[string]any, rule map[string]any) {
	spec := obj["spec"].(map[string]any)
	egress, _ := spec["egress"].([]any)
	spec["egress"] = append(egress, rule)
}

// writeObject writes obj as YAML into path.
func writeObject(path string, obj map[string]any) error {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return fmt.Errorf("rendering %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// removeEgressRule removes the i-th egress rule of a policy object from policy.
func removeEgressRule(obj map[string]any, i int) {
	spec := obj["spec"].(map[string]any)
	egress, _ := spec["egress"].([]any)
	spec["egress"] = append(egress[:i:i], egress[i+1:]...)
}
