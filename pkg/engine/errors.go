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

// InvalidPolicyError reports a policy generation that could not be interpreted. Either the slot
// already held a valid generation, which stays in force while this one is rejected
// (LastValidKept), or the generation was stored and fails closed for the pods its subject selector
// can be read to select (doc.go, "Invalid policies that reach the store"). Err names every
// problem.
type InvalidPolicyError struct {
	Key PolicyKey
	Err error
	// LastValidKept: the slot's last valid generation stays in force; this one was not stored.
	LastValidKept bool
}

func (e *InvalidPolicyError) Error() string {
	if e.LastValidKept {
		return fmt.Sprintf("policy %s is invalid and was rejected; its last valid generation stays in force: %v", e.Key, e.Err)
	}
	return fmt.Sprintf("policy %s is invalid and fails closed: %v", e.Key, e.Err)
}

func (e *InvalidPolicyError) Unwrap() error { return e.Err }

func notStored(object string, err error) error { return &NotStoredError{Object: object, Err: err} }
