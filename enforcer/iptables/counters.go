package iptables

import (
	"context"
	"fmt"
)

// SaveCounters returns iptables-save of one table with every rule's packet and byte counters
// (`-c`): what the kernel counted, for readers of counters such as observation's count of the
// connections its rate limit left unsampled. It changes nothing.
func (a *Applier) SaveCounters(ctx context.Context, table string) ([]byte, error) {
	out, err := a.cfg.Exec.Run(ctx, nil, a.cfg.Tools.Save, "-c", "-t", table)
	if err != nil {
		return nil, fmt.Errorf("reading the %s counters of table %s: %w", a.cfg.Family, table, err)
	}
	return out, nil
}
