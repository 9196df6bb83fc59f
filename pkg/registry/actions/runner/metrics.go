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

package runner

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// consistentLists says where consistent runner lists were answered from: how often the cache
// could be proven current is what tells whether it pays.
var consistentLists = metrics.NewCounterVec(&metrics.CounterOpts{
	Name:           "runnerset_runner_consistent_lists_total",
	Help:           "Consistent runner lists, by where they were answered from: cache (proven current by a metadata read) or apiserver (read through).",
	StabilityLevel: metrics.ALPHA,
}, []string{"source"})

var registerOnce sync.Once

func registerMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(consistentLists) })
}

func countList(source string) { consistentLists.WithLabelValues(source).Inc() }
