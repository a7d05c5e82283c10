package topology

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

var (
	// Space holds every lab address.
	Space = netip.MustParsePrefix("198.18.0.0/15")
	// FabricNet is the subnet of the nodes' fabric interfaces.
	FabricNet = netip.MustParsePrefix("198.19.255.0/24")
	// GatewayNet is reserved for the pods' gateway.
	GatewayNet = netip.MustParsePrefix("198.19.254.0/24")
	// Gateway is the pods' default gateway, reached on-link through a static neighbour entry.
	Gateway = netip.MustParseAddr("198.19.254.1")
)

// MaxNodes is the number of fabric addresses.
const MaxNodes = 254

// PodRequest is a pod as the manifest gives it.
type PodRequest struct {
	// Ref is "namespace/name".
	Ref string
	// Node is spec.nodeName, empty when the lab may choose.
	Node string
	// IP is status.podIP, invalid when the lab must assign one.
	IP netip.Addr
}

// Node is a planned node.
type Node struct {
	Name string
	// Index is the node's position in Plan.Nodes.
	Index    int
	FabricIP netip.Addr
	PodCIDR  netip.Prefix
}

// Pod is a planned pod.
type Pod struct {
	Ref  string
	Node string
	IP   netip.Addr
	// Index is the pod's position in Plan.Pods.
	Index int
}

// Route sends Dst to the fabric address Via.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

// Plan is the lab's layout. Nodes are sorted by name, pods by Ref.
type Plan struct {
	Nodes []Node
	Pods  []Pod
}

// Build plans minNodes nodes or more (every node a pod names exists; generated ones are named
// node-1, node-2, ...), places pods without a node round-robin in Ref order, keeps the IPs the
// requests give and assigns the others from their node's pod CIDR. Pod CIDRs are the /24s of
// 198.18.0.0/15 that hold no requested IP, in address order.
func Build(minNodes int, pods []PodRequest) (*Plan, error) {
	if minNodes < 1 {
		return nil, fmt.Errorf("nodes: want at least 1, got %d", minNodes)
	}
	reqs := slices.Clone(pods)
	slices.SortFunc(reqs, func(a, b PodRequest) int { return cmp.Compare(a.Ref, b.Ref) })
	names := map[string]bool{}
	taken := map[netip.Addr]string{}
	for i, r := range reqs {
		if r.Ref == "" {
			return nil, fmt.Errorf("pod %d: empty reference", i)
		}
		if i > 0 && reqs[i-1].Ref == r.Ref {
			return nil, fmt.Errorf("pod %s: defined twice", r.Ref)
		}
		if r.Node != "" {
			names[r.Node] = true
		}
		if !r.IP.IsValid() {
			continue
		}
		if err := checkRequested(r.IP); err != nil {
			return nil, fmt.Errorf("pod %s: status.podIP %s: %w", r.Ref, r.IP, err)
		}
		if other, dup := taken[r.IP]; dup {
			return nil, fmt.Errorf("pod %s: status.podIP %s is also pod %s's", r.Ref, r.IP, other)
		}
		taken[r.IP] = r.Ref
	}
	for i := 1; len(names) < minNodes; i++ {
		names["node-"+strconv.Itoa(i)] = true
	}
	if len(names) > MaxNodes {
		return nil, fmt.Errorf("nodes: %d wanted, the fabric has addresses for %d", len(names), MaxNodes)
	}
	p := &Plan{}
	sorted := slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	})
	cidrs := freeCIDRs(taken, len(sorted))
	if len(cidrs) < len(sorted) {
		return nil, fmt.Errorf("nodes: no free /24 pod CIDR left for %d nodes", len(sorted))
	}
	index := map[string]int{}
	for i, n := range sorted {
		index[n] = i
		p.Nodes = append(p.Nodes, Node{
			Name: n, Index: i,
			FabricIP: offset(FabricNet.Addr(), i+1),
			PodCIDR:  cidrs[i],
		})
	}
	next := make([]netip.Addr, len(p.Nodes)) // next address to try per node
	for i, n := range p.Nodes {
		next[i] = n.PodCIDR.Addr().Next().Next() // .0 and .1 stay free
	}
	rr := 0
	for i, r := range reqs {
		node := r.Node
		if node == "" {
			node = p.Nodes[rr%len(p.Nodes)].Name
			rr++
		}
		ip := r.IP
		if !ip.IsValid() {
			ni := index[node]
			for taken[next[ni]] != "" {
				next[ni] = next[ni].Next()
			}
			ip = next[ni]
			if !p.Nodes[ni].PodCIDR.Contains(ip) || isBroadcast(ip) {
				return nil, fmt.Errorf("pod %s: node %s's pod CIDR %s is full", r.Ref, node, p.Nodes[ni].PodCIDR)
			}
			taken[ip] = r.Ref
		}
		p.Pods = append(p.Pods, Pod{Ref: r.Ref, Node: node, IP: ip, Index: i})
	}
	return p, nil
}

// Node returns the named node.
func (p *Plan) Node(name string) (Node, bool) {
	for _, n := range p.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// PodsOn returns the pods of the named node, in Ref order.
func (p *Plan) PodsOn(node string) []Pod {
	var out []Pod
	for _, pod := range p.Pods {
		if pod.Node == node {
			out = append(out, pod)
		}
	}
	return out
}

// RoutesFor returns the routes the named node needs to reach the pods of every other node: their
// pod CIDRs, and a /32 for each of their pods whose IP (given by the manifest) lies outside it.
// Sorted by destination.
func (p *Plan) RoutesFor(node string) []Route {
	var out []Route
	for _, n := range p.Nodes {
		if n.Name == node {
			continue
		}
		out = append(out, Route{Dst: n.PodCIDR, Via: n.FabricIP})
		for _, pod := range p.PodsOn(n.Name) {
			if !n.PodCIDR.Contains(pod.IP) {
				out = append(out, Route{Dst: netip.PrefixFrom(pod.IP, 32), Via: n.FabricIP})
			}
		}
	}
	slices.SortFunc(out, func(a, b Route) int {
		return cmp.Or(a.Dst.Addr().Compare(b.Dst.Addr()), cmp.Compare(a.Dst.Bits(), b.Dst.Bits()))
	})
	return out
}

func checkRequested(ip netip.Addr) error {
	switch {
	case !ip.Is4():
		return fmt.Errorf("the lab is IPv4 only")
	case !Space.Contains(ip):
		return fmt.Errorf("outside the lab's %s", Space)
	case FabricNet.Contains(ip) || GatewayNet.Contains(ip):
		return fmt.Errorf("inside the lab's reserved %s or %s", FabricNet, GatewayNet)
	}
	return nil
}

// freeCIDRs returns up to n /24s of Space, outside the reserved subnets, holding none of taken.
func freeCIDRs(taken map[netip.Addr]string, n int) []netip.Prefix {
	used := map[netip.Prefix]bool{}
	for ip := range taken {
		used[netip.PrefixFrom(ip, 24).Masked()] = true
	}
	var out []netip.Prefix
	for c := netip.PrefixFrom(Space.Addr(), 24); Space.Contains(c.Addr()) && len(out) < n; c = netip.PrefixFrom(offset(c.Addr(), 256), 24) {
		if c == FabricNet || c == GatewayNet || used[c] {
			continue
		}
		out = append(out, c)
	}
	return out
}

func isBroadcast(ip netip.Addr) bool { return ip.As4()[3] == 255 }
