package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/vishvananda/netlink"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/test/lab/echo"
	"github.com/palisade-dev/palisade/test/lab/netns"
	"github.com/palisade-dev/palisade/test/lab/topology"
)

// Interface names. Node-side veths are named after the pod's index ("p3"), fabric-side ones after
// the node's ("n1").
const (
	bridgeName = "br0"
	fabricIf   = "fab0"
	podIf      = "eth0"
)

// newNS creates a namespace of the run and registers its removal. Removal closes the handle and
// the mount; the kernel frees the namespace when the last socket in it is closed, which is why
// the servers and relays are registered after their namespaces and so closed before them.
func (l *Lab) newNS(suffix string) (*netns.NS, error) {
	ns, err := netns.Create(l.Prefix + "-" + suffix)
	if err != nil {
		return nil, err
	}
	l.onClose("network namespace "+ns.Name, func() error { return errors.Join(ns.Close(), netns.Delete(ns.Name)) })
	return ns, nil
}

// buildNetwork creates the fabric, the nodes and the pods, and starts the pods' echo servers.
func (l *Lab) buildNetwork(ctx context.Context, extraPorts []uint16) error {
	var err error
	if l.fabric, err = l.newNS("fabric"); err != nil {
		return err
	}
	fab, err := l.fabric.Netlink()
	if err != nil {
		return err
	}
	defer fab.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := fab.LinkAdd(br); err != nil {
		return fmt.Errorf("creating the fabric bridge: %w", err)
	}
	if err := fab.LinkSetUp(br); err != nil {
		return fmt.Errorf("bringing up the fabric bridge: %w", err)
	}
	for _, n := range l.Plan.Nodes {
		node, err := l.addNode(fab, br, n)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		l.nodes = append(l.nodes, node)
	}
	for _, node := range l.nodes {
		if err := addRoutes(node, l.Plan.RoutesFor(node.Name)); err != nil {
			return fmt.Errorf("node %s: %w", node.Name, err)
		}
	}
	ports := l.objects.declaredPorts()
	for _, p := range l.Plan.Pods {
		node := l.nodes[mustNode(l.Plan, p.Node).Index]
		pod, err := l.addPod(ctx, node, p, union(ports[p.Ref], extraPorts))
		if err != nil {
			return fmt.Errorf("pod %s: %w", p.Ref, err)
		}
		l.pods = append(l.pods, pod)
	}
	log.FromContext(ctx).Info("network built", "fabric", l.fabric.Name, "nodes", len(l.nodes), "pods", len(l.pods))
	return nil
}

func mustNode(p *topology.Plan, name string) topology.Node {
	n, ok := p.Node(name)
	if !ok {
		panic("topology: pod on unplanned node " + name)
	}
	return n
}

// addNode creates a node namespace joined to the fabric bridge.
func (l *Lab) addNode(fab *netlink.Handle, br *netlink.Bridge, n topology.Node) (*labNode, error) {
	ns, err := l.newNS("n" + strconv.Itoa(n.Index))
	if err != nil {
		return nil, err
	}
	node := &labNode{Node: n, ns: ns}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: "n" + strconv.Itoa(n.Index), MasterIndex: br.Index},
		PeerName:      fabricIf,
		PeerNamespace: netlink.NsFd(ns.Handle()),
	}
	if err := fab.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("creating the fabric veth: %w", err)
	}
	if err := fab.LinkSetUp(veth); err != nil {
		return nil, fmt.Errorf("bringing up the fabric veth: %w", err)
	}
	nl, err := ns.Netlink()
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	link, err := nl.LinkByName(fabricIf)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", fabricIf, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(n.FabricIP, topology.FabricNet.Bits()))}
	if err := nl.AddrAdd(link, addr); err != nil {
		return nil, fmt.Errorf("adding %s to %s: %w", addr, fabricIf, err)
	}
	if err := nl.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("bringing up %s: %w", fabricIf, err)
	}
	if err := ns.WriteSysctl("net.ipv4.ip_forward", "1"); err != nil {
		return nil, err
	}
	return node, nil
}

func addRoutes(node *labNode, routes []topology.Route) error {
	nl, err := node.ns.Netlink()
	if err != nil {
		return err
	}
	defer nl.Close()
	for _, r := range routes {
		rt := &netlink.Route{Dst: ipNet(r.Dst), Gw: r.Via.AsSlice()}
		if err := nl.RouteAdd(rt); err != nil {
			return fmt.Errorf("adding route %s via %s: %w", r.Dst, r.Via, err)
		}
	}
	return nil
}

