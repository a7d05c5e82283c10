package argocd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

// healthCase is one entry of health_test.yaml.
type healthCase struct {
	InputPath string `json:"inputPath"`
	ArgoCD    struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"argocd"`
	Kstatus           string `json:"kstatus"`
	KubectlWait       string `json:"kubectlWait"`
	KnownDisagreement string `json:"knownDisagreement"`
}

func loadCases(t *testing.T) []healthCase {
	t.Helper()
	raw, err := os.ReadFile("health_test.yaml")
	if err != nil {
		t.Fatalf("reading health_test.yaml: %v", err)
	}
	var file struct {
		Tests []healthCase `json:"tests"`
	}
	if err := yaml.UnmarshalStrict(raw, &file); err != nil {
		t.Fatalf("parsing health_test.yaml: %v", err)
	}
	if len(file.Tests) == 0 {
		t.Fatal("health_test.yaml has no tests")
	}
	return file.Tests
}

// loadObject reads a fixture as the API server would hand it to Argo CD and kstatus: unstructured,
// integers as int64.
func loadObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return u
}

// TestHealth runs health.lua, kstatus and kubectl wait's rule on every fixture and compares each with
// health_test.yaml, then checks that the three agree.
func TestHealth(t *testing.T) {
	script := readScript(t)
	seen := map[string]bool{}
	for _, tc := range loadCases(t) {
		t.Run(filepath.Base(tc.InputPath), func(t *testing.T) {
			obj := loadObject(t, tc.InputPath)
			seen[obj.GetKind()] = true
			status, message, err := argoHealth(obj, script)
			if err != nil {
				t.Fatalf("health.lua: %v", err)
			}
			if status != tc.ArgoCD.Status || message != tc.ArgoCD.Message {
				t.Errorf("health.lua = %s %q, want %s %q", status, message, tc.ArgoCD.Status, tc.ArgoCD.Message)
			}
			res, err := kstatus.Compute(obj)
			if err != nil {
				t.Fatalf("kstatus: %v", err)
			}
			if string(res.Status) != tc.Kstatus {
				t.Errorf("kstatus = %s (%s), want %s", res.Status, res.Message, tc.Kstatus)
			}
			wait := kubectlWaitReady(obj)
			if wait != tc.KubectlWait {
				t.Errorf("kubectl wait --for=condition=Ready %s, want %s", wait, tc.KubectlWait)
			}
			agree := agreement(status, string(res.Status), wait)
			if agree != "" && tc.KnownDisagreement == "" {
				t.Errorf("tools disagree: %s", agree)
			}
			if agree == "" && tc.KnownDisagreement != "" {
				t.Errorf("knownDisagreement given, but the tools agree: remove it")
			}
		})
	}
	for _, kind := range []string{"NetworkPolicy", "GlobalNetworkPolicy"} {
		if !seen[kind] {
			t.Errorf("no fixture of kind %s", kind)
		}
	}
}

// agreement says how Argo CD, kstatus and kubectl wait disagree, or "" when they agree.
func agreement(argo, ks, wait string) string {
	want := map[string]struct{ ks, wait string }{
		"Healthy":     {"Current", "met"},
		"Suspended":   {"Current", "met"},
		"Progressing": {"InProgress", "waits"},
		"Degraded":    {"Failed", "waits"},
	}[argo]
	switch {
	case want.ks == "":
		return "Argo CD health " + argo + " has no kstatus counterpart"
	case argo == "Progressing" && ks == "Terminating" && wait == "waits":
		return ""
	case ks != want.ks || wait != want.wait:
		return fmt.Sprintf("Argo CD %s, kstatus %s, kubectl wait %s", argo, ks, wait)
	}
	return ""
}

// kubectlWaitReady applies kubectl wait --for=condition=Ready's rule: the Ready condition is True and
// its observedGeneration (or, without one, status.observedGeneration) is not behind
// metadata.generation.
func kubectlWaitReady(obj *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Ready" {
			continue
		}
		if gen, found, _ := unstructured.NestedInt64(obj.Object, "metadata", "generation"); found {
			observed, found, _ := unstructured.NestedInt64(m, "observedGeneration")
			if !found {
				observed, found, _ = unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
			}
			if found && observed < gen {
				return "waits"
			}
		}
		if m["status"] == "True" {
			return "met"
		}
		return "waits"
	}
	return "waits"
}

func readScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("health.lua")
	if err != nil {
		t.Fatalf("reading health.lua: %v", err)
	}
	return string(b)
}

// argoHealth runs a health script as Argo CD runs one from argocd-cm: a fresh VM without the
// standard libraries (only package, base and table are opened), a one second deadline, the object as
// the global obj, and a table with status and message as the result; a status Argo CD does not know
// is an error here (Argo CD would show Unknown).
func argoHealth(obj *unstructured.Unstructured, script string) (status, message string, err error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", fmt.Errorf("opening %s: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj.Object))
	if err := l.DoString(script); err != nil {
		return "", "", fmt.Errorf("running the script: %w", err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, want a table", l.Get(-1).Type())
	}
	st, ok := ret.RawGetString("status").(lua.LString)
	if !ok {
		return "", "", fmt.Errorf("status is %s, want a string", ret.RawGetString("status").Type())
	}
	switch string(st) {
	case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
	default:
		return "", "", fmt.Errorf("status %q is not an Argo CD health status", st)
	}
	msg := ret.RawGetString("message")
	if msg.Type() != lua.LTNil && msg.Type() != lua.LTString {
		return "", "", fmt.Errorf("message is %s, want a string", msg.Type())
	}
	if msg.Type() == lua.LTString {
		message = msg.String()
	}
	return string(st), message, nil
}

// toLua converts decoded JSON as Argo CD does: objects to tables with string keys, arrays to
// sequences, numbers (int64 from the API, float64 otherwise) to Lua numbers.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, e := range v {
			t.RawSetString(k, toLua(l, e))
		}
		return t
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, e := range v {
			t.Append(toLua(l, e))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	default:
		return lua.LNil
	}
}
