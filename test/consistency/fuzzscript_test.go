package consistency

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFuzzScriptTellsDeadlineRaceFromFinding holds hack/fuzz.sh's classifier to real logs: only a
// failure whose whole report is Go 1.26's bare "context deadline exceeded" (go.dev/issue/75804) is
// retried; a written input, a target's own message that mentions a deadline, or a panic fail CI.
func TestFuzzScriptTellsDeadlineRaceFromFinding(t *testing.T) {
	for log, want := range map[string]string{
		"deadline-race.log":        "deadline-race", // CI's FuzzParsePeer failure of stop 19
		"ok.log":                   "ok",
		"crash.log":                "crash",
		"deadline-and-message.log": "crash",
		"panic.log":                "crash",
	} {
		t.Run(log, func(t *testing.T) {
			in, err := os.Open(filepath.Join("testdata", "fuzzlogs", log))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			cmd := exec.Command("bash", filepath.Join(root, "hack", "fuzz.sh"), "--classify")
			cmd.Stdin = in
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("hack/fuzz.sh --classify < %s: %v", log, err)
			}
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("hack/fuzz.sh --classify < %s = %q, want %q", log, got, want)
			}
		})
	}
}
