package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/ipsets"
	"github.com/palisade-dev/palisade/enforcer/iptables"
	"github.com/palisade-dev/palisade/enforcer/syncer"
)

// dataplaneFlags are shared by run and cleanup: where and how to program the kernel.
type dataplaneFlags struct {
	netns       string
	backend     string
	ipv6        bool
	xtablesWait int
}

func (f *dataplaneFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.netns, "netns", "", "program the network namespace /run/netns/NAME instead of the process's own (lab and tests)")
	cmd.Flags().StringVar(&f.backend, "iptables-backend", string(iptables.Auto), "iptables backend: auto (detect as kube-proxy does), nft or legacy")
	cmd.Flags().BoolVar(&f.ipv6, "ipv6", false, "also program ip6tables")
	cmd.Flags().IntVar(&f.xtablesWait, "xtables-wait", 5, "seconds iptables-restore waits for /run/xtables.lock (0: forever)")
}

// families builds an applier and hooks per enabled IP family.
func (f *dataplaneFlags) families(ctx context.Context, log logger) ([]syncer.Family, command.Executor, error) {
	exec := command.Exec{Netns: f.netns}
	choice, err := iptables.ParseBackend(f.backend)
	if err != nil {
		return nil, nil, err
	}
	fams := []desired.Family{desired.IPv4}
	if f.ipv6 {
		fams = append(fams, desired.IPv6)
	}
	var out []syncer.Family
	for _, fam := range fams {
		b := choice
		if b == iptables.Auto {
			if b, err = iptables.DetectBackend(ctx, exec, fam); err != nil {
				return nil, nil, err
			}
		}
		log.Info("iptables backend", "family", fam, "backend", b, "detected", choice == iptables.Auto)
		tools := iptables.ToolsFor(b, fam)
		hooks, err := iptables.NewHooks(tools, fam, f.netns)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, syncer.Family{
			Tables: iptables.New(iptables.Config{Family: fam, Tools: tools, Exec: exec, WaitSeconds: f.xtablesWait}),
			Hooks:  hooks,
		})
	}
	return out, exec, nil
}

func newRootCommand(log logger) *cobra.Command {
	root := &cobra.Command{
		Use:           "palisade-enforcer",
		Short:         "Program one node's iptables and ipsets with Palisade's policies",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCommand(log), newCleanupCommand(log))
	return root
}

func newCleanupCommand(log logger) *cobra.Command {
	var f dataplaneFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove every Palisade chain, hook rule and ipset, and nothing else",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			fams, exec, err := f.families(ctx, log)
			if err != nil {
				return err
			}
			st, err := syncer.Cleanup(ctx, fams, ipsets.New(exec))
			if err != nil {
				return fmt.Errorf("cleaning up: %w", err)
			}
			log.Info("cleaned up", "chains", st.ChainsDeleted, "sets", st.SetsDestroyed)
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "give up after this long")
	return cmd
}
