// Command standin stands in for palisade-enforcer, which is not on this branch yet, in the enforcer
// image test: it prints its arguments so the test can see it ran from the extracted image.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	fmt.Println("standin-enforcer", strings.Join(os.Args[1:], " "))
}
