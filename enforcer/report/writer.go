package report

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/clock"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/observe"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// Writer defaults.
const (
	// DefaultInterval is how often the writer reports; it must equal the operator's
	// --report-interval (controllers.DefaultReportInterval), which is the length of Recent and
	// the measure of staleness.
	DefaultInterval = 10 * time.Second
	// FieldManager is the writer's server-side apply field manager.
	FieldManager = "palisade-enforcer-report"
)

// NodeReports is the NodeReport resource.
var NodeReports = schema.GroupVersionResource{Group: v1alpha1.GroupVersion.Group, Version: v1alpha1.GroupVersion.Version, Resource: "nodereports"}

// Counter is the part of *observe.Observer the writer reads and steers.
type Counter interface {
	SetWindow(key engine.PolicyKey, start time.Time)
	RollInterval()
	Forget(key engine.PolicyKey)
	Summary() observe.Summary
}

// WriterConfig configures a Writer.
type WriterConfig struct {
	// Node is this node's name.
	Node string
	// Client writes NodeReports and reads the Node (for the owner reference).
	Client dynamic.Interface
	// Observer holds the counts.
	Observer Counter
	// Programs returns what the node has programmed for each policy (the source's view of the
	// statuses).
	Programs func() []Program
	// Dropped returns the samples lost since the enforcer started (nil: 0).
	Dropped func() int64
	// Clock drives the interval and stamps the reports.
	Clock clock.WithTicker
	// Interval is the report interval (DefaultInterval). A report is written at most once per
	// interval: every interval while a policy is in Audit or Staged, otherwise when it changed and
	// at least every Heartbeat.
	Interval time.Duration
	// Heartbeat is the longest time between two writes when nothing changed (default two
	// intervals: the operator distrusts reports older than three).
	Heartbeat time.Duration
	// MaxShards caps the reports of the node (DefaultMaxShards); PerShard is the policies per
	// report (v1alpha1.MaxReportedPolicies; smaller in tests).
	MaxShards, PerShard int
	// Metrics receives the counters; nil creates unregistered ones.
	Metrics *Metrics
}

// Writer reports this node's counts in its NodeReport(s).
type Writer struct {
	cfg WriterConfig

	mu        sync.Mutex // serialises Tick
	windows   map[engine.PolicyKey]Program
	previous  map[engine.PolicyKey]previous
	written   []v1alpha1.NodeReportSpec
	owner     *metav1.OwnerReference
	lastWrite time.Time
}

// NewWriter returns a writer.
func NewWriter(cfg WriterConfig) *Writer {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * cfg.Interval
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Programs == nil {
		cfg.Programs = func() []Program { return nil }
	}
	if cfg.Dropped == nil {
		cfg.Dropped = func() int64 { return 0 }
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &Writer{cfg: cfg, windows: map[engine.PolicyKey]Program{}, previous: map[engine.PolicyKey]previous{}}
}

// Run reports once per interval until ctx is done. A failed write is logged, counted and retried
// at the next interval; it never stops observation.
func (w *Writer) Run(ctx context.Context) {
	log := logr.FromContextOrDiscard(ctx).WithName("report")
	t := w.cfg.Clock.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if err := w.Tick(ctx); err != nil {
				log.Error(err, "writing the node report; retrying at the next interval")
			}
		}
	}
}

// SyncWindows hands the programs' windows to the observer: a new status.evidence.windowStart
// starts a new window, a policy no longer programmed is forgotten. Tick calls it; the daemon may
// call it too when the statuses change, so the new window counts from its first sample.
func (w *Writer) SyncWindows() []Program {
	programs := w.cfg.Programs()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncWindows(programs)
	return programs
}

func (w *Writer) syncWindows(programs []Program) {
	seen := make(map[engine.PolicyKey]bool, len(programs))
	for _, p := range programs {
		seen[p.Key] = true
		old, ok := w.windows[p.Key]
		if ok && !old.WindowStart.Equal(p.WindowStart) && !old.WindowStart.IsZero() {
			w.previous[p.Key] = previous{generation: old.Generation, phase: old.Phase, start: old.WindowStart, end: p.WindowStart}
		}
		w.windows[p.Key] = p
		w.cfg.Observer.SetWindow(p.Key, p.WindowStart)
	}
	for k := range w.windows {
		if !seen[k] {
			delete(w.windows, k)
			delete(w.previous, k)
			w.cfg.Observer.Forget(k)
		}
	}
}

