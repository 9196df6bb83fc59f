/*
Copyright 2026 The runnerset-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package contract

import (
	"strconv"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// Annotations node autoscalers read before they take a pod's node away.
const (
	// AnnotationSafeToEvict is cluster-autoscaler's: "false" keeps the node while the pod runs.
	AnnotationSafeToEvict = "cluster-autoscaler.kubernetes.io/safe-to-evict"
	// AnnotationDoNotDisrupt is Karpenter's: "true" keeps the node from voluntary disruption
	// (consolidation, drift, expiry) while the pod runs.
	AnnotationDoNotDisrupt = "karpenter.sh/do-not-disrupt"
)

// DisruptionAnnotations tell cluster-autoscaler and Karpenter whether a runner pod may lose its
// node: an idle runner may (another takes its place), a busy one may not, since its job would be
// lost with it. A key the RunnerSet's template sets is left out: the user's value wins.
func DisruptionAnnotations(rs *v1alpha1.RunnerSet, busy bool) map[string]string {
	out := map[string]string{
		AnnotationSafeToEvict:  strconv.FormatBool(!busy),
		AnnotationDoNotDisrupt: strconv.FormatBool(busy),
	}
	for k := range out {
		if _, set := rs.Spec.Template.Annotations[k]; set {
			delete(out, k)
		}
	}
	return out
}
