package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestLintStrict(t *testing.T) {
	cases := map[string]map[string]any{"defaults": nil}
	for name, vals := range examples(t) {
		cases[name] = vals
	}
	for name, vals := range cases {
		for _, kube := range []string{newKube, legacyKube} {
			t.Run(name+"/"+kube, func(t *testing.T) {
				kv, err := common.ParseKubeVersion(kube)
				if err != nil {
					t.Fatal(err)
				}
				lint := action.NewLint()
				lint.Strict = true
				lint.Namespace = releaseNS
				lint.KubeVersion = kv
				res := lint.Run([]string{chartDir}, vals)
				for _, m := range res.Messages {
					t.Logf("lint: %s", m)
				}
				if len(res.Errors) > 0 || action.HasWarningsOrErrors(res) {
					t.Fatalf("helm lint --strict: %v", res.Errors)
				}
			})
		}
	}
}

// Rendering twice gives the same bytes, and no template calls a random or time-based function.
func TestRenderIsDeterministic(t *testing.T) {
	for name, vals := range map[string]map[string]any{"defaults": nil, "cert-manager": examples(t)["cert-manager.yaml"]} {
		a, err := render(vals, newKube)
		if err != nil {
			t.Fatal(err)
		}
		b, err := render(vals, newKube)
		if err != nil {
			t.Fatal(err)
		}
		for file, content := range a.files {
			if b.files[file] != content {
				t.Errorf("%s: %s renders differently twice", name, file)
			}
		}
	}
	forbidden := regexp.MustCompile(`\b(now|date|dateInZone|unixEpoch|randAlpha|randAlphaNum|randNumeric|randAscii|randBytes|randInt|uuidv4|genCA|genCAWithKey|genPrivateKey|genSelfSignedCert|genSelfSignedCertWithKey|genSignedCert|genSignedCertWithKey|lookup)\b`)
	templates, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range templates {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Template comments ({{/* ... */}}) may name the functions to say they are not used.
		code := regexp.MustCompile(`(?s)\{\{-?\s*/\*.*?\*/\s*-?\}\}`).ReplaceAllString(string(raw), "")
		for _, action := range regexp.MustCompile(`\{\{[^}]*\}\}`).FindAllString(code, -1) {
			if fn := forbidden.FindString(action); fn != "" {
				t.Errorf("%s calls %s in %s: templates must render the same bytes every time", path, fn, action)
			}
		}
	}
}

func TestRenderDefaultsAndExamples(t *testing.T) {
	cases := map[string]map[string]any{"defaults": nil}
	for name, vals := range examples(t) {
		cases[name] = vals
	}
	for name, vals := range cases {
		for _, kube := range []string{newKube, legacyKube} {
			t.Run(name+"/"+kube, func(t *testing.T) {
				r, err := render(vals, kube)
				if err != nil {
					t.Fatal(err)
				}
				deploy := r.mustFind(t, "Deployment", "palisade-controller")
				r.mustFind(t, "ValidatingWebhookConfiguration", "palisade-validating-webhook-configuration")
				r.mustFind(t, "ClusterRole", "palisade-manager")
				r.mustFind(t, "Role", "palisade-manager")
				r.mustFind(t, "Service", "palisade-webhook-service")
				r.mustFind(t, "Service", "palisade-controller-metrics")
				if _, ok := r.files["palisade/templates/NOTES.txt"]; !ok {
					t.Error("no NOTES.txt rendered")
				}
				for _, o := range r.objects {
					if ns := o.GetNamespace(); ns != "" && ns != releaseNS {
						t.Errorf("%s/%s in namespace %q, want the release namespace", o.GetKind(), o.GetName(), ns)
					}
					if o.GetLabels()["app.kubernetes.io/part-of"] != "palisade" {
						t.Errorf("%s/%s lacks the part-of label", o.GetKind(), o.GetName())
					}
				}
				args := containerArgs(t, deploy)
				apiServer := kube == newKube && !strings.Contains(name, "webhook-defaulting")
				if got := r.find("MutatingAdmissionPolicy", "palisade-policy-defaults") != nil; got != apiServer {
					t.Errorf("MutatingAdmissionPolicy rendered: %v, want %v", got, apiServer)
				}
				if got := r.find("MutatingAdmissionPolicyBinding", "palisade-policy-defaults") != nil; got != apiServer {
					t.Errorf("MutatingAdmissionPolicyBinding rendered: %v, want %v", got, apiServer)
				}
				if got := r.find("MutatingWebhookConfiguration", "palisade-mutating-webhook-configuration") != nil; got == apiServer {
					t.Errorf("MutatingWebhookConfiguration rendered: %v, want %v", got, !apiServer)
				}
				if got := slices.Contains(args, "--mutating-webhook-configuration="); got != apiServer {
					t.Errorf("controller told there is no mutating configuration: %v, want %v (args %v)", got, apiServer, args)
				}
			})
		}
	}
}