// Tick ends a report interval: it syncs the windows, rolls the observer's interval, builds the
// report and writes it when a policy is in Audit or Staged, when it changed (apart from its time),
// or when the heartbeat is due.
func (w *Writer) Tick(ctx context.Context) error {
	programs := w.cfg.Programs()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncWindows(programs)
	w.cfg.Observer.RollInterval()
	now := w.cfg.Clock.Now()
	specs := build(buildInput{node: w.cfg.Node, now: now, programs: programs, summary: w.cfg.Observer.Summary(),
		previous: w.previous, dropped: w.cfg.Dropped(), maxShards: w.cfg.MaxShards, perShard: w.cfg.PerShard})
	w.cfg.Metrics.Omitted.WithLabelValues("policies").Set(float64(specs[0].OmittedPolicies))
	var flows int64
	for i := range specs {
		flows += specs[i].OmittedFlows
	}
	w.cfg.Metrics.Omitted.WithLabelValues("flows").Set(float64(flows))

	owner := w.nodeOwner(ctx)
	if w.lastWrite.IsZero() || now.Sub(w.lastWrite) >= w.cfg.Heartbeat || inWindow(programs) || !sameReports(w.written, specs) ||
		!apiequality.Semantic.DeepEqual(owner, w.owner) {
		if err := w.write(ctx, specs, owner); err != nil {
			w.cfg.Metrics.Writes.WithLabelValues("error").Inc()
			return err
		}
		w.cfg.Metrics.Writes.WithLabelValues("ok").Inc()
		w.cfg.Metrics.LastWrite.Set(float64(now.UnixNano()) / 1e9)
		w.written, w.owner, w.lastWrite = specs, owner, now
	}
	return nil
}

// inWindow says whether a program is in an evidence window (Audit or Staged). Its report is then
// written every interval even when only its time changed: the operator promotes once every node's
// report time is past the window's end, and a quiet window, the one that earns promotion, changes
// nothing else. Left to the heartbeat, promotion would wait up to two intervals more.
func inWindow(programs []Program) bool {
	for _, p := range programs {
		if p.Phase == v1alpha1.PhaseAudit || p.Phase == v1alpha1.PhaseStaged {
			return true
		}
	}
	return false
}

// sameReports compares two reports apart from their time.
func sameReports(a, b []v1alpha1.NodeReportSpec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.ReportTime, y.ReportTime = metav1.MicroTime{}, metav1.MicroTime{}
		if !apiequality.Semantic.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// ShardName is the name of a node's i-th report: the node's name, then "<node>-<i>".
func ShardName(node string, i int) string {
	if i == 0 {
		return node
	}
	return node + "-" + strconv.Itoa(i)
}

func (w *Writer) write(ctx context.Context, specs []v1alpha1.NodeReportSpec, owner *metav1.OwnerReference) error {
	res := w.cfg.Client.Resource(NodeReports)
	for i := range specs {
		name := ShardName(w.cfg.Node, i)
		nr := &v1alpha1.NodeReport{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "NodeReport"},
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       specs[i],
		}
		if owner != nil {
			nr.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(nr)
		if err != nil {
			return fmt.Errorf("node report %s: %w", name, err)
		}
		unstructured.RemoveNestedField(u, "metadata", "creationTimestamp")
		if _, err := res.Apply(ctx, name, &unstructured.Unstructured{Object: u},
			metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("applying node report %s: %w", name, err)
		}
	}
	// Shards the node no longer needs go away, so the operator does not read stale counts.
	for i := len(specs); i < max(len(w.written), len(specs)); i++ {
		name := ShardName(w.cfg.Node, i)
		if err := res.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting node report %s: %w", name, err)
		}
	}
	return nil
}

var nodes = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}

// nodeOwner is the owner reference to this node's Node object, nil when it does not exist (or
// cannot be read: the report is written anyway, and owned once the Node can be read).
func (w *Writer) nodeOwner(ctx context.Context) *metav1.OwnerReference {
	if w.owner != nil {
		return w.owner
	}
	u, err := w.cfg.Client.Resource(nodes).Get(ctx, w.cfg.Node, metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) && !errors.Is(err, context.Canceled) {
			logr.FromContextOrDiscard(ctx).V(1).Info("reading the Node for the report's owner", "error", err.Error())
		}
		return nil
	}
	return &metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: u.GetName(), UID: types.UID(u.GetUID())}
}
