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

package auth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestRegistrationGoldenPayloads: the runner-registration exchange sends and reads the
// protocol reference's payloads, which the simulator's own wire types are pinned to as well
// (pkg/github/simulator/testdata/wire).
func TestRegistrationGoldenPayloads(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "simulator", "testdata", "wire", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	body, err := EncodeRegistrationRequest("https://github.com/acme/app")
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if json.Unmarshal(body, &got) != nil || json.Unmarshal(read("runner-registration-request.json"), &want) != nil {
		t.Fatal("undecodable JSON")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request body %s, golden %s", body, read("runner-registration-request.json"))
	}

	var rr registrationResponse
	if err := json.Unmarshal(read("runner-registration.json"), &rr); err != nil {
		t.Fatal(err)
	}
	wantRR := registrationResponse{
		URL:         "https://pipelinesghubeus22.actions.githubusercontent.com/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL/",
		Token:       "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3NzgwMDAwMDAsImlhdCI6MTc3Nzk5ODgwMH0.c2lnbmF0dXJl",
		TokenSchema: "OAuthAccessToken",
	}
	if rr != wantRR {
		t.Errorf("answer decoded as %+v, want %+v", rr, wantRR)
	}
	if exp, ok := TokenExpiry(rr.Token); !ok || !exp.Equal(time.Unix(1778000000, 0)) {
		t.Errorf("admin token expiry %v, %t", exp, ok)
	}
}
