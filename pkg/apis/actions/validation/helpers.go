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
package validation

import (
	"fmt"
	"maps"
	"net/url"
	"slices"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

func parseHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("must be an http:// or https:// URL with a host")
	}
	return u, nil
}

func validateLabels(labels map[string]string, p *field.Path) field.ErrorList {
	return metav1validation.ValidateLabels(labels, p)
}

// validateReservedPodLabels refuses template labels the server sets on runner pods: the server's
// value would replace the template's without a word.
func validateReservedPodLabels(labels map[string]string, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if why, ok := contract.ReservedPodLabel(k); ok {
			allErrs = append(allErrs, field.Forbidden(p.Key(k), fmt.Sprintf("the server sets this label on every runner pod (%s): remove it from the template", why)))
		}
	}
	return allErrs
}
