// Package labcmd is the palisade-lab command tree (probe, up, cleanup, demo) over packages lab and
// lab/demo, kept out of package main so that the lab's suite can run it in-process.
//
// # What this package must never do
//
// It never exits the process itself (cmd/palisade-lab does, from Exit), and never leaves a lab
// running when a command returns, except `up` until its context ends.
package labcmd