// addPod creates a pod namespace behind its node, routes it and starts its echo server on ports.
func (l *Lab) addPod(ctx context.Context, node *labNode, p topology.Pod, ports []uint16) (*labPod, error) {
	ns, err := l.newNS("p" + strconv.Itoa(p.Index))
	if err != nil {
		return nil, err
	}
	pod := &labPod{Pod: p, ns: ns, ports: ports}
	nodeIf := "p" + strconv.Itoa(p.Index)
	nl, err := node.ns.Netlink()
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	pl, err := ns.Netlink()
	if err != nil {
		return nil, err
	}
	defer pl.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: nodeIf}, PeerName: podIf, PeerNamespace: netlink.NsFd(ns.Handle())}
	if err := nl.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("creating veth %s: %w", nodeIf, err)
	}
	hostSide, err := nl.LinkByName(nodeIf)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", nodeIf, err)
	}
	podSide, err := pl.LinkByName(podIf)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", podIf, err)
	}
	if err := nl.LinkSetUp(hostSide); err != nil {
		return nil, fmt.Errorf("bringing up %s: %w", nodeIf, err)
	}
	if err := pl.AddrAdd(podSide, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(p.IP, 32))}); err != nil {
		return nil, fmt.Errorf("adding %s to %s: %w", p.IP, podIf, err)
	}
	if err := pl.LinkSetUp(podSide); err != nil {
		return nil, fmt.Errorf("bringing up %s: %w", podIf, err)
	}
	// Static neighbours on both sides: no ARP, so the first probe of a flow is not delayed or lost
	// while a neighbour resolves.
	gw := ipNet(netip.PrefixFrom(topology.Gateway, 32))
	steps := []struct {
		what string
		fn   func() error
	}{
		{"pod neighbour for the gateway", func() error {
			return pl.NeighSet(&netlink.Neigh{LinkIndex: podSide.Attrs().Index, IP: gw.IP, HardwareAddr: hostSide.Attrs().HardwareAddr, State: netlink.NUD_PERMANENT})
		}},
		{"pod route to the gateway", func() error {
			return pl.RouteAdd(&netlink.Route{LinkIndex: podSide.Attrs().Index, Dst: gw, Scope: netlink.SCOPE_LINK})
		}},
		{"pod default route", func() error {
			return pl.RouteAdd(&netlink.Route{LinkIndex: podSide.Attrs().Index, Gw: gw.IP})
		}},
		{"node neighbour for the pod", func() error {
			return nl.NeighSet(&netlink.Neigh{LinkIndex: hostSide.Attrs().Index, IP: p.IP.AsSlice(), HardwareAddr: podSide.Attrs().HardwareAddr, State: netlink.NUD_PERMANENT})
		}},
		{"node route to the pod", func() error {
			return nl.RouteAdd(&netlink.Route{LinkIndex: hostSide.Attrs().Index, Dst: ipNet(netip.PrefixFrom(p.IP, 32)), Scope: netlink.SCOPE_LINK})
		}},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return nil, fmt.Errorf("adding the %s: %w", s.what, err)
		}
	}
	// Unprivileged ICMP echo sockets, so that the prober can ping from the pod.
	if err := ns.WriteSysctl("net.ipv4.ping_group_range", "0 2147483647"); err != nil {
		return nil, err
	}
	if err := l.startEcho(ctx, pod); err != nil {
		return nil, err
	}
	return pod, nil
}

// startEcho serves TCP and UDP on each of the pod's ports.
func (l *Lab) startEcho(ctx context.Context, pod *labPod) error {
	var tcp []net.Listener
	var udp []net.PacketConn
	closeAll := func() {
		for _, c := range tcp {
			_ = c.Close()
		}
		for _, c := range udp {
			_ = c.Close()
		}
	}
	for _, port := range pod.ports {
		addr := ":" + strconv.Itoa(int(port))
		t, err := pod.ns.Listen(ctx, "tcp4", addr)
		if err != nil {
			closeAll()
			return err
		}
		tcp = append(tcp, t)
		u, err := pod.ns.ListenPacket(ctx, "udp4", addr)
		if err != nil {
			closeAll()
			return err
		}
		udp = append(udp, u)
	}
	pod.echo = echo.Serve(tcp, udp)
	l.onClose("echo server of pod "+pod.Ref, pod.echo.Close)
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// union returns a and b's distinct ports, sorted.
func union(a, b []uint16) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for _, p := range append(append([]uint16(nil), a...), b...) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}
