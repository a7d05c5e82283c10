package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

func testScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func view(t testing.TB, objs ...client.Object) *ClusterView {
	t.Helper()
	return &ClusterView{Reader: fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...).Build()}
}

func webPod(ns, name string, ports ...corev1.ContainerPort) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "c", Ports: ports}}},
	}
}

func policy(tweak func(*v1alpha1.NetworkPolicy)) *v1alpha1.NetworkPolicy {
	p := &v1alpha1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "p"},
		Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{
			Order:    ptr.To(10.0),
			Selector: "app == 'web'",
			Ingress: []v1alpha1.Rule{{
				Action:      v1alpha1.Allow,
				Protocol:    ptr.To(v1alpha1.ProtocolFromString("TCP")),
				Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromString("http")}},
			}},
		}},
	}
	if tweak != nil {
		tweak(p)
	}
	return p
}

func causeFields(t *testing.T, err error) []string {
	t.Helper()
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !asStatus(err, &status) {
		t.Fatalf("error %v: want an Invalid status error", err)
	}
	d := status.Status().Details
	if d == nil {
		t.Fatalf("Invalid error without details: %v", err)
	}
	var fields []string
	for _, c := range d.Causes {
		fields = append(fields, c.Field)
	}
	return fields
}

func asStatus(err error, out *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	*out = s
	return ok
}

func TestNetworkPolicyValidate(t *testing.T) {
	ctx := context.Background()
	w := &NetworkPolicyWebhook{View: view(t, webPod("shop", "web-1", corev1.ContainerPort{Name: "http", ContainerPort: 80}))}

	warns, err := w.ValidateCreate(ctx, policy(nil))
	if err != nil || len(warns) != 0 {
		t.Errorf("valid policy: warnings %q, error %v; want none", warns, err)
	}

	bad := policy(func(p *v1alpha1.NetworkPolicy) {
		p.Spec.Ingress[0].Protocol = ptr.To(v1alpha1.ProtocolFromString("tcp"))
		p.Spec.Egress = []v1alpha1.Rule{{Action: v1alpha1.Allow, Destination: v1alpha1.EntityRule{Nets: []string{"10.0.0.1"}}}}
	})
	_, err = w.ValidateCreate(ctx, bad)
	if diff := cmp.Diff([]string{"spec.ingress[0].protocol", "spec.egress[0].destination.nets[0]"}, causeFields(t, err)); diff != "" {
		t.Errorf("cause fields (-want +got):\n%s", diff)
	}
	if d := err.(apierrors.APIStatus).Status().Details; d.Kind != "NetworkPolicy" || d.Group != "policy.palisade.dev" || d.Name != "p" {
		t.Errorf("details = %s %s %q; want NetworkPolicy policy.palisade.dev \"p\"", d.Kind, d.Group, d.Name)
	}

	// Cluster findings arrive as warnings.
	noPort := policy(func(p *v1alpha1.NetworkPolicy) {
		p.Spec.Ingress[0].Destination.Ports[0] = v1alpha1.PortFromString("grpc")
	})
	warns, err = w.ValidateCreate(ctx, noPort)
	if err != nil {
		t.Fatal(err)
	}
	want := admission.Warnings{`spec.ingress[0].destination.ports[0]: no pod in namespace "shop" matching app == 'web' declares TCP port "grpc"`}
	if diff := cmp.Diff(want, warns); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}

	// An update that leaves the spec alone passes, even for a spec that no longer validates.
	if warns, err := w.ValidateUpdate(ctx, bad, bad.DeepCopy()); err != nil || warns != nil {
		t.Errorf("metadata-only update of an invalid object: %q, %v; want nil, nil", warns, err)
	}
	if _, err := w.ValidateUpdate(ctx, policy(nil), bad); !apierrors.IsInvalid(err) {
		t.Errorf("update to an invalid spec: %v; want Invalid", err)
	}
}

