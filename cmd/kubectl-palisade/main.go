// Command kubectl-palisade is the Palisade CLI; installed on the PATH it runs as "kubectl palisade".
package main

import (
	"os"

	"github.com/palisade-dev/palisade/pkg/cli"
)

func main() {
	streams := cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cli.HandleError(cli.NewRootCommand(streams).Execute(), streams.ErrOut))
}