func TestDefaultsDeployment(t *testing.T) {
	r, err := render(nil, newKube)
	if err != nil {
		t.Fatal(err)
	}
	deploy := r.mustFind(t, "Deployment", "palisade-controller")
	if n, _, _ := unstructured.NestedInt64(deploy.Object, "spec", "replicas"); n != 2 {
		t.Errorf("controller replicas %d, want 2", n)
	}
	if !slices.Contains(containerArgs(t, deploy), "--leader-elect") {
		t.Error("controller runs without --leader-elect")
	}
	spread, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "topologySpreadConstraints")
	if len(spread) == 0 {
		t.Error("controller has no topology spread constraints")
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if _, ok, _ := unstructured.NestedMap(containers(t, deploy)[0], probe); !ok {
			t.Errorf("controller has no %s", probe)
		}
	}
	if _, ok, _ := unstructured.NestedMap(containers(t, deploy)[0], "resources", "requests"); !ok {
		t.Error("controller has no resource requests")
	}
	pdb := r.mustFind(t, "PodDisruptionBudget", "palisade-controller")
	if n, _, _ := unstructured.NestedInt64(pdb.Object, "spec", "minAvailable"); n != 1 {
		t.Errorf("PDB minAvailable %d, want 1", n)
	}
	r.mustFind(t, "Secret", "palisade-webhook-server-cert")
	if data, ok := r.mustFind(t, "Secret", "palisade-webhook-server-cert").Object["data"]; ok {
		t.Errorf("the chart fills the certificate Secret (%v): the controller must", data)
	}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "Certificate", "Issuer"} {
		if o := r.find(kind, "palisade"); o != nil {
			t.Errorf("%s rendered by default", kind)
		}
	}
}

