// Package topology plans a lab cluster's addresses: which node each pod runs on, the nodes' fabric
// addresses and pod CIDRs, each pod's IP, and the routes every node needs to reach the pods of the
// others. It is pure (no I/O): the lab turns a Plan into namespaces, veths and routes.
//
// Every address lies in 198.18.0.0/15 (RFC 2544 benchmarking space, never routed on the
// Internet): pod CIDRs are /24s of it, the nodes share the fabric subnet 198.19.255.0/24, and
// 198.19.254.1 is the pods' on-link gateway, an address no interface holds (each pod has a static
// neighbour entry mapping it to its node's end of the veth, as Calico does with 169.254.1.1).
//
// # What this package must never do
//
// It never gives two pods the same IP, never hands out an address outside 198.18.0.0/15 or inside
// the reserved fabric and gateway subnets, and never silently moves an IP that the manifest gave.
package topology
