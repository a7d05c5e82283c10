package chart

import (
	"strings"

	"github.com/palisade-dev/palisade/test/output"
)

// linesWith returns the lines of what log holds that contain any of words, at most max of the last
// ones: the API server logs a line per retry of a failing controller, so the tail is what matters.
func linesWith(log *output.Buffer, max int, words ...string) []string {
	var out []string
	for _, line := range strings.Split(log.String(), "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}