func TestGlobalNetworkPolicyValidate(t *testing.T) {
	ctx := context.Background()
	w := &GlobalNetworkPolicyWebhook{View: view(t)}
	p := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "g"}}
	p.Spec.Order = ptr.To(1.0)
	p.Spec.PreDNAT = true // needs applyOnForward
	_, err := w.ValidateCreate(ctx, p)
	if !apierrors.IsInvalid(err) {
		t.Fatalf("preDNAT without applyOnForward: %v; want Invalid", err)
	}
	if d := err.(apierrors.APIStatus).Status().Details; d.Kind != "GlobalNetworkPolicy" || len(d.Causes) == 0 {
		t.Errorf("details = %+v; want kind GlobalNetworkPolicy with causes", d)
	}
	bad := p.DeepCopy()
	p.Spec.ApplyOnForward = true
	if warns, err := w.ValidateCreate(ctx, p); err != nil || len(warns) != 0 {
		t.Errorf("host-endpoint policy: %q, %v; want no warnings (pods are not checked)", warns, err)
	}

	// An update that leaves the spec alone passes, even for a spec that no longer validates.
	if warns, err := w.ValidateUpdate(ctx, bad, bad.DeepCopy()); err != nil || warns != nil {
		t.Errorf("metadata-only update of an invalid object: %q, %v; want nil, nil", warns, err)
	}
	if _, err := w.ValidateUpdate(ctx, p, bad); !apierrors.IsInvalid(err) {
		t.Errorf("update to an invalid spec: %v; want Invalid", err)
	}

	// Cluster findings arrive as warnings.
	w = &GlobalNetworkPolicyWebhook{View: view(t, webPod("shop", "web-1"))}
	denyEgress := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "g"}}
	denyEgress.Spec.Order, denyEgress.Spec.Selector = ptr.To(1.0), "app == 'web'"
	denyEgress.Spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}
	warns, err := w.ValidateCreate(ctx, denyEgress)
	if err != nil {
		t.Fatal(err)
	}
	want := admission.Warnings{`spec.types: egress is denied by default for 1 pod in namespace "shop" and no policy allows them DNS (port 53)`}
	if diff := cmp.Diff(want, warns); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestDefaultIsIdempotent(t *testing.T) {
	ctx := context.Background()
	w := &NetworkPolicyWebhook{}
	p := policy(nil)
	if err := w.Default(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.Spec.Tier != "default" || len(p.Spec.Types) != 1 || p.Spec.Rollout == nil || p.Spec.Rollout.Strategy != v1alpha1.RolloutProgressive {
		t.Errorf("defaulted spec: tier %q, types %v, rollout %+v", p.Spec.Tier, p.Spec.Types, p.Spec.Rollout)
	}
	again := p.DeepCopy()
	if err := w.Default(ctx, again); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, again); diff != "" {
		t.Errorf("defaulting twice changed the object (-once +twice):\n%s", diff)
	}
	g := &v1alpha1.GlobalNetworkPolicy{}
	if err := (&GlobalNetworkPolicyWebhook{}).Default(ctx, g); err != nil || g.Spec.Tier != "default" {
		t.Errorf("GlobalNetworkPolicy default: tier %q, err %v", g.Spec.Tier, err)
	}
}

func TestKubernetesNetworkPolicyNeverDenies(t *testing.T) {
	ctx := context.Background()
	w := &KubernetesNetworkPolicyWebhook{View: view(t, webPod("shop", "web-1"))}
	bad := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "k"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{
				Protocol: ptr.To(corev1.Protocol("ICMP")), Port: ptr.To(intstr.FromInt32(53)),
			}}}},
		},
	}
	warns, err := w.ValidateCreate(ctx, bad)
	if err != nil {
		t.Fatalf("ValidateCreate denied: %v", err)
	}
	if len(warns) == 0 || !strings.HasPrefix(warns[0], "spec.egress[0].ports[0].protocol: ") {
		t.Errorf("warnings %q: want the protocol error first, as a warning", warns)
	}

	trap := bad.DeepCopy()
	trap.Spec.Egress = nil
	warns, err = w.ValidateCreate(ctx, trap)
	if err != nil {
		t.Fatal(err)
	}
	want := `spec.policyTypes: egress is denied by default for 1 pod in namespace "shop" and no policy allows them DNS (port 53)`
	if !slices.Contains(warns, want) {
		t.Errorf("warnings %q: want %q among them", warns, want)
	}
}

