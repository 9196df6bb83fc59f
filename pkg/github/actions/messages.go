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

// JobMessages decodes the job messages of a RunnerScaleSetJobMessages message. Other message
// types hold none (nil, nil): acknowledge and skip them rather than stall the queue on them.
func (m *Message) JobMessages() ([]JobMessage, error) {
	if m == nil || m.MessageType != MessageTypeJobMessages {
		return nil, nil
	}
	return ParseJobMessages(m.Body)
}

// RequestIDs returns the runner request ids of the JobAvailable messages among msgs, in order and
// without duplicates: what AcquireJobs takes.
func RequestIDs(msgs []JobMessage) []int64 {
	var ids []int64
	seen := map[int64]bool{}
	for _, jm := range msgs {
		if jm.MessageType == JobMessageAvailable && !seen[jm.RunnerRequestID] {
			seen[jm.RunnerRequestID] = true
			ids = append(ids, jm.RunnerRequestID)
		}
	}
	return ids
}
