// Command palisade-enforcer programs one node's kernel with Palisade's policies: informers feed the
// policy engine, a bounded-frequency runner renders the desired state and applies it with
// iptables-restore and ipset restore. It is wiring only: flags, clients, the HTTP endpoints, and the
// packages that do the work (enforcer/source, enforcer/runner, enforcer/syncer, enforcer/iptables,
// enforcer/ipsets).
//
//	palisade-enforcer run      # enforce until SIGTERM; the rules stay when it stops (fail static)
//	palisade-enforcer cleanup  # remove every Palisade chain, hook and set, and nothing else
package main

import (
	"os"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	log := zap.New()
	if err := newRootCommand(log).Execute(); err != nil {
		log.Error(err, "palisade-enforcer failed")
		os.Exit(1)
	}
}

// logger is a logr.Logger; the alias keeps the command constructors' signatures short.
type logger = logr.Logger
