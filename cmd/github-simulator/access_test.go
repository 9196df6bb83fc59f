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

package main

import (
	"slices"
	"testing"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// TestAccessFlags: every account exists unless --any-account=false, which keeps to --accounts;
// the rate-limit flags reach the simulator.
func TestAccessFlags(t *testing.T) {
	if o := parse(t); !o.anyAccount {
		t.Error("--any-account is not the default")
	}
	o := parse(t, "--listen", "127.0.0.1:0", "--separate-hosts=false", "--tls=false", "--any-account=false",
		"--accounts", "acme, acme/app", "--accounts", "enterprises/big", "--rest-secondary-limit", "5", "--jit-config-rate", "3")
	so, err := o.simulatorOptions()
	if err != nil || so.AnyAccount || !slices.Equal(so.Accounts, []string{"acme", "acme/app", "enterprises/big"}) ||
		so.RESTSecondaryLimit != 5 || so.JITConfigRate != 3 {
		t.Fatalf("options %+v, %v", so, err)
	}
	sim, err := simulator.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if got := sim.Accounts(); !slices.Equal(got, []string{"acme", "acme/app", "enterprises/big"}) {
		t.Errorf("accounts %v", got)
	}
	s := sim.Settings()
	if *s.RESTSecondaryLimit != 5 || *s.JITConfigRate != 3 || *s.AnyAccount {
		t.Errorf("settings %+v", s)
	}
	if sim, err := simulator.Start(simulator.Options{Accounts: []string{"a/b/c"}}); err == nil {
		sim.Close()
		t.Error("a malformed account was accepted")
	}
}
