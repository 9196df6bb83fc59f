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

package apiserver

import (
	"bytes"
	"net/http"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// TestControllersPreferringProtobufGetJSON: the kube-controller-manager's namespace controller
// asks for protobuf, or JSON. Our types have no protobuf encoding, so it must get JSON.
// Regression: it got protobuf, which failed to encode, and a namespace holding a RunnerSet was
// stuck Terminating for ever (found by the fault suite's namespace clean-up).
func TestControllersPreferringProtobufGetJSON(t *testing.T) {
	ns := WithoutProtobuf(Codecs)
	req, _ := http.NewRequest(http.MethodDelete, "/apis/actions.dev/v1alpha1/namespaces/team-a/runnersets", nil)
	req.Header.Set("Accept", "application/vnd.kubernetes.protobuf, application/json")
	_, info, err := negotiation.NegotiateOutputMediaType(req, ns, negotiation.DefaultEndpointRestrictions)
	if err != nil {
		t.Fatal(err)
	}
	if info.MediaType != runtime.ContentTypeJSON {
		t.Fatalf("negotiated %s, want JSON", info.MediaType)
	}
	var buf bytes.Buffer
	enc := ns.EncoderForVersion(info.Serializer, v1alpha1.SchemeGroupVersion)
	if err := enc.Encode(&v1alpha1.RunnerSetList{Items: []v1alpha1.RunnerSet{{}}}, &buf); err != nil {
		t.Fatalf("encoding a RunnerSetList: %v", err)
	}
	for _, s := range ns.SupportedMediaTypes() {
		if s.MediaType == runtime.ContentTypeProtobuf {
			t.Error("protobuf is still offered")
		}
	}
}