func TestToWarningsBounds(t *testing.T) {
	var ws []validation.Warning
	for i := range 20 {
		ws = append(ws, validation.Warning{Field: fmt.Sprintf("spec.ingress[%d]", i), Message: "m"})
	}
	got := toWarnings(ws)
	if len(got) != maxWarnings || got[maxWarnings-1] != "9 more warnings not shown" || got[0] != "spec.ingress[0]: m" {
		t.Errorf("toWarnings(20) = %q", got)
	}
	if got := toWarnings(ws[:maxWarnings]); len(got) != maxWarnings || got[maxWarnings-1] != "spec.ingress[11]: m" {
		t.Errorf("toWarnings(12) = %q; want all 12", got)
	}
	long := toWarnings([]validation.Warning{{Field: "f", Message: strings.Repeat("é", 1000)}})
	if n := len([]rune(long[0])); n != maxWarningRunes || !strings.HasSuffix(long[0], "…") {
		t.Errorf("long warning has %d runes, suffix %q", n, long[0][len(long[0])-3:])
	}
	if toWarnings(nil) != nil {
		t.Error("toWarnings(nil) != nil")
	}
}

func TestCacheListerPods(t *testing.T) {
	host := webPod("shop", "host")
	host.Spec.HostNetwork = true
	done := webPod("shop", "done")
	done.Status.Phase = corev1.PodSucceeded
	p := webPod("shop", "web",
		corev1.ContainerPort{Name: "http", ContainerPort: 80},
		corev1.ContainerPort{ContainerPort: 81},
		corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
	)
	p.Spec.InitContainers = []corev1.Container{{Name: "init", Ports: []corev1.ContainerPort{{Name: "setup", ContainerPort: 9, Protocol: corev1.ProtocolSCTP}}}}
	other := webPod("other", "web")
	l := cacheLister{ctx: context.Background(), r: view(t, host, done, p, other).Reader}
	pods, err := l.Pods("shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 || pods[0].Name != "web" {
		t.Fatalf("Pods(shop) = %+v; want only shop/web", pods)
	}
	want := "[{setup 132 9} {http 6 80} {dns 17 53}]" // engine.FromPod: protocol numbers, the unnamed port left out
	if got := fmt.Sprint(pods[0].Ports); got != want {
		t.Errorf("ports = %s; want %s", got, want)
	}
	if all, _ := l.Pods(""); len(all) != 2 {
		t.Errorf("Pods(\"\") = %d pods; want 2", len(all))
	}
}

func TestStripPod(t *testing.T) {
	p := webPod("shop", "web", corev1.ContainerPort{Name: "http", ContainerPort: 80})
	p.Annotations = map[string]string{"big": strings.Repeat("x", 100)}
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	p.Spec.NodeName = "n1"
	p.Spec.Containers[0].Image = "nginx"
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}}
	p.Status.PodIP = "10.0.0.1"
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady}}
	got, err := StripPod(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "default",
			Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StripPod (-want +got):\n%s", diff)
	}
	ns := &corev1.Namespace{}
	if got, _ := StripPod(ns); got != ns {
		t.Error("StripPod changed a non-pod")
	}
}

