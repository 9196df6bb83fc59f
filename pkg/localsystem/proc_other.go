//go:build !linux

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

package localsystem

import "syscall"

// sysProcAttr: outside Linux there is no parent-death signal, so children are stopped only by
// System.Stop. The local system is developed and tested on Linux.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
