// Package output holds what tests need to capture the output of processes they run: a buffer a
// running command writes while the test reads it. It must never be imported by product code.
package output