// TestHandlersSurviveBadInput drives the real admission handlers with objects they cannot decode:
// the validating webhook refuses them with code 400, the mutating webhook admits them unchanged
// (the schema, which runs after it, refuses them with a field path), and the Kubernetes
// NetworkPolicy webhook admits them with a warning (it never denies). Objects that decode to nothing
// are answered like any other. Nothing panics: a panic would surface as code 500.
// TestHandlersSurviveBadInput sends reviews whose objects the Go types cannot hold, through HTTP as the
// API server does: the validating handler refuses them with 400, the mutating handler admits them
// unchanged (the schema or validation refuses them later), the Kubernetes NetworkPolicy handler
// admits them with a warning, and nothing answers with a server error.
func TestHandlersSurviveBadInput(t *testing.T) {
	s := testScheme(t)
	np := &NetworkPolicyWebhook{View: view(t)}
	knp := mustReview[networkingv1.NetworkPolicy](t, &KubernetesNetworkPolicyWebhook{View: view(t)})
	knp.finish = neverDeny
	hooks := map[string]http.Handler{
		"mutate":   leaveToValidation(admission.WithDefaulter[*v1alpha1.NetworkPolicy](s, np)),
		"validate": mustReview[v1alpha1.NetworkPolicy](t, np),
		"knp":      knp,
	}
	objects := []struct {
		name       string
		raw        []byte
		undecoding bool
	}{
		{"wrong types", []byte(`{"apiVersion":"policy.palisade.dev/v1alpha1","kind":"NetworkPolicy","spec":{"order":"high","ingress":"all"}}`), true},
		{"a string", []byte(`"oops"`), true},
		{"json null", []byte(`null`), true},
		// Past encoding/json's depth limit: no decoder reads it, and nothing may crash on it.
		{"deep nesting", []byte(strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000)), false},
	}
	for hn, h := range hooks {
		for _, o := range objects {
			for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update} {
				t.Run(fmt.Sprintf("%s/%s/%s", hn, o.name, op), func(t *testing.T) {
					resp := serveReview(t, h, reviewBody(t, op, o.raw, o.raw))
					switch {
					case hn == "mutate" && o.undecoding:
						if !resp.Allowed || len(resp.Patch) != 0 {
							t.Errorf("allowed %v, patch %q; want admitted unchanged, for the schema to refuse", resp.Allowed, resp.Patch)
						}
					case hn == "knp":
						if !resp.Allowed || len(resp.Warnings) != 1 || !strings.HasPrefix(resp.Warnings[0], "Palisade could not check this NetworkPolicy: ") {
							t.Errorf("allowed %v, warnings %q; want allowed with one warning", resp.Allowed, resp.Warnings)
						}
					case o.undecoding:
						if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusBadRequest {
							t.Errorf("allowed %v, result %+v; want denied with code 400", resp.Allowed, resp.Result)
						}
					case !resp.Allowed && (resp.Result == nil || resp.Result.Code >= 500):
						t.Errorf("result %+v; want an answer, not a server error", resp.Result)
					}
				})
			}
		}
	}
}

// TestMutatingHandlerPatchesOnlyWhenNeeded: the mutating handler returns a patch for a new object and
// none for the stored (defaulted) one, which is what makes re-applying a read-back object a no-op.
func TestMutatingHandlerPatchesOnlyWhenNeeded(t *testing.T) {
	h := admission.WithDefaulter[*v1alpha1.NetworkPolicy](testScheme(t), &NetworkPolicyWebhook{})
	p := policy(nil)
	p.TypeMeta = metav1.TypeMeta{APIVersion: "policy.palisade.dev/v1alpha1", Kind: "NetworkPolicy"}
	raw, _ := json.Marshal(p)
	resp := h.Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "1", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
	}})
	if !resp.Allowed || len(resp.Patches) == 0 {
		t.Fatalf("first admission: allowed %v, %d patches; want a patch", resp.Allowed, len(resp.Patches))
	}
	var paths []string
	for _, op := range resp.Patches {
		paths = append(paths, op.Operation+" "+op.Path)
	}
	slices.Sort(paths) // the patch is computed from maps: its order is not stable
	if diff := cmp.Diff([]string{"add /spec/rollout", "add /spec/tier", "add /spec/types"}, paths); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}
	if err := (&NetworkPolicyWebhook{}).Default(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(p)
	resp = h.Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "2", Operation: admissionv1.Update, Object: runtime.RawExtension{Raw: raw},
	}})
	if !resp.Allowed || len(resp.Patches) != 0 {
		t.Errorf("defaulted object: allowed %v, patches %v; want allowed without a patch", resp.Allowed, resp.Patches)
	}
}
