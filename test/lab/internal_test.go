package lab

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/test/lab/topology"
)

func TestNodeKubeconfigPointsAtTheRelay(t *testing.T) {
	admin := []byte(`apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: https://127.0.0.1:38211
    certificate-authority-data: Y2E=
users:
- name: admin
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
contexts:
- name: envtest
  context: {cluster: envtest, user: admin}
current-context: envtest
`)
	out, err := nodeKubeconfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Clusters["envtest"]
	if c.Server != "https://127.0.0.1:6443" || string(c.CertificateAuthorityData) != "ca" {
		t.Errorf("cluster = %s, CA %q; want the relay and the same CA", c.Server, c.CertificateAuthorityData)
	}
	if u := cfg.AuthInfos["admin"]; string(u.ClientCertificateData) != "cert" || string(u.ClientKeyData) != "key" {
		t.Errorf("user credentials changed: %+v", u)
	}
	if cfg.CurrentContext != "envtest" {
		t.Errorf("current context = %q", cfg.CurrentContext)
	}
	if _, err := nodeKubeconfig([]byte("{not yaml")); err == nil {
		t.Error("a broken kubeconfig was accepted")
	}
}

func TestMentions(t *testing.T) {
	dirs := []string{"/tmp/pal-lab-12345678"}
	tests := []struct {
		arg  string
		want bool
	}{
		{"--data-dir=/tmp/pal-lab-12345678/etcd", true},
		{"/tmp/pal-lab-12345678", true},
		{"--cert-dir=/tmp/pal-lab-123456789/apiserver", false}, // another run whose prefix extends this one
		{"/tmp/pal-lab-123456789 and /tmp/pal-lab-12345678/x", true},
		{"--data-dir=/tmp/other", false},
	}
	for _, tt := range tests {
		if got := mentions(tt.arg, dirs); got != tt.want {
			t.Errorf("mentions(%q) = %v, want %v", tt.arg, got, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	data := NodeTemplate{Node: "node-1", NodeIP: "198.19.255.1", PodCIDR: "198.18.0.0/24", Kubeconfig: "/k", Dir: "/d", NetNS: "pal-lab-x-n0"}
	got, err := expandAll([]string{"enforcer", "--kubeconfig={{.Kubeconfig}}", "--node-name", "{{.Node}}", "{{.NodeIP}},{{.PodCIDR}},{{.Dir}},{{.NetNS}}"}, data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"enforcer", "--kubeconfig=/k", "--node-name", "node-1", "198.19.255.1,198.18.0.0/24,/d,pal-lab-x-n0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expandAll (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"{{.Nope}}", "{{"} {
		if _, err := expand(bad, data); err == nil || !strings.Contains(err.Error(), "node process template") {
			t.Errorf("expand(%q) error = %v", bad, err)
		}
	}
}

func TestObjectSet(t *testing.T) {
	parse := func(yaml string) *manifest.Set {
		t.Helper()
		set, err := manifest.Parse("m.yaml", []byte(yaml))
		if err != nil || set.Err() != nil {
			t.Fatalf("parsing: %v %v", err, set.Err())
		}
		return set
	}
	set := parse(`apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: x, namespace: a}
spec:
  nodeName: n9
  initContainers: [{name: i, image: i, ports: [{containerPort: 9}]}]
  containers: [{name: c, image: c, ports: [{containerPort: 81}, {containerPort: 80, protocol: UDP}, {containerPort: 80}]}]
status: {podIP: 198.18.9.9}
---
apiVersion: v1
kind: Pod
metadata: {name: w}
spec: {containers: [{name: c, image: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: b}
spec: {podSelector: {}}
`)
	o, err := newObjectSet(set)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ns := range o.namespaces {
		names = append(names, ns.Name)
	}
	if diff := cmp.Diff([]string{"a", "default", "b"}, names); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]uint16{"a/x": {9, 80, 81}, "default/w": nil}, o.declaredPorts()); diff != "" {
		t.Errorf("declared ports (-want +got):\n%s", diff)
	}
	reqs := o.podRequests()
	if len(reqs) != 2 || reqs[0].Ref != "a/x" || reqs[0].Node != "n9" || reqs[0].IP.String() != "198.18.9.9" || reqs[1].IP.IsValid() {
		t.Errorf("pod requests = %+v", reqs)
	}

	dup := parse(`apiVersion: v1
kind: Pod
metadata: {name: x}
spec: {containers: [{name: c, image: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: x, namespace: default}
spec: {containers: [{name: c, image: c}]}
`)
	if _, err := newObjectSet(dup); err == nil || !strings.Contains(err.Error(), "pod default/x is defined twice") {
		t.Errorf("duplicate pod: error = %v", err)
	}
	bad := parse(`apiVersion: v1
kind: Pod
metadata: {name: x}
spec: {containers: [{name: c, image: c}]}
status: {podIP: not-an-ip}
`)
	if _, err := newObjectSet(bad); err == nil || !strings.Contains(err.Error(), "status.podIP") {
		t.Errorf("bad IP: error = %v", err)
	}
}

func TestEndpointSlices(t *testing.T) {
	set, err := manifest.Parse("m.yaml", []byte(`apiVersion: v1
kind: Service
metadata: {name: api, namespace: a}
spec:
  selector: {app: api}
  ports:
  - {name: https, port: 443, targetPort: https}
  - {name: metrics, port: 9102, targetPort: 9102}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: a, labels: {app: api}}
spec: {containers: [{name: c, image: c, ports: [{name: https, containerPort: 8443}]}]}
status: {podIP: 198.18.9.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: a, labels: {app: api}}
spec: {nodeName: n2, containers: [{name: c, image: c, ports: [{name: https, containerPort: 9443}]}]}
status: {podIP: 198.18.9.2}
---
apiVersion: v1
kind: Pod
metadata: {name: api-2, namespace: a, labels: {app: api}}
spec: {containers: [{name: c, image: c, ports: [{name: https, containerPort: 8443}]}]}
status: {podIP: 198.18.9.3}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: b, labels: {app: api}}
spec: {containers: [{name: c, image: c}]}
`))
	if err != nil || set.Err() != nil {
		t.Fatalf("parsing: %v %v", err, set.Err())
	}
	o, err := newObjectSet(set)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := topology.Build(2, o.podRequests())
	if err != nil {
		t.Fatal(err)
	}
	l := &Lab{Plan: plan, objects: o}
	var got []string
	for _, s := range l.endpointSlices(o.services[0]) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s/%s %v ports:", s.Namespace, s.Name, s.Labels)
		for _, p := range s.Ports {
			fmt.Fprintf(&b, " %s=%d/%s", *p.Name, *p.Port, *p.Protocol)
		}
		b.WriteString(" endpoints:")
		for _, e := range s.Endpoints {
			fmt.Fprintf(&b, " %s@%s(%s)", e.Addresses[0], *e.NodeName, e.TargetRef.Name)
		}
		got = append(got, b.String())
	}
	want := []string{
		"a/api-lab-0 map[endpointslice.kubernetes.io/managed-by:palisade-lab kubernetes.io/service-name:api] ports: https=8443/TCP metrics=9102/TCP endpoints: 198.18.9.1@n2(api-0) 198.18.9.3@node-1(api-2)",
		"a/api-lab-1 map[endpointslice.kubernetes.io/managed-by:palisade-lab kubernetes.io/service-name:api] ports: https=9443/TCP metrics=9102/TCP endpoints: 198.18.9.2@n2(api-1)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoint slices (-want +got):\n%s", diff)
	}
}
