package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// ClusterDeps are what the commands that talk to a cluster (status, watch, promote, pause, resume,
// rollback) take from their caller: the clock that says how long a phase has lasted and stamps
// control requests. Zero values are the real ones.
type ClusterDeps struct {
	Clock clock.Clock
}

func (d ClusterDeps) clock() clock.Clock {
	if d.Clock == nil {
		return clock.RealClock{}
	}
	return d.Clock
}

// clusterOptions are the kubeconfig flags every cluster command shares, as kubectl spells them.
type clusterOptions struct {
	flags *genericclioptions.ConfigFlags
	deps  ClusterDeps
}

func newClusterOptions(cmd *cobra.Command, deps ClusterDeps) *clusterOptions {
	o := &clusterOptions{flags: genericclioptions.NewConfigFlags(true), deps: deps}
	o.flags.AddFlags(cmd.Flags())
	return o
}

// client connects to the cluster and returns the namespace to use (-n, else the kubeconfig's).
func (o *clusterOptions) client() (client.WithWatch, string, error) {
	cfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig: %w", err)
	}
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, "", fmt.Errorf("building the scheme: %w", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, "", fmt.Errorf("building the scheme: %w", err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the cluster: %w", err)
	}
	return c, ns, nil
}

// policyRef names one Palisade policy on the command line: NAME (a NetworkPolicy in the namespace),
// or KIND/NAME with KIND networkpolicy, pnp, globalnetworkpolicy or gnp (any case, plural or with
// the group).
type policyRef struct {
	global          bool
	namespace, name string
}

func (r policyRef) kind() string {
	if r.global {
		return string(v1alpha1.KindGlobalNetworkPolicy)
	}
	return string(v1alpha1.KindNetworkPolicy)
}

func (r policyRef) String() string {
	if r.global {
		return "globalnetworkpolicy/" + r.name
	}
	return "networkpolicy/" + r.namespace + "/" + r.name
}

func parsePolicyRef(arg, namespace string) (policyRef, error) {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok {
		return policyRef{namespace: namespace, name: arg}, nil
	}
	if name == "" || strings.Contains(name, "/") {
		return policyRef{}, fmt.Errorf("policy %q: want NAME or KIND/NAME", arg)
	}
	switch strings.TrimSuffix(strings.ToLower(kind), "."+v1alpha1.GroupVersion.Group) {
	case "networkpolicy", "networkpolicies", "pnp":
		return policyRef{namespace: namespace, name: name}, nil
	case "globalnetworkpolicy", "globalnetworkpolicies", "gnp":
		return policyRef{global: true, name: name}, nil
	}
	return policyRef{}, fmt.Errorf("policy %q: kind %q is not a Palisade policy (networkpolicy/pnp, globalnetworkpolicy/gnp)", arg, kind)
}

// policy is either kind of Palisade policy, as the cluster commands read it.
type policy struct {
	ref         policyRef
	obj         client.Object
	generation  int64
	annotations map[string]string
	rollout     *v1alpha1.RolloutSpec
	status      *v1alpha1.PolicyStatus
}

func policyOf(obj client.Object) policy {
	switch p := obj.(type) {
	case *v1alpha1.NetworkPolicy:
		return policy{ref: policyRef{namespace: p.Namespace, name: p.Name}, obj: p, generation: p.Generation,
			annotations: p.Annotations, rollout: p.Spec.Rollout, status: &p.Status}
	case *v1alpha1.GlobalNetworkPolicy:
		return policy{ref: policyRef{global: true, name: p.Name}, obj: p, generation: p.Generation,
			annotations: p.Annotations, rollout: p.Spec.Rollout, status: &p.Status}
	}
	return policy{}
}

func (r policyRef) newObject() client.Object {
	if r.global {
		return &v1alpha1.GlobalNetworkPolicy{}
	}
	return &v1alpha1.NetworkPolicy{}
}

func getPolicy(ctx context.Context, c client.Reader, ref policyRef) (policy, error) {
	obj := ref.newObject()
	if err := c.Get(ctx, client.ObjectKey{Namespace: ref.namespace, Name: ref.name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return policy{}, fmt.Errorf("%s not found", ref)
		}
		return policy{}, fmt.Errorf("reading %s: %w", ref, err)
	}
	return policyOf(obj), nil
}

// listPolicies lists the NetworkPolicies of namespace (every namespace when allNamespaces) and every
// GlobalNetworkPolicy, sorted by kind, namespace and name.
func listPolicies(ctx context.Context, c client.Reader, namespace string, allNamespaces bool) ([]policy, error) {
	var nps v1alpha1.NetworkPolicyList
	var opts []client.ListOption
	if !allNamespaces {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.List(ctx, &nps, opts...); err != nil {
		return nil, fmt.Errorf("listing networkpolicies: %w", err)
	}
	var gnps v1alpha1.GlobalNetworkPolicyList
	if err := c.List(ctx, &gnps); err != nil {
		return nil, fmt.Errorf("listing globalnetworkpolicies: %w", err)
	}
	var out []policy
	for i := range gnps.Items {
		out = append(out, policyOf(&gnps.Items[i]))
	}
	for i := range nps.Items {
		out = append(out, policyOf(&nps.Items[i]))
	}
	return out, nil
}

// clusterFailure prints err and ends the command with ExitUsage, as the offline commands do for
// input they cannot read.
func clusterFailure(errOut interface{ Write([]byte) (int, error) }, err error) error {
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	fmt.Fprintf(errOut, "error: %s\n", escapeLines(err.Error()))
	return &ExitError{Code: ExitUsage}
}