func TestEnforcerDaemonSet(t *testing.T) {
	r, err := render(nil, newKube)
	if err != nil {
		t.Fatal(err)
	}
	ds := r.mustFind(t, "DaemonSet", "palisade-enforcer")
	spec, _, _ := unstructured.NestedMap(ds.Object, "spec", "template", "spec")
	if spec["hostNetwork"] != true {
		t.Error("enforcer not on the host network")
	}
	if spec["priorityClassName"] != "system-node-critical" {
		t.Errorf("priorityClassName %v", spec["priorityClassName"])
	}
	tolerations, _, _ := unstructured.NestedSlice(spec, "tolerations")
	tolerateAll := false
	for _, tol := range tolerations {
		m := tol.(map[string]any)
		if m["operator"] == "Exists" && m["key"] == nil && m["effect"] == nil {
			tolerateAll = true
		}
	}
	if !tolerateAll {
		t.Errorf("enforcer does not tolerate every taint: %v", tolerations)
	}
	if typ, _, _ := unstructured.NestedString(ds.Object, "spec", "updateStrategy", "type"); typ != "RollingUpdate" {
		t.Errorf("update strategy %q", typ)
	}
	if mu, ok, _ := unstructured.NestedFieldNoCopy(ds.Object, "spec", "updateStrategy", "rollingUpdate", "maxUnavailable"); !ok || mu == nil {
		t.Error("no maxUnavailable")
	}
	c := containers(t, ds)[0]
	wantArgs := []string{"run", "--node-name=$(NODE_NAME)", "--health-addr=:9101", "--metrics-addr=:9102"}
	if args := stringSlice(c["args"]); len(args) < 4 || !slices.Equal(args[:4], wantArgs) {
		t.Errorf("enforcer args %v, want to start with %v", args, wantArgs)
	}
	env, _, _ := unstructured.NestedSlice(c, "env")
	nodeName := false
	for _, e := range env {
		m := e.(map[string]any)
		if p, _, _ := unstructured.NestedString(m, "valueFrom", "fieldRef", "fieldPath"); m["name"] == "NODE_NAME" && p == "spec.nodeName" {
			nodeName = true
		}
	}
	if !nodeName {
		t.Errorf("NODE_NAME is not from the downward API: %v", env)
	}
	sc, _, _ := unstructured.NestedMap(c, "securityContext")
	if sc["privileged"] == true {
		t.Error("enforcer is privileged")
	}
	added, _, _ := unstructured.NestedStringSlice(sc, "capabilities", "add")
	if !slices.Equal(added, []string{"NET_ADMIN", "NET_RAW"}) {
		t.Errorf("capabilities added %v, want NET_ADMIN and NET_RAW", added)
	}
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	vols, _, _ := unstructured.NestedSlice(spec, "volumes")
	if len(mounts) != 1 || mounts[0].(map[string]any)["mountPath"] != "/run/xtables.lock" {
		t.Errorf("volume mounts %v, want /run/xtables.lock", mounts)
	}
	if p, _, _ := unstructured.NestedString(vols[0].(map[string]any), "hostPath", "path"); p != "/run/xtables.lock" {
		t.Errorf("volume %v is not the host's /run/xtables.lock", vols[0])
	}
	if sa, _, _ := unstructured.NestedString(spec, "serviceAccountName"); sa != "palisade-enforcer" {
		t.Errorf("enforcer service account %q", sa)
	}
	role := r.mustFind(t, "ClusterRole", "palisade-enforcer")
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	can := func(group, resource, verb string) bool {
		for _, rule := range rules {
			m := rule.(map[string]any)
			if slices.Contains(stringSlice(m["apiGroups"]), group) && slices.Contains(stringSlice(m["resources"]), resource) && slices.Contains(stringSlice(m["verbs"]), verb) {
				return true
			}
		}
		return false
	}
	for _, want := range [][3]string{
		{"", "pods", "watch"}, {"", "namespaces", "watch"}, {"", "serviceaccounts", "watch"}, {"", "nodes", "watch"},
		{"discovery.k8s.io", "endpointslices", "watch"}, {"networking.k8s.io", "networkpolicies", "watch"},
		{"policy.palisade.dev", "networkpolicies", "watch"}, {"policy.palisade.dev", "globalnetworkpolicies", "watch"},
		{"policy.palisade.dev", "nodereports", "create"}, {"policy.palisade.dev", "nodereports", "update"},
		{"apps", "controllerrevisions", "watch"},
	} {
		if !can(want[0], want[1], want[2]) {
			t.Errorf("enforcer may not %s %s.%s", want[2], want[1], want[0])
		}
	}
	if can("", "secrets", "get") {
		t.Error("enforcer may read secrets")
	}

	off, err := render(examples(t)["controller-only.yaml"], newKube)
	if err != nil {
		t.Fatal(err)
	}
	if off.find("DaemonSet", "palisade-enforcer") != nil || off.find("ClusterRole", "palisade-enforcer") != nil {
		t.Error("enforcer.enabled=false still renders the enforcer")
	}
}

