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

package app

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionFlag(t *testing.T) {
	cmd := NewCommand(context.Background(), NewOptions())
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--version"})
	require.NoError(t, cmd.Execute(), "--version needs no other flag")
	assert.True(t, strings.HasPrefix(out.String(), "runnerset-apiserver "), out.String())
	assert.Contains(t, out.String(), runtime.GOOS+"/"+runtime.GOARCH)
}

func TestJSONLoggingIsRegistered(t *testing.T) {
	o := NewOptions()
	cmd := NewCommand(context.Background(), o)
	require.NoError(t, cmd.ParseFlags([]string{"--logging-format=json"}))
	assert.Equal(t, "json", o.Logs.Format)
	assert.Contains(t, cmd.Flags().Lookup("logging-format").Usage, `"json"`, "the json format is compiled in")
}

// TestHungRunnerFlags: a runner's exit grace defaults to 2m, 0 turns it off, and a negative one
// is refused.
func TestHungRunnerFlags(t *testing.T) {
	o := NewOptions()
	assert.Equal(t, 2*time.Minute, o.Scaler.ExitGrace)
	cmd := NewCommand(context.Background(), o)
	require.NoError(t, cmd.ParseFlags([]string{"--runner-exit-grace=0"}))
	assert.Zero(t, o.Scaler.ExitGrace)
	assert.Empty(t, o.Scaler.Validate(), "0 disables, it is no error")

	o.Scaler.ExitGrace = -time.Second
	errs := o.Scaler.Validate()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "--runner-exit-grace")
}
