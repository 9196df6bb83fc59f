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

// sysProcAttr puts a child in its own process group (a terminal's Ctrl-C reaches only us, and
// we stop the components in order) and has the kernel SIGKILL it if we die without stopping
// it, so that no etcd or kube-apiserver outlives a crashed test or local-up.
//
// Pdeathsig is tied to the OS thread that forked the child. The Go runtime does not retire
// threads except ones left locked by LockOSThread, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
