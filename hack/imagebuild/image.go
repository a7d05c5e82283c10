package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// spec is what an image is made of: its layers (base first) and its configuration.
type spec struct {
	name       string // e.g. palisade-controller: the layout's ref.name is name:version
	version    string
	title      string
	descr      string
	revision   string
	source     string
	user       string // numeric uid:gid
	entrypoint []string
	env        []string
	created    time.Time
	layers     [][]entry
}

// build assembles the image: an OCI manifest and config on an empty base.
func (s spec) build() (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i, entries := range s.layers {
		layer, err := buildLayer(entries, s.created)
		if err != nil {
			return nil, fmt.Errorf("%s layer %d: %w", s.name, i, err)
		}
		if img, err = mutate.Append(img, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: s.created}, CreatedBy: "hack/imagebuild " + s.name, Comment: fmt.Sprintf("layer %d", i)},
		}); err != nil {
			return nil, fmt.Errorf("%s layer %d: %w", s.name, i, err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s config: %w", s.name, err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Created = v1.Time{Time: s.created}
	cf.Config.User = s.user
	cf.Config.Entrypoint = s.entrypoint
	cf.Config.Env = s.env
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = s.labels()
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("%s config: %w", s.name, err)
	}
	return img, nil
}

// labels are the OCI annotation keys, as image config labels.
func (s spec) labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       s.title,
		"org.opencontainers.image.description": s.descr,
		"org.opencontainers.image.version":     s.version,
		"org.opencontainers.image.source":      s.source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.vendor":      "Palisade",
		"org.opencontainers.image.created":     s.created.UTC().Format(time.RFC3339),
	}
	if s.revision != "" {
		l["org.opencontainers.image.revision"] = s.revision
	}
	return l
}

// writeLayout replaces dir with an OCI image layout holding img, tagged name:version
// (org.opencontainers.image.ref.name), which `skopeo copy oci:dir:name:version` or
// `podman load` reads.
func writeLayout(dir string, img v1.Image, s spec) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("creating the layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": s.name + ":" + s.version,
	})); err != nil {
		return fmt.Errorf("writing %s to %s: %w", s.name, dir, err)
	}
	return nil
}
