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

// Package charts holds no code: it is the home of the Helm charts (runnerset-apiserver/ and
// runnerset/) and of their tests, which lint them and check what they render with the real helm
// binary from _output/bin (make tools). Installing them on a real control plane is tested in
// test/e2e/helm_test.go.
package charts
