package clustercheck

import (
	"cmp"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// Where a named port is written: the direction, the side and the list of a rule.
const (
	dirIngress = iota
	dirEgress
)

const (
	sideSource = iota
	sideDestination
)

const (
	listPorts = iota
	listNotPorts
)

var (
	dirNames  = [...]string{dirIngress: "ingress", dirEgress: "egress"}
	sideNames = [...]string{sideSource: "source", sideDestination: "destination"}
	listNames = [...]string{listPorts: "ports", listNotPorts: "notPorts"}
)

// portSite is where a named port is written: direction, rule, side, list and index. Sites compare
// in the order of the fields they stand for, which is the order findings are reported in.
type portSite struct{ dir, rule, side, list, index int }

func (s portSite) compare(o portSite) int {
	return cmp.Or(cmp.Compare(s.dir, o.dir), cmp.Compare(s.rule, o.rule), cmp.Compare(s.side, o.side),
		cmp.Compare(s.list, o.list), cmp.Compare(s.index, o.index))
}

// namedPort is one named port of an EntityRule: which list it is in, where, and its name.
type namedPort struct {
	list, index int
	name        string
}

// namedPortsOf lists the named ports of an EntityRule's ports and notPorts. A named port in notPorts
// that no pod declares excludes nothing, which is as surprising as an Allow that allows nothing.
func namedPortsOf(e *v1alpha1.EntityRule) []namedPort {
	var out []namedPort
	for list, ports := range [...][]v1alpha1.Port{listPorts: e.Ports, listNotPorts: e.NotPorts} {
		for j, p := range ports {
			if pr, err := p.Parse(); err == nil && pr.IsNamed() {
				out = append(out, namedPort{list, j, pr.Name})
			}
		}
	}
	return out
}

// namedPortUse is a named port as written, with what its check has found so far.
type namedPortUse struct {
	site        portSite
	name, proto string
	pods        string // the candidate pods, as the message names them
	declared    bool   // some candidate pod declares the port
}

// namedPorts warns about every named port of a policy's rules that no pod it could resolve against
// declares (docs/semantics.md §5.3): for the side of the rule that is the policy's own endpoint (ingress
// destination, egress source) the pods the policy selects, narrowed by that side's selectors; for
// the peer side the pods the peer's selectors match. A port written once may be read in several
// rules (pkg/knp makes one rule per protocol and peer of a Kubernetes rule); it is reported once, when
// no candidate of any of those rules declares it.
func (w *world) namedPorts(p *checked, selected []*endpoint) ([]validation.Warning, error) {
	var uses []*namedPortUse
	bySite := map[portSite]*namedPortUse{}
	for dir, rules := range [...][]v1alpha1.Rule{dirIngress: p.spec.Ingress, dirEgress: p.spec.Egress} {
		for i := range rules {
			r := &rules[i]
			proto := namedPortProtocol(r)
			for side, entity := range [...]*v1alpha1.EntityRule{sideSource: &r.Source, sideDestination: &r.Destination} {
				named := namedPortsOf(entity)
				if len(named) == 0 {
					continue
				}
				peer, err := w.peerFilter(p.id.namespace, entity)
				if err != nil {
					return nil, err
				}
				var cands []*endpoint
				var set, pods string
				switch {
				case (dir == dirIngress) == (side == sideDestination): // the policy's own endpoint
					set, pods = "own\x00"+peer.key, p.subject.describe()
					cands = w.narrow(set, selected, peer)
				case peer.none():
					// Host endpoints and global network sets, which this view does not hold.
					continue
				default:
					set, cands, pods = peer.key, w.pods(peer), p.peerPods(dir, i, peer)
				}
				if w.stopped() {
					return nil, nil
				}
				declared := w.declaredPorts(set, cands)
				for _, n := range named {
					for _, site := range p.portSites(portSite{dir, i, side, n.list, n.index}, n.name, proto) {
						u := bySite[site]
						if u == nil {
							u = &namedPortUse{site: site, name: n.name, proto: proto, pods: pods}
							bySite[site] = u
							uses = append(uses, u)
						}
						u.declared = u.declared || declared[declaredPort{n.name, proto}]
					}
				}
			}
		}
	}
	slices.SortStableFunc(uses, func(a, b *namedPortUse) int { return a.site.compare(b.site) })
	var warns []validation.Warning
	for _, u := range uses {
		if !u.declared {
			warns = append(warns, namedPortWarning(p.portPath(u.site), u.pods, u.name, u.proto))
		}
	}
	return warns, nil
}

// narrow returns the pods of selected that peer matches (all of them when it restricts nothing),
// once per check for each selection.
func (w *world) narrow(set string, selected []*endpoint, peer *podFilter) []*endpoint {
	if !peer.restricts() {
		return selected
	}
	if eps, ok := w.members[set]; ok {
		return eps
	}
	var out []*endpoint
	for _, e := range selected {
		if !w.spend(1) {
			return nil
		}
		if peer.matches(e) {
			out = append(out, e)
		}
	}
	w.members[set] = out
	return out
}

// declaredPort is a named port a pod declares, for one protocol or, with proto "", for any.
type declaredPort struct{ name, proto string }

// declaredPorts returns the named ports some pod of a set declares, computed once per check for each
// set of candidates: a policy with many named ports over the same pods reads their ports once.
func (w *world) declaredPorts(set string, eps []*endpoint) map[declaredPort]bool {
	if d, ok := w.declared[set]; ok {
		return d
	}
	d := map[declaredPort]bool{}
	for _, e := range eps {
		if !w.spend(1) {
			return nil
		}
		for _, p := range e.pod().Ports {
			if p.Name != "" {
				d[declaredPort{p.Name, protocolName(p.Protocol)}] = true
				d[declaredPort{p.Name, ""}] = true
			}
		}
	}
	w.declared[set] = d
	return d
}

func namedPortWarning(path *field.Path, pods, name, proto string) validation.Warning {
	port := fmt.Sprintf("port %q", shorten(name))
	if proto != "" {
		port = proto + " " + port
	}
	return validation.Warning{Field: path.String(), Message: fmt.Sprintf("no %s declares %s", pods, port)}
}
