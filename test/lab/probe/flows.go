package probe

import "context"

// Flow is one flow to probe: from an endpoint to another on a port.
type Flow struct {
	From, To Endpoint
	Port     Port
}

// RunFlows probes only the given flows, as Run probes every pair: the same retries of the flows not
// answered, the same verdicts in Sort order. A demo or a spec that asserts a few cells sends no
// other traffic, which an observing enforcer would count.
func RunFlows(ctx context.Context, flows []Flow, opts Options) ([]Verdict, error) {
	opts = opts.withDefaults()
	verdicts := make([]Verdict, len(flows))
	jobs := make([]job, len(flows))
	for i, f := range flows {
		verdicts[i] = Verdict{From: f.From.Ref, To: f.To.Ref, Port: f.Port.Port, Protocol: f.Port.Protocol}
		jobs[i] = job{from: f.From, to: f.To, port: f.Port, out: &verdicts[i]}
	}
	if err := runWithRetries(ctx, jobs, opts); err != nil {
		return nil, err
	}
	Sort(verdicts)
	return verdicts, nil
}
