package ociimage

import (
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Spec is what an image is made of: its layers, base first, and its configuration.
type Spec struct {
	Name         string // the layout's ref.name is Name:Version
	Version      string
	Architecture string // GOARCH of the binaries
	User         string // numeric uid:gid, so that runAsNonRoot can check it
	Entrypoint   []string
	Env          []string
	Labels       map[string]string
	Created      time.Time // the image's and every layer entry's time: never the clock
	Layers       [][]Entry
	CreatedBy    string // the history's created_by of every layer
}

// Build assembles the image: an OCI manifest and config on an empty base.
func Build(s Spec) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i, entries := range s.Layers {
		layer, err := Layer(entries, s.Created)
		if err != nil {
			return nil, fmt.Errorf("%s layer %d: %w", s.Name, i, err)
		}
		if img, err = mutate.Append(img, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: s.Created}, CreatedBy: s.CreatedBy, Comment: fmt.Sprintf("layer %d", i)},
		}); err != nil {
			return nil, fmt.Errorf("%s layer %d: %w", s.Name, i, err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s config: %w", s.Name, err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = s.Architecture
	cf.Created = v1.Time{Time: s.Created}
	cf.Config.User = s.User
	cf.Config.Entrypoint = s.Entrypoint
	cf.Config.Env = s.Env
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = s.Labels
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("%s config: %w", s.Name, err)
	}
	// mutate stamps nothing time-based by itself; CreatedAt keeps the given time explicit.
	if img, err = mutate.CreatedAt(img, v1.Time{Time: s.Created}); err != nil {
		return nil, fmt.Errorf("%s created: %w", s.Name, err)
	}
	return img, nil
}

// WriteLayout replaces dir with an OCI image layout holding img, tagged Name:Version
// (org.opencontainers.image.ref.name), which `skopeo copy oci:DIR:NAME:VERSION` or
// `podman load -i DIR` reads.
func WriteLayout(dir string, img v1.Image, s Spec) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("creating the layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": s.Name + ":" + s.Version,
	})); err != nil {
		return fmt.Errorf("writing %s to %s: %w", s.Name, dir, err)
	}
	return nil
}
