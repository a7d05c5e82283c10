package command

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestExec(t *testing.T) {
	ctx := context.Background()
	out, err := Exec{}.Run(ctx, []byte("hello"), "cat")
	if err != nil || string(out) != "hello" {
		t.Fatalf("cat = %q, %v", out, err)
	}
	_, err = Exec{}.Run(ctx, nil, "sh", "-c", "echo oops >&2; exit 3")
	var ce *Error
	var ee *exec.ExitError
	if !errors.As(err, &ce) || ce.Stderr != "oops" || !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("error = %#v", err)
	}
	if want := "running sh -c echo oops >&2; exit 3: exit status 3: oops"; err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
	// With a namespace the command goes through ip netns exec (which fails here: no such namespace).
	_, err = Exec{Netns: "pal-does-not-exist"}.Run(ctx, nil, "true")
	if err == nil || !strings.HasPrefix(err.Error(), "running ip netns exec pal-does-not-exist true: ") {
		t.Fatalf("netns error = %v", err)
	}
}

func TestRecorder(t *testing.T) {
	r := &Recorder{Next: Func(func(_ context.Context, stdin []byte, name string, _ ...string) ([]byte, error) {
		return append([]byte(name+":"), stdin...), nil
	})}
	out, _ := r.Run(context.Background(), []byte("x"), "a", "b")
	calls := r.Calls()
	if string(out) != "a:x" || len(calls) != 1 || calls[0].Line() != "a b" || calls[0].Stdin != "x" || len(r.Calls()) != 0 {
		t.Fatalf("out %q calls %+v", out, calls)
	}
}
