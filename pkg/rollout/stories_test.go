package rollout

import "github.com/palisade-dev/palisade/api/v1alpha1"

// Stories, one golden narrative each under testdata/stories. Windows are five minutes, the report
// interval one minute, the canary half the endpoints, a step back at more than 10 denials a minute.
// Events are placed at least two steps away from the transitions they must not race, so that the
// jittered reruns (a transition may come one step later) tell the same story.
var stories = []story{
	{
		name: "quiet-promotion", nodes: []string{"node-a", "node-b", "node-c"}, steps: 18,
	},
	{
		name: "denials-hold-audit", nodes: []string{"node-a", "node-b"}, steps: 16,
		events: map[int][]event{
			2: {deny("node-b", 3)}, 6: {deny("node-b", 1)}, 10: {deny("node-a", 2)},
		},
	},
	{
		name: "fix-promotes", nodes: []string{"node-a", "node-b"}, steps: 20,
		events: map[int][]event{
			2: {deny("node-a", 4)}, 4: {deny("node-a", 4)},
			6: {edit("allow the flow", nil)},
		},
	},
	{
		name: "tolerance", nodes: []string{"node-a", "node-b"}, steps: 14,
		setup: func(r *v1alpha1.RolloutSpec) { *r.Audit.MaxDenials = 5 },
		events: map[int][]event{
			1: {deny("node-a", 2)}, 3: {deny("node-b", 3)},
		},
	},
	{
		name: "step-back-staged", nodes: []string{"node-a", "node-b"}, steps: 30,
		events: map[int][]event{
			14: {edit("tighten egress", nil)},
			22: {deny("node-a", 20), deny("node-b", 20)},
			23: {deny("node-a", 20), deny("node-b", 20)},
			27: {request(ControlPromote, AnnotationPromote)},
		},
	},
	{
		name: "step-back-after-enforce", nodes: []string{"node-a", "node-b"}, steps: 32,
		events: map[int][]event{
			14: {edit("tighten egress", nil)},
			28: {deny("node-a", 30)},
			29: {deny("node-a", 30)},
		},
	},
	{
		name: "pause", nodes: []string{"node-a", "node-b"}, steps: 24,
		setup: func(r *v1alpha1.RolloutSpec) { r.Paused = true },
		events: map[int][]event{
			8:  {edit("unpause", func(r *v1alpha1.RolloutSpec) { r.Paused = false })},
			16: {request(ControlPause, AnnotationPause)},
			20: {request(ControlResume, AnnotationResume)},
		},
	},
	{
		name: "new-generation-during-staged", nodes: []string{"node-a", "node-b"}, steps: 34,
		events: map[int][]event{
			14: {edit("add a rule", nil)},
			22: {edit("add another rule", nil)},
		},
	},
	{
		name: "stale-node", nodes: []string{"node-a", "node-b", "node-c"}, steps: 16,
		events: map[int][]event{
			2: {silence("node-c")}, 10: {revive("node-c")},
		},
	},
	{
		name: "missing-node", nodes: []string{"node-a", "node-b"}, steps: 10,
		events: map[int][]event{0: {silence("node-b")}},
	},
	{
		name: "immediate", nodes: []string{"node-a", "node-b"}, steps: 6,
		setup: func(r *v1alpha1.RolloutSpec) { r.Strategy = v1alpha1.RolloutImmediate },
		events: map[int][]event{
			3: {edit("add a rule", nil), deny("node-a", 50)},
		},
	},
	{
		name: "deletion", nodes: []string{"node-a", "node-b"}, steps: 10,
		events: map[int][]event{7: {deleteIt()}, 8: {deny("node-a", 40)}},
	},
	{
		name: "edit-during-step-back", nodes: []string{"node-a", "node-b"}, steps: 40,
		events: map[int][]event{
			14: {edit("tighten egress", nil)},
			22: {deny("node-a", 30), deny("node-b", 30)},
			26: {edit("allow what was denied", nil)},
		},
	},
	{
		name: "rollback-request", nodes: []string{"node-a"}, steps: 30,
		events: map[int][]event{
			14: {edit("tighten egress", nil)},
			28: {request(ControlRollback, AnnotationRollback)},
		},
	},
	{
		name: "invalid-candidate", nodes: []string{"node-a"}, steps: 26,
		events: map[int][]event{
			14: {invalidate("spec.ingress[0].source.selector: unparsable")},
			18: {request(ControlPromote, AnnotationPromote)},
			20: {editValid()},
		},
	},
}
