package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// examplesDir is the repository's examples/ folder, seen from pkg/cli.
const examplesDir = "../../examples"

// verdictRow is one row of an example README's verdict table:
//
//	| from | to | verdict |
//	| payments/checkout | kube-system/coredns:53/UDP | allow |
type verdictRow struct {
	from, to, port string
	allow          bool
	text           string
}

// readVerdictTable returns the rows of the README's "| from | to | verdict |"
// table; ok is false when the README has no such table.
func readVerdictTable(t *testing.T, readme string) (rows []verdictRow, ok bool) {
	t.Helper()
	f, err := os.Open(readme)
	if os.IsNotExist(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case !strings.HasPrefix(line, "|"):
			in = false
		case slices.Equal(cells, []string{"from", "to", "verdict"}):
			in, ok = true, true
		case in && strings.HasPrefix(cells[0], "---"):
		case in:
			if len(cells) != 3 {
				t.Fatalf("%s: verdict row %q: want 3 cells", readme, line)
			}
			at := strings.LastIndex(cells[1], ":")
			if at < 0 {
				t.Fatalf("%s: verdict row %q: destination %q has no :PORT/PROTOCOL", readme, line, cells[1])
			}
			r := verdictRow{from: cells[0], to: cells[1][:at], port: cells[1][at+1:], text: line}
			switch {
			case strings.HasPrefix(cells[2], "allow"):
				r.allow = true
			case strings.HasPrefix(cells[2], "deny"):
			default:
				t.Fatalf("%s: verdict row %q: verdict must start with allow or deny", readme, line)
			}
			rows = append(rows, r)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows, ok
}

// TestExamples runs trace for every row of each example's verdict table
// and matrix over each such example, comparing the whole output (text and
// JSON) with golden files under testdata/examples/<example>/. It also holds
// the README to the engine: the exit code must say what the table says.
func TestExamples(t *testing.T) {
	dirs, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	scenarios := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(examplesDir, d.Name())
		rows, ok := readVerdictTable(t, filepath.Join(dir, "README.md"))
		if !ok {
			continue // lint/convert material (invalid/, calico/), not a scenario
		}
		scenarios++
		t.Run(d.Name(), func(t *testing.T) {
			golden := filepath.Join("testdata", "examples", d.Name())
			if *update {
				if err := os.RemoveAll(golden); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			check := func(name string, r runResult) {
				want = append(want, name)
				checkGolden(t, filepath.Join(golden, name), r.transcript())
			}
			for i, row := range rows {
				args := []string{"trace", "-f", dir, "--from", row.from, "--to", row.to, "--port", row.port}
				text := runCLI("", args...)
				wantCode := 1
				if row.allow {
					wantCode = 0
				}
				if text.code != wantCode {
					t.Errorf("README row %q: exit code %d, want %d\n%s", row.text, text.code, wantCode, text.transcript())
				}
				check(fmt.Sprintf("trace-%d.golden", i+1), text)
				check(fmt.Sprintf("trace-%d-json.golden", i+1), runCLI("", append(args, "-o", "json")...))
			}
			matrix := runCLI("", "matrix", "-f", dir)
			if matrix.code != 0 {
				t.Errorf("matrix exit code %d\n%s", matrix.code, matrix.transcript())
			}
			check("matrix.golden", matrix)
			check("matrix-json.golden", runCLI("", "matrix", "-f", dir, "-o", "json"))
			if *update {
				return
			}
			// No golden file may outlive its README row.
			entries, err := os.ReadDir(golden)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if !slices.Contains(want, e.Name()) {
					t.Errorf("stale golden file %s: rerun with -update", filepath.Join(golden, e.Name()))
				}
			}
		})
	}
	if scenarios < 3 {
		t.Fatalf("found %d examples with a verdict table in %s; the examples moved or lost their tables", scenarios, examplesDir)
	}
}
