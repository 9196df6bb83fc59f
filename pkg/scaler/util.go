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

package scaler

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

type metav1ListOptions = metav1.ListOptions

func metav1ObjectMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}

func runnerSelector(runnerSet string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{v1alpha1.LabelRunnerSet: runnerSet})
}

func jsonMergePatch(v any) ([]byte, error) { return json.Marshal(v) }
