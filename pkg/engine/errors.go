package engine

import "fmt"

// NotStoredError reports an object the engine could not store at all (nil, no name, no namespace,
// an unknown slot): the engine is unchanged, so a verdict computed afterwards does not include
// it. Callers that promise a verdict over every object they were given must refuse to answer.
type NotStoredError struct {
	// Object names what was refused, as far as it can be named ("NetworkPolicy \"ns/\"").
	Object string
	Err    error
}

func (e *NotStoredError) Error() string { return fmt.Sprintf("%s not stored: %v", e.Object, e.Err) }

func (e *NotStoredError) Unwrap() error { return e.Err }

// InvalidPolicyError reports a policy generation that was stored but could not be interpreted:
// it fails closed (doc.go, "Invalid input fails closed"). Err names every problem.
type InvalidPolicyError struct {
	Key PolicyKey
	Err error
}

func (e *InvalidPolicyError) Error() string {
	return fmt.Sprintf("policy %s is invalid and fails closed: %v", e.Key, e.Err)
}

func (e *InvalidPolicyError) Unwrap() error { return e.Err }

func notStored(object string, err error) error { return &NotStoredError{Object: object, Err: err} }
