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
