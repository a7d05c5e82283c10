package suggest

import (
	"net/netip"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/validation"
)

func np(ns, sel string, types []v1alpha1.PolicyType, ingress, egress []v1alpha1.Rule) Policy {
	p := &v1alpha1.NetworkPolicy{}
	p.Namespace, p.Name = ns, "candidate"
	p.Spec.Selector, p.Spec.Types, p.Spec.Ingress, p.Spec.Egress = sel, types, ingress, egress
	return Policy{NetworkPolicy: p}
}

func gnp(sel string, types []v1alpha1.PolicyType) Policy {
	p := &v1alpha1.GlobalNetworkPolicy{}
	p.Name = "candidate"
	p.Spec.Selector, p.Spec.Types = sel, types
	return Policy{GlobalNetworkPolicy: p}
}

func pod(ns, name string, kv ...string) Peer {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return Peer{Pod: &Pod{Namespace: ns, Name: name, Labels: l}}
}

func addr(s string) Peer { return Peer{Addr: netip.MustParseAddr(s)} }

var (
	ingress = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}
	egress  = []v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}
	both    = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress}
)

func TestFor(t *testing.T) {
	tcp := v1alpha1.ProtocolFromString("TCP")
	denyWeb := []v1alpha1.Rule{{Action: v1alpha1.Deny, Protocol: &tcp, Source: v1alpha1.EntityRule{Selector: "app == 'web'"}}}
	web := pod("shop", "web-7d9f-abcde", "app", "web", "pod-template-hash", "7d9f")
	db := pod("shop", "db-0", "app", "db", "statefulset.kubernetes.io/pod-name", "db-0")
	tests := []struct {
		name   string
		policy Policy
		flow   Flow
		// want is the suggestion as YAML, compared whole; "" when no rule is expected.
		want string
		note string
	}{{
		name:   "same-namespace peer by its stable labels, no namespace selector",
		policy: np("shop", "app == 'db'", ingress, nil, nil),
		flow:   Flow{Source: web, Destination: db, Protocol: "TCP", Port: 5432},
		want: `- direction: Ingress
  rule:
    action: Allow
    destination:
      ports:
      - 5432
    protocol: TCP
    source:
      selector: app == 'web'
`,
	}, {
		name:   "cross-namespace peer pinned by kubernetes.io/metadata.name",
		policy: np("shop", "app == 'db'", ingress, nil, nil),
		flow: Flow{Source: pod("monitoring", "prom-0", "app.kubernetes.io/name", "prometheus", "app.kubernetes.io/instance", "k8s",
			"controller-revision-hash", "abc", "team", "obs"), Destination: db, Protocol: "TCP", Port: 9187},
		want: `- direction: Ingress
  rule:
    action: Allow
    destination:
      ports:
      - 9187
    protocol: TCP
    source:
      namespaceSelector: kubernetes.io/metadata.name == 'monitoring'
      selector: app.kubernetes.io/instance == 'k8s' && app.kubernetes.io/name == 'prometheus'
`,
	}, {
		name:   "egress to an address: a /32",
		policy: np("shop", "app == 'web'", egress, nil, nil),
		flow:   Flow{Source: web, Destination: addr("203.0.113.7"), Protocol: "TCP", Port: 443},
		want: `- direction: Egress
  rule:
    action: Allow
    destination:
      nets:
      - 203.0.113.7/32
      ports:
      - 443
    protocol: TCP
`,
	}, {
		name:   "ingress from an IPv6 address over UDP: a /128",
		policy: np("shop", "app == 'db'", ingress, nil, nil),
		flow:   Flow{Source: addr("2001:db8::9"), Destination: db, Protocol: "UDP", Port: 53},
		want: `- direction: Ingress
  rule:
    action: Allow
    destination:
      ports:
      - 53
    protocol: UDP
    source:
      nets:
      - 2001:db8::9/128
`,
	}, {
		name:   "a global policy denying at both ends: two rules, namespaces always pinned",
		policy: gnp("all()", both),
		flow:   Flow{Source: web, Destination: db, Protocol: "TCP", Port: 5432},
		want: `- direction: Egress
  rule:
    action: Allow
    destination:
      namespaceSelector: kubernetes.io/metadata.name == 'shop'
      ports:
      - 5432
      selector: app == 'db'
    protocol: TCP
- direction: Ingress
  rule:
    action: Allow
    destination:
      ports:
      - 5432
    protocol: TCP
    source:
      namespaceSelector: kubernetes.io/metadata.name == 'shop'
      selector: app == 'web'
`,
	}, {
		name:   "an explicit Deny rule: the suggestion goes before it",
		policy: np("shop", "app == 'db'", ingress, denyWeb, nil),
		flow:   Flow{Source: web, Destination: db, Protocol: "TCP", Port: 5432},
		want: `- direction: Ingress
  rule:
    action: Allow
    destination:
      ports:
      - 5432
    protocol: TCP
    source:
      selector: app == 'web'
`,
	}, {
		name:   "ICMP: no ports",
		policy: np("shop", "app == 'db'", ingress, nil, nil),
		flow:   Flow{Source: web, Destination: db, Protocol: "ICMP"},
		want: `- direction: Ingress
  rule:
    action: Allow
    protocol: ICMP
    source:
      selector: app == 'web'
`,
	}, {
		name:   "a pod with only volatile labels: all() in its namespace, said in the note",
		policy: np("shop", "app == 'db'", ingress, nil, nil),
		flow:   Flow{Source: pod("batch", "job-x-1", "job-name", "job-x", "controller-uid", "u"), Destination: db, Protocol: "TCP", Port: 5432},
		want: `- direction: Ingress
  rule:
    action: Allow
    destination:
      ports:
      - 5432
    protocol: TCP
    source:
      namespaceSelector: kubernetes.io/metadata.name == 'batch'
      selector: all()
`,
		note: "pod batch/job-x-1 has no labels to select it by: the rule allows every pod of namespace batch",
	}, {
		name:   "without preferred labels, every label but the volatile ones",
		policy: np("shop", "app == 'db'", ingress, nil, nil),
		flow:   Flow{Source: pod("shop", "w", "tier", "front", "pod-template-hash", "x"), Destination: db, Protocol: "SCTP", Port: 7},
		want: `- direction: Ingress
  rule:
    action: Allow
    destination:
      ports:
      - 7
    protocol: SCTP
    source:
      selector: tier == 'front'
`,
	}, {
		name:   "a flow the policy allows: no rule, a note",
		policy: np("shop", "app == 'other'", ingress, nil, nil),
		flow:   Flow{Source: web, Destination: db, Protocol: "TCP", Port: 5432},
		note:   NoteAllowed,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.policy.deepCopy()
			res, err := For(tc.policy, tc.flow, nil)
			if err != nil {
				t.Fatalf("For: %v", err)
			}
			if res.Note != tc.note {
				t.Errorf("note = %q, want %q", res.Note, tc.note)
			}
			got := ""
			if len(res.Rules) > 0 {
				b, err := yaml.Marshal(res.Rules)
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			if got != tc.want {
				t.Errorf("suggestion:\n%s\nwant:\n%s", got, tc.want)
			}
			if !equalPolicy(before, tc.policy) {
				t.Error("For changed the policy it was given")
			}
			if len(res.Rules) > 0 {
				checkAllows(t, tc.policy, tc.flow, res.Rules)
			}
		})
	}
}

