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
	"flag"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The commands log through controller-runtime's delegating logger, which is given its sink
	// once the --zap-* flags (the same as the controller's) are parsed.
	log := ctrllog.Log.WithName("palisade-enforcer")
	root := newRootCommand(log)
	opts := zap.Options{}
	fs := flag.NewFlagSet("zap", flag.ContinueOnError)
	opts.BindFlags(fs)
	root.PersistentFlags().AddGoFlagSet(fs)
	root.PersistentPreRun = func(*cobra.Command, []string) { ctrllog.SetLogger(zap.New(zap.UseFlagOptions(&opts))) }
	if err := root.Execute(); err != nil {
		ctrllog.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
		log.Error(err, "palisade-enforcer failed")
		os.Exit(1)
	}
}

// logger is a logr.Logger; the alias keeps the command constructors' signatures short.
type logger = logr.Logger
