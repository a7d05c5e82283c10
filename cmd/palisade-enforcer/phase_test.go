package main

import (
	"testing"

	"github.com/palisade-dev/palisade/pkg/render"
)

func TestPhaseFlagsRenderOptions(t *testing.T) {
	f := defaultPhaseFlags()
	if !f.rolloutPhases {
		t.Fatal("rollouts must be followed by default")
	}
	o, err := f.renderOptions()
	if err != nil {
		t.Fatal(err)
	}
	if o.Observe != render.DefaultObservation() {
		t.Fatalf("default observation %+v, want %+v", o.Observe, render.DefaultObservation())
	}
	for name, mut := range map[string]func(*phaseFlags){
		"the Log rules' group": func(f *phaseFlags) { f.nflogGroup = 1 },
		"no shadow rate":       func(f *phaseFlags) { f.observeRate = 0 },
		"drop rate too high":   func(f *phaseFlags) { f.dropLogRate = 20000 },
	} {
		g := defaultPhaseFlags()
		mut(&g)
		if _, err := g.renderOptions(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	off := defaultPhaseFlags()
	off.nflogGroup, off.observeRate = 0, 0
	if o, err := off.renderOptions(); err != nil || o.Observe.Group != 0 {
		t.Errorf("observation off: %+v, %v", o.Observe, err)
	}
}
