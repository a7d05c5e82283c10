package cli

import "testing"

// Issue 13 item 4: an object that could carry policy and is not understood is an error with exit 2
// in every command — lint too, which exited 1 for an unknown kind or version of Palisade's own group
// as if the policy were merely invalid.
func TestLintUnreadablePolicyKindExits2(t *testing.T) {
	for name, tc := range map[string]struct{ doc, stdout string }{
		"misspelt kind": {
			doc:    "apiVersion: policy.palisade.dev/v1alpha1\nkind: NetworkPolicyy\nmetadata: {name: x, namespace: a}\nspec: {}\n",
			stdout: "<stdin>:0: NetworkPolicyy/a/x: kind: unknown kind \"NetworkPolicyy\" in policy.palisade.dev/v1alpha1; its kinds are NetworkPolicy and GlobalNetworkPolicy (line 2)\n",
		},
		"unknown version": {
			doc:    "apiVersion: policy.palisade.dev/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {}\n",
			stdout: "<stdin>:0: NetworkPolicy/a/x: apiVersion: unknown version \"v1\" of policy.palisade.dev; the served version is policy.palisade.dev/v1alpha1 (line 1)\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(tc.doc, "lint", "-f", "-")
			if r.code != ExitUsage {
				t.Errorf("exit code %d, want %d", r.code, ExitUsage)
			}
			if r.stdout != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, tc.stdout)
			}
			// The same input to trace: exit 2 as well, so the commands agree.
			if tr := runCLI(tc.doc, "trace", "-f", "-", "--from", "a/b", "--to", "a/c", "--port", "80"); tr.code != ExitUsage {
				t.Errorf("trace exit code %d, want %d", tr.code, ExitUsage)
			}
		})
	}
	// An invalid policy of a known kind is still exit 1: it was read, and it is invalid.
	r := runCLI("apiVersion: policy.palisade.dev/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {order: 1, bogus: 1}\n", "lint", "-f", "-")
	if r.code != ExitInvalid {
		t.Errorf("an unknown field: exit code %d, want %d (%s)", r.code, ExitInvalid, r.stdout)
	}
}