func equalPolicy(a, b Policy) bool {
	ya, _ := yaml.Marshal(a)
	yb, _ := yaml.Marshal(b)
	return string(ya) == string(yb)
}

// checkAllows pastes the rules into the policy as a user would, checks the result with admission's
// validation, and checks with the engine — loaded independently of For, with other addresses for
// the pods and a bystander pod — that the flow is denied before and allowed after, and that the
// bystander is not let in by it.
func checkAllows(t *testing.T, p Policy, f Flow, rules []v1alpha1.SuggestedRule) {
	t.Helper()
	pasted := p.deepCopy()
	for i := len(rules) - 1; i >= 0; i-- {
		pasted.prepend(rules[i].Direction, rules[i].Rule)
	}
	if errs := pasted.validate(); len(errs) > 0 {
		t.Fatalf("the pasted policy fails validation: %v", errs.ToAggregate())
	}
	if err, _ := validation.ValidatePolicySpec(pasted.spec(), p.NetworkPolicy != nil, nil); len(err) > 0 {
		t.Fatalf("the pasted spec fails validation: %v", err)
	}
	evaluate := func(pol Policy, srcOverride *Pod) bool {
		e := engine.New()
		ips := map[string]netip.Addr{}
		load := func(peer Peer, a string) netip.Addr {
			if peer.Pod == nil {
				return peer.Addr
			}
			ip := netip.MustParseAddr(a)
			if peer.Addr.Is6() || f.Source.Addr.Is6() || f.Destination.Addr.Is6() {
				ip = netip.MustParseAddr("fd00::" + strings.ReplaceAll(a, ".", ":"))
			}
			_ = e.UpsertNamespace(engine.Namespace{Name: peer.Pod.Namespace})
			if err := e.UpsertPod(engine.Endpoint{Namespace: peer.Pod.Namespace, Name: peer.Pod.Name, Labels: peer.Pod.Labels,
				ServiceAccount: "default", IPs: []netip.Addr{ip}}); err != nil {
				t.Fatal(err)
			}
			ips[peer.String()] = ip
			return ip
		}
		src := f.Source
		if srcOverride != nil {
			src = Peer{Pod: srcOverride}
		}
		s := load(src, "10.9.0.1")
		d := load(f.Destination, "10.9.0.2")
		if err := pol.upsert(e); err != nil {
			t.Fatal(err)
		}
		proto, _ := v1alpha1.ProtocolFromString(f.Protocol).Number()
		fl := engine.Flow{Src: s, Dst: d, Protocol: proto, SrcPort: 1234, DstPort: uint16(f.Port)}
		if proto == engine.ProtoICMP {
			fl.DstPort, fl.ICMP = 0, &engine.ICMPMatch{Type: 8}
		}
		ok, err := e.Allowed(fl, engine.EnforcedOnly)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if evaluate(p, nil) {
		t.Fatal("the policy already allows the flow: the test proves nothing")
	}
	if !evaluate(pasted, nil) {
		t.Fatal("the engine still denies the flow with the suggested rules pasted")
	}
	if f.Source.Pod != nil && len(stableLabels(f.Source.Pod.Labels)) > 0 {
		other := &Pod{Namespace: f.Source.Pod.Namespace, Name: "bystander", Labels: map[string]string{"app": "bystander"}}
		if evaluate(pasted, other) && !evaluate(p, other) {
			t.Error("the suggested rules also let in a pod with other labels")
		}
	}
}

func TestForErrors(t *testing.T) {
	db := pod("shop", "db-0", "app", "db")
	p := np("shop", "app == 'db'", ingress, nil, nil)
	for name, tc := range map[string]struct {
		policy Policy
		flow   Flow
		want   string
	}{
		"unknown protocol":  {p, Flow{Source: addr("10.0.0.1"), Destination: db, Protocol: "tcp", Port: 80}, "protocol"},
		"port out of range": {p, Flow{Source: addr("10.0.0.1"), Destination: db, Protocol: "TCP", Port: 70000}, "port 70000"},
		"no policy":         {Policy{}, Flow{Source: addr("10.0.0.1"), Destination: db, Protocol: "TCP", Port: 80}, "exactly one"},
		"empty flow end":    {p, Flow{Destination: db, Protocol: "TCP", Port: 80}, "source"},
		"mixed families": {p, Flow{Source: addr("10.0.0.1"), Destination: addr("2001:db8::1"), Protocol: "TCP", Port: 80},
			"mixes IPv4 and IPv6"},
		"ICMP over IPv6 addresses": {p, Flow{Source: addr("2001:db8::1"), Destination: db, Protocol: "ICMP"}, "address family"},
		"a policy that does not compile": {np("shop", "app ==", ingress, nil, nil),
			Flow{Source: addr("10.0.0.1"), Destination: db, Protocol: "TCP", Port: 80}, "loading the policy"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := For(tc.policy, tc.flow, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParsePeer(t *testing.T) {
	for in, want := range map[string]string{
		"shop/web":       "shop web",
		"10.0.0.1":       "10.0.0.1",
		"::ffff:1.2.3.4": "1.2.3.4",
		"2001:db8::1":    "2001:db8::1",
		"web":            "error",
		"/web":           "error",
		"a/b/c":          "error",
		"":               "error",
	} {
		ns, name, a, err := ParsePeer(in)
		got := ns + " " + name
		switch {
		case err != nil:
			got = "error"
		case a.IsValid():
			got = a.String()
		}
		if got != want {
			t.Errorf("ParsePeer(%q) = %q, want %q", in, got, want)
		}
	}
}
