package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/palisade-dev/palisade/hack/imagebuild/images"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

const usage = "usage: imagebuild controller|enforcer --binary PATH --version V --out DIR [--revision R] [--arch GOARCH] [--deb-cache DIR] [--packages a,b]"

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(usage)
	}
	kind := args[0]
	fs := flag.NewFlagSet(kind, flag.ContinueOnError)
	var o images.Options
	var out, packages string
	fs.StringVar(&o.Binary, "binary", "", "the static binary to package (required)")
	fs.StringVar(&o.Version, "version", "dev", "image version: the layout's tag and the version label")
	fs.StringVar(&out, "out", "", "directory of the OCI image layout to write (replaced; required)")
	fs.StringVar(&o.Revision, "revision", "", "source revision for the org.opencontainers.image.revision label")
	fs.StringVar(&o.Architecture, "arch", runtime.GOARCH, "GOARCH the binary was built for")
	fs.StringVar(&o.DebCache, "deb-cache", "", "enforcer: directory of downloaded Debian packages, kept between builds (required for enforcer)")
	fs.StringVar(&packages, "packages", strings.Join(images.EnforcerPackages, ","), "enforcer: Debian packages to add, with their dependencies")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; %s", fs.Args(), usage)
	}
	if o.Binary == "" || out == "" {
		return fmt.Errorf("--binary and --out are required; %s", usage)
	}
	o.Packages = strings.Split(packages, ",")
	var err error
	if o.Created, err = sourceDate(os.Getenv("SOURCE_DATE_EPOCH")); err != nil {
		return err
	}
	digest, err := images.Build(ctx, kind, o, out)
	if err != nil {
		return err
	}
	fmt.Printf("palisade-%s:%s %s -> %s\n", kind, o.Version, digest, out)
	return nil
}

// sourceDate is the images' creation time: SOURCE_DATE_EPOCH (reproducible builds) or the epoch,
// never the clock, so that building twice gives the same digest.
func sourceDate(v string) (time.Time, error) {
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", v)
	}
	return time.Unix(secs, 0).UTC(), nil
}
