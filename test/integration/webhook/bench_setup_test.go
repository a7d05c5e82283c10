package webhookintegration

// setup is one admission configuration the benchmark measures, by name.
type setup struct {
	name string
	admission
}

var (
	// installed is Palisade as config/default installs it: the CRD schema and the admission policy
	// fill the defaults in the API server, and only the validating webhook is registered.
	installed = setup{"Palisade admission (as installed)", asInstalled}
	// fallback is a cluster without the admission policy (before Kubernetes 1.36): the mutating
	// webhook fills the defaults, so both webhooks are called.
	fallback = setup{"webhooks only (no admission policy)", webhookDefaulting}
	// baseline registers nothing of Palisade's admission; the CRD schema defaults stay, as they
	// are part of the CRD.
	baseline = setup{"baseline (no Palisade admission)", admission{}}
	// validationOnly is not a way to install Palisade (types would be stored unset); it splits
	// what validation costs from what defaulting costs.
	validationOnly = setup{"validating webhook alone (diagnostic)", admission{validating: true}}
	// emptyWebhook is not Palisade's at all: a webhook that admits without looking, to measure what
	// any webhook call costs this API server on this machine.
	emptyWebhook = setup{"empty webhook (diagnostic)", admission{empty: true}}
	// genericValidation is validationOnly with the review decoded by controller-runtime's generic
	// handler instead of Palisade's one-pass handler: whether that handler earns its keep end to
	// end. Not in the default set; pick it with -setups.
	genericValidation = setup{"validating webhook alone, controller-runtime's handler (diagnostic)", admission{generic: true}}
	setups            = []setup{installed, fallback, validationOnly, emptyWebhook, baseline}
	// allSetups are the setups -setups can pick, by their short names.
	allSetups = map[string]setup{"installed": installed, "fallback": fallback, "validating": validationOnly,
		"empty": emptyWebhook, "baseline": baseline, "generic": genericValidation}
)
