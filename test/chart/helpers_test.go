package chart

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

var (
	repoRoot   = filepath.Join("..", "..")
	chartDir   = filepath.Join(repoRoot, "charts", "palisade")
	configDir  = filepath.Join(repoRoot, "config")
	releaseNS  = "palisade-system"
	newKube    = "v1.37.1" // the envtest API server's version: defaults filled by the API server
	legacyKube = "v1.35.0" // before MutatingAdmissionPolicy: defaults filled by the mutating webhook
)

// rendering is the chart rendered once: each template's output and the objects in it.
type rendering struct {
	files   map[string]string
	objects []*unstructured.Unstructured
}

// render renders the chart as `helm template` would for a cluster of kubeVersion, validating the
// values against values.schema.json.
func render(vals map[string]any, kubeVersion string) (*rendering, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart: %w", err)
	}
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("kube version %q: %w", kubeVersion, err)
	}
	caps := *common.DefaultCapabilities
	caps.KubeVersion = *kv
	values, err := chartutil.ToRenderValues(ch, vals, common.ReleaseOptions{
		Name: "palisade", Namespace: releaseNS, Revision: 1, IsInstall: true,
	}, &caps)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	files, err := engine.Engine{Strict: true}.RenderWithContext(context.Background(), ch, values)
	if err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	r := &rendering{files: files}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		objs, err := parseObjects(files[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r.objects = append(r.objects, objs...)
	}
	return r, nil
}

// parseObjects splits a multi-document manifest into objects, dropping empty documents.
func parseObjects(manifest string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for i, doc := range splitDocuments(manifest) {
		// Through JSON with apimachinery's decoder, as client-go decodes: integers stay int64 (so
		// unstructured.NestedInt64 reads them), not float64.
		raw, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		var m map[string]any
		if err := utiljson.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document %d has no kind or apiVersion", i+1)
		}
		out = append(out, u)
	}
	return out, nil
}

func splitDocuments(manifest string) []string {
	var docs []string
	var cur bytes.Buffer
	for line := range strings.SplitSeq(manifest, "\n") {
		if strings.TrimRight(line, " \t") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(docs, cur.String())
}

// find returns the rendered object of that kind and name, or nil.
func (r *rendering) find(kind, name string) *unstructured.Unstructured {
	for _, o := range r.objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func (r *rendering) mustFind(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o := r.find(kind, name)
	if o == nil {
		t.Fatalf("the chart renders no %s %s; it renders %v", kind, name, r.kinds())
	}
	return o
}

func (r *rendering) kinds() []string {
	var out []string
	for _, o := range r.objects {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

// examples returns the documented values files of charts/palisade/examples by file name.
func examples(t *testing.T) map[string]map[string]any {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(chartDir, "examples", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no values examples in %s/examples (%v)", chartDir, err)
	}
	out := map[string]map[string]any{}
	for _, p := range paths {
		out[filepath.Base(p)] = readValues(t, p)
	}
	return out
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}