func TestCertManagerMode(t *testing.T) {
	r, err := render(map[string]any{"certificates": map[string]any{"mode": "cert-manager"}}, legacyKube)
	if err != nil {
		t.Fatal(err)
	}
	if r.find("Secret", "palisade-webhook-server-cert") != nil {
		t.Error("cert-manager mode renders the self-managed Secret")
	}
	r.mustFind(t, "Issuer", "palisade-selfsigned-issuer")
	cert := r.mustFind(t, "Certificate", "palisade-webhook-serving-cert")
	names, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if !slices.Contains(names, "palisade-webhook-service.palisade-system.svc") {
		t.Errorf("certificate dnsNames %v", names)
	}
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		name := "palisade-validating-webhook-configuration"
		if kind == "MutatingWebhookConfiguration" {
			name = "palisade-mutating-webhook-configuration"
		}
		if got := r.mustFind(t, kind, name).GetAnnotations()["cert-manager.io/inject-ca-from"]; got != "palisade-system/palisade-webhook-serving-cert" {
			t.Errorf("%s inject-ca-from %q", kind, got)
		}
	}
	if !slices.Contains(containerArgs(t, r.mustFind(t, "Deployment", "palisade-controller")), "--cert-source=cert-manager") {
		t.Error("controller not told cert-manager provides the certificate")
	}
	// An issuer of one's own: no Issuer rendered, the Certificate points at it.
	r, err = render(examples(t)["cert-manager.yaml"], newKube)
	if err != nil {
		t.Fatal(err)
	}
	if r.find("Issuer", "palisade-selfsigned-issuer") != nil {
		t.Error("self-signed Issuer rendered although issuerRef names one")
	}
	if kind, _, _ := unstructured.NestedString(r.mustFind(t, "Certificate", "palisade-webhook-serving-cert").Object, "spec", "issuerRef", "kind"); kind != "ClusterIssuer" {
		t.Errorf("issuerRef kind %q", kind)
	}
}

func TestMonitoring(t *testing.T) {
	r, err := render(examples(t)["monitoring.yaml"], newKube)
	if err != nil {
		t.Fatal(err)
	}
	sm := r.mustFind(t, "ServiceMonitor", "palisade")
	if sm.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels %v", sm.GetLabels())
	}
	rule := r.mustFind(t, "PrometheusRule", "palisade")
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	var alerts []string
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, rr := range rules {
			alerts = append(alerts, rr.(map[string]any)["alert"].(string))
		}
	}
	for _, want := range []string{"PalisadeRolloutSteppedBack", "PalisadeEnforcerSyncErrors", "PalisadeNodeReportStale"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s in %v", want, alerts)
		}
	}
	// Prometheus templates survive Helm's: the description keeps {{ $labels.node }}.
	if !strings.Contains(r.files["palisade/templates/monitoring.yaml"], "{{ $labels.node }}") {
		t.Error("alert descriptions lost their Prometheus templates")
	}
	// Both metrics Services carry the label the ServiceMonitor selects.
	for _, name := range []string{"palisade-controller-metrics", "palisade-enforcer-metrics"} {
		if r.mustFind(t, "Service", name).GetLabels()["palisade.dev/metrics"] != "true" {
			t.Errorf("Service %s is not selected by the ServiceMonitor", name)
		}
	}
}

func TestSchemaRejectsBadValues(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"unknown top-level key":   {"controler": map[string]any{"replicas": 2}},
		"unknown nested key":      {"controller": map[string]any{"replica": 2}},
		"unknown key deep inside": {"certificates": map[string]any{"certManager": map[string]any{"issuerRef": map[string]any{"nam": "x"}}}},
		"wrong type":              {"controller": map[string]any{"replicas": "two"}},
		"wrong type of boolean":   {"enforcer": map[string]any{"enabled": "yes"}},
		"value outside the enum":  {"certificates": map[string]any{"mode": "vault"}},
		"bad maxUnavailable":      {"enforcer": map[string]any{"maxUnavailable": "ten"}},
		"unknown resource":        {"controller": map[string]any{"resources": map[string]any{"limits": map[string]any{"gpu": 1}}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := render(vals, newKube); err == nil {
				t.Fatalf("values %v accepted", vals)
			} else if !strings.Contains(err.Error(), "schema") {
				t.Fatalf("refused, but not by the schema: %v", err)
			}
		})
	}
}

func containers(t *testing.T, o *unstructured.Unstructured) []map[string]any {
	t.Helper()
	cs, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	if err != nil || len(cs) == 0 {
		t.Fatalf("%s/%s has no containers (%v)", o.GetKind(), o.GetName(), err)
	}
	out := make([]map[string]any, len(cs))
	for i, c := range cs {
		out[i] = c.(map[string]any)
	}
	return out
}

func containerArgs(t *testing.T, o *unstructured.Unstructured) []string {
	t.Helper()
	return stringSlice(containers(t, o)[0]["args"])
}

func stringSlice(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, s := range l {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}
