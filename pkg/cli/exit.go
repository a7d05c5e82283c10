package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Exit codes shared by the commands.
const (
	// ExitInvalid: the input was read but something in it is invalid (lint), or did not convert.
	ExitInvalid = 1
	// ExitUsage: the command could not do its job: bad flags, unreadable or unparsable input.
	ExitUsage = 2
)

// ExitError ends a command with a given exit code. The command has already written whatever
// explains the failure, so HandleError prints nothing more for it.
type ExitError struct {
	Code int
}

func (e *ExitError) Error() string { return "exit status " + strconv.Itoa(e.Code) }

// HandleError turns the error of a command into the process exit code: nil is 0, an *ExitError
// its code, anything else (flag parsing, unexpected failures) is printed to errOut and gives
// ExitUsage.
func HandleError(err error, errOut io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	fmt.Fprintf(errOut, "error: %s\n", escapeLines(err.Error()))
	return ExitUsage
}
