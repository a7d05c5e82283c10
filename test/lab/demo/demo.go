package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/assets"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/chartrun"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// DefaultReportInterval is how often the demo's enforcers write NodeReports, set on both sides
// (palisade-enforcer and palisade-controller --report-interval; 10s by default): a promotion follows
// the window's end by up to one interval and the controller's --report-batch, so a short interval
// lets each phase take about its window.
const DefaultReportInterval = 5 * time.Second

// Options configure Run.
type Options struct {
	// Out receives the story.
	Out io.Writer
	// BinDir holds palisade-controller, palisade-enforcer, kubectl-palisade and helm.
	BinDir string
	// RepoRoot is the repository (examples/, charts/); default the one holding the working directory.
	RepoRoot string
	// AssetsDir holds etcd, kube-apiserver and kubectl; default assets.Dir().
	AssetsDir string
	// Window is the progressive policy's audit and staged minDuration (default 20s).
	Window time.Duration
	// ReportInterval is the enforcers' and the controller's --report-interval (DefaultReportInterval).
	ReportInterval time.Duration
	// PromotionTimeout bounds the wait for each promotion (default Window and four report
	// intervals). The wait ends earlier when no enforcer has written a NodeReport three report
	// intervals after they started: without evidence nothing is ever promoted.
	PromotionTimeout time.Duration
	// LogDir, when set, receives the controller's and the enforcers' logs and keeps them; by
	// default they are in the lab's directory and removed with it.
	LogDir string
}

// chart is the Helm chart's directory.
func (o Options) chart() string { return filepath.Join(o.RepoRoot, "charts", "palisade") }

func (o Options) withDefaults() (Options, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Window == 0 {
		o.Window = 20 * time.Second
	}
	if o.ReportInterval == 0 {
		o.ReportInterval = DefaultReportInterval
	}
	if o.PromotionTimeout == 0 {
		o.PromotionTimeout = o.Window + 4*o.ReportInterval
	}
	var err error
	if o.RepoRoot == "" {
		if o.RepoRoot, err = lab.RepoRoot(); err != nil {
			return o, fmt.Errorf("finding the repository (run from it, or give --repo): %w", err)
		}
	}
	if o.AssetsDir == "" {
		if o.AssetsDir, err = assets.Dir(); err != nil {
			return o, err
		}
	}
	if o.BinDir == "" {
		o.BinDir = filepath.Join(o.RepoRoot, "bin")
	}
	return o, nil
}

// Report is what the demo measured and decided, for the lab suite to hold it to its claims.
type Report struct {
	// Prefix names the run's namespaces, processes and directory.
	Prefix string
	// Refused is kubectl's output when the invalid policy was applied.
	Refused string
	// The matrices measured: before any policy, with the Immediate policy enforced, with the
	// progressive one in Audit, and after its promotion (nil when it was not promoted).
	Before, Immediate, Audit, Promoted []probe.Verdict
	// ImmediatePhase and AuditPhase are the phases the operator gave the two policies.
	ImmediatePhase, AuditPhase v1alpha1.RolloutPhase
	// Promotion is how far the progressive policy's second generation got.
	Promotion Promotion
	// BadEdit is how far its third generation, a bad edit, got towards Staged; SteppedBack says
	// whether it then stepped back by itself, and AfterStepBack is the matrix measured after that
	// (both unset when the second generation was not promoted: the step is skipped).
	BadEdit       Promotion
	SteppedBack   bool
	AfterStepBack []probe.Verdict
	// False lists the claims that turned out false.
	False []string
	// Leftovers is what remained of the run after teardown (nil when it could not be looked up).
	Leftovers *lab.Leftovers
}

// Promotion is the outcome of waiting for the progressive policy to be promoted.
type Promotion struct {
	// Reached is the last phase seen.
	Reached v1alpha1.RolloutPhase
	// NodeReports is how many NodeReports existed when the wait ended.
	NodeReports int
	// WaitedFor says what the demo waited for when a promotion did not happen.
	WaitedFor string
}

// demo is one run of the story.
type demo struct {
	o        Options
	n        *narrator
	sc       *scenario
	bins     binaries
	l        *lab.Lab
	rel      *chartrun.Release
	kubectl  command
	kp       command
	dir      string // where the applied policies are written
	cols     []column
	started  time.Time // when the enforcers started
	rep      *Report
	applied  []string // files of the policies applied, for trace
	workload string   // the lab's objects as built, for trace
}

// Run tells the story. It returns the report (also on error, as far as it got) and an error when
// the lab could not be built, a step failed, or a claim turned out false. Everything is torn
// down before it returns, when ctx ends too.
func Run(ctx context.Context, opts Options) (rep *Report, err error) {
	rep = &Report{}
	if os.Geteuid() != 0 {
		return rep, errors.New(`the demo builds network namespaces and must run as root: sudo -E env PATH="$PATH" make demo`)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return rep, err
	}
	d := &demo{o: o, n: &narrator{out: o.Out}, rep: rep}
	if d.bins, err = findBinaries(o.BinDir, o.AssetsDir); err != nil {
		return rep, err
	}
	if d.sc, err = loadScenario(o.RepoRoot); err != nil {
		return rep, err
	}
	d.columns()
	defer func() {
		err = errors.Join(err, d.teardown())
		rep.False = d.n.false
		if err == nil && len(rep.False) > 0 {
			err = fmt.Errorf("%d claims of the demo were not true:\n  %s", len(rep.False), strings.Join(rep.False, "\n  "))
		}
	}()
	for _, step := range []func(context.Context) error{d.start, d.install, d.before, d.refuse, d.immediate, d.audit, d.promote, d.stepBack} {
		if err := step(ctx); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// columns picks the matrix's destinations: every pod on the first port it declares.
func (d *demo) columns() {
	for _, e := range d.sc.workload.Pods {
		p := e.Object
		c := column{pod: p.Namespace + "/" + p.Name}
		for _, ctr := range p.Spec.Containers {
			if len(ctr.Ports) > 0 {
				proto := strings.ToUpper(string(ctr.Ports[0].Protocol))
				if proto == "" {
					proto = probe.TCP
				}
				c.port = probe.Port{Port: uint16(ctr.Ports[0].ContainerPort), Protocol: proto}
				break
			}
		}
		if c.port.Port == 0 {
			continue
		}
		d.cols = append(d.cols, c)
	}
}
