package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
)

// version is set at build time (-ldflags "-X main.version=v0.1.0", as `make images` and the
// Dockerfile do); otherwise the module version or VCS revision the binary was built from.
var version = ""

// --version is handled while the flags are parsed: it prints and exits before anything starts.
func init() {
	flag.BoolFunc("version", "print the version and exit", func(string) error {
		fmt.Println("palisade-controller", buildVersion())
		os.Exit(0)
		return nil
	})
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return info.Main.Version
}
