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

package actions

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParseJobMessages: decoding a message body never panics, and what decodes survives a
// round trip unchanged. Seeds: testdata/fuzz/FuzzParseJobMessages.
func FuzzParseJobMessages(f *testing.F) {
	f.Add(`[{"messageType":"JobAvailable","runnerRequestId":5001,"requestLabels":["arc"]}]`)
	f.Add(``)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		msgs, err := ParseJobMessages(body)
		if err != nil {
			return
		}
		again, err := json.Marshal(msgs)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", msgs, err)
		}
		back, err := ParseJobMessages(string(again))
		if err != nil {
			t.Fatalf("decoding the re-encoded %s: %v", again, err)
		}
		if len(msgs) == 0 && len(back) == 0 {
			return
		}
		if !reflect.DeepEqual(normalize(msgs), normalize(back)) {
			t.Fatalf("round trip changed the messages:\n%#v\n%#v", msgs, back)
		}
		_ = RequestIDs(msgs)
	})
}

// normalize makes nil and empty label slices and time zones compare equal.
func normalize(in []JobMessage) []JobMessage {
	out := make([]JobMessage, len(in))
	for i, m := range in {
		if len(m.RequestLabels) == 0 {
			m.RequestLabels = nil
		}
		m.QueueTime = m.QueueTime.UTC()
		m.ScaleSetAssignTime = m.ScaleSetAssignTime.UTC()
		m.RunnerAssignTime = m.RunnerAssignTime.UTC()
		m.FinishTime = m.FinishTime.UTC()
		out[i] = m
	}
	return out
}

// FuzzDecodeMessage: decoding a long-poll answer never panics; empty bodies are ErrEmptyResponse
// and a decoded message's job messages decode without panicking either. Seeds:
// testdata/fuzz/FuzzDecodeMessage.
func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"messageId":1,"messageType":"RunnerScaleSetJobMessages","body":"[]","statistics":{}}`))
	f.Add([]byte("\xef\xbb\xbf"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := DecodeMessage(raw)
		if err != nil {
			if m != nil {
				t.Fatal("message and error")
			}
			return
		}
		if m == nil {
			t.Fatal("neither message nor error")
		}
		if errors.Is(err, ErrEmptyResponse) {
			t.Fatal("unreachable")
		}
		_, _ = m.JobMessages()
	})
}
