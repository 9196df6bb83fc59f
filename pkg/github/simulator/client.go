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

package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

// ControlClient drives a simulator in another process through its /_sim/ control API. Its
// runner-side methods have the same signatures as Simulator's, so the runner emulator can
// use either.
type ControlClient struct {
	base string
	http *http.Client
}

// NewControlClient returns a client for the simulator at url (its URL(), e.g.
// "http://127.0.0.1:8090").
func NewControlClient(url string) *ControlClient {
	return &ControlClient{base: strings.TrimSuffix(url, "/"), http: &http.Client{Timeout: 30 * time.Second}}
}

// do sends a control request and decodes a 2xx answer into out (if not nil). It returns the
// status; a non-2xx answer is an error carrying the control API's error code.
func (c *ControlClient) do(method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		var ce controlError
		_ = json.Unmarshal(b, &ce)
		err := fmt.Errorf("simulator control %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(ce.Error))
		switch ce.Code {
		case codeUnknownJITConfig:
			err = fmt.Errorf("%w (%v)", ErrUnknownJITConfig, err)
		case codeRunnerNotFound:
			err = fmt.Errorf("%w (%v)", ErrRunnerNotFound, err)
		case codeNoJob:
			err = fmt.Errorf("%w (%v)", ErrNoJob, err)
		case codeTokenNotFound:
			err = fmt.Errorf("%w (%v)", ErrTokenNotFound, err)
		case codeRunnerTooOld:
			// The service's refusal itself: the runner prints it.
			err = &RunnerVersionError{Version: ce.Version, Minimum: ce.Minimum}
		}
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("simulator control %s %s: decoding: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// QueueJob queues one job and returns its runnerRequestId.
func (c *ControlClient) QueueJob(j Job) (int64, error) {
	ids, err := c.QueueJobs(j, 1)
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// QueueJobs queues n copies of a job.
func (c *ControlClient) QueueJobs(j Job, n int) ([]int64, error) {
	var out QueueJobsResponse
	if _, err := c.do(http.MethodPost, "/_sim/jobs", QueueJobsRequest{Job: j, Count: n}, &out); err != nil {
		return nil, err
	}
	if len(out.RequestIDs) == 0 {
		return nil, errors.New("simulator control: no job queued")
	}
	return out.RequestIDs, nil
}

// Job returns one job; false if the simulator does not know it.
func (c *ControlClient) Job(id int64) (JobStatus, bool, error) {
	var out JobStatus
	status, err := c.do(http.MethodGet, "/_sim/jobs/"+strconv.FormatInt(id, 10), nil, &out)
	if status == http.StatusNotFound {
		return JobStatus{}, false, nil
	}
	return out, err == nil, err
}

// JobAttempts returns every attempt of a job, first to last, given the request id of any of
// them; false if the simulator does not know it.
func (c *ControlClient) JobAttempts(id int64) ([]JobStatus, bool, error) {
	var out []JobStatus
	status, err := c.do(http.MethodGet, "/_sim/jobs/"+strconv.FormatInt(id, 10)+"/attempts", nil, &out)
	if status == http.StatusNotFound {
		return nil, false, nil
	}
	return out, err == nil, err
}

// Jobs lists every job.
func (c *ControlClient) Jobs() ([]JobStatus, error) {
	var out []JobStatus
	_, err := c.do(http.MethodGet, "/_sim/jobs", nil, &out)
	return out, err
}

// InjectFault adds a fault and returns its id for RemoveFault.
func (c *ControlClient) InjectFault(f Fault) (int, error) {
	var out struct {
		ID int `json:"id"`
	}
	_, err := c.do(http.MethodPost, "/_sim/faults", f, &out)
	return out.ID, err
}

// RemoveFault removes an injected fault.
func (c *ControlClient) RemoveFault(id int) error {
	_, err := c.do(http.MethodDelete, "/_sim/faults/"+strconv.Itoa(id), nil, nil)
	return err
}

// VanishScaleSet deletes a scale set behind the client's back.
func (c *ControlClient) VanishScaleSet(id int) error {
	_, err := c.do(http.MethodPost, "/_sim/scalesets/"+strconv.Itoa(id)+"/vanish", nil, nil)
	return err
}

// DropSession ends a scale set's session on the service side.
func (c *ControlClient) DropSession(scaleSetID int) error {
	_, err := c.do(http.MethodDelete, "/_sim/scalesets/"+strconv.Itoa(scaleSetID)+"/session", nil, nil)
	return err
}

// ExpireQueueTokens makes every current message-queue token answer 401.
func (c *ControlClient) ExpireQueueTokens() error {
	_, err := c.do(http.MethodPost, "/_sim/queue-tokens/expire", nil, nil)
	return err
}

// Counters returns the request counters.
func (c *ControlClient) Counters() (Counters, error) {
	var out Counters
	_, err := c.do(http.MethodGet, "/_sim/counters", nil, &out)
	return out, err
}

// ScaleSets lists the scale sets with their statistics.
func (c *ControlClient) ScaleSets() ([]RunnerScaleSet, error) {
	var out []RunnerScaleSet
	_, err := c.do(http.MethodGet, "/_sim/scalesets", nil, &out)
	return out, err
}

// Sessions lists the active message sessions.
func (c *ControlClient) Sessions() ([]Session, error) {
	var out []Session
	_, err := c.do(http.MethodGet, "/_sim/sessions", nil, &out)
	return out, err
}

// AddRunnerGroup adds a runner group.
func (c *ControlClient) AddRunnerGroup(name string) (RunnerGroup, error) {
	var out RunnerGroup
	_, err := c.do(http.MethodPost, "/_sim/runnergroups", map[string]string{"name": name}, &out)
	return out, err
}

// ListRunners lists the registered runners.
func (c *ControlClient) ListRunners() ([]RunnerInfo, error) {
	var out []RunnerInfo
	_, err := c.do(http.MethodGet, "/_sim/runners", nil, &out)
	return out, err
}

// ConnectRunner brings a JIT config's runner online.
func (c *ControlClient) ConnectRunner(encodedJITConfig string) (RunnerInfo, error) {
	return c.ConnectRunnerVersion(encodedJITConfig, "")
}

// ConnectRunnerVersion brings a JIT config's runner of version online; a version older than
// the simulator's minimum is a *RunnerVersionError.
func (c *ControlClient) ConnectRunnerVersion(encodedJITConfig, version string) (RunnerInfo, error) {
	var out RunnerInfo
	body := map[string]string{"encodedJITConfig": encodedJITConfig}
	if version != "" {
		body["version"] = version
	}
	_, err := c.do(http.MethodPost, "/_sim/runners/connect", body, &out)
	return out, err
}

// AcquireRunnerJob lets a runner take a job; false when there is none (or the simulator
// could not be reached, which is logged).
func (c *ControlClient) AcquireRunnerJob(runnerID int) (JobStatus, bool) {
	var out JobStatus
	status, err := c.do(http.MethodPost, "/_sim/runners/"+strconv.Itoa(runnerID)+"/acquire", nil, &out)
	if err != nil {
		klog.V(2).InfoS("Acquiring a runner job failed", "runnerID", runnerID, "err", err)
		return JobStatus{}, false
	}
	return out, status == http.StatusOK
}

// CompleteRunnerJob ends a runner's job.
func (c *ControlClient) CompleteRunnerJob(runnerID int, result string) error {
	_, err := c.do(http.MethodPost, "/_sim/runners/"+strconv.Itoa(runnerID)+"/complete", map[string]string{"result": result}, nil)
	return err
}

// DisconnectRunner takes a runner offline (errors are logged).
func (c *ControlClient) DisconnectRunner(runnerID int) {
	if _, err := c.do(http.MethodPost, "/_sim/runners/"+strconv.Itoa(runnerID)+"/disconnect", nil, nil); err != nil {
		klog.V(2).InfoS("Disconnecting a runner failed", "runnerID", runnerID, "err", err)
	}
}
