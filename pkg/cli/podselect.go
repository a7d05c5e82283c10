package cli

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
)

// parsePodSelector reads --from/--to of matrix: a Kubernetes label selector, as kubectl -l takes.
func parsePodSelector(flag, s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s %q: want a label selector as kubectl -l takes, like app=web or tier in (web,api): %w", flag, clip(s), err)
	}
	return sel, nil
}

// selectPods keeps the pods whose labels the selector matches, in order.
func selectPods(pods []*podInfo, sel labels.Selector) []*podInfo {
	if sel.Empty() {
		return pods
	}
	var out []*podInfo
	for _, p := range pods {
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}
