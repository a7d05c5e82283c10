package oracle

import (
	"math/rand"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := Generate(rand.New(rand.NewSource(7))).YAML()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(rand.New(rand.NewSource(7))).YAML()
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("same seed gave different scenarios:\n%s\n---- vs ----\n%s", a, b)
	}
}
