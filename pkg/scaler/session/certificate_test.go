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

package session

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCertificateUntrusted: a GitHub whose certificate the client does not trust is told apart
// from one it cannot reach, through the wrapping the token chain adds.
func TestCertificateUntrusted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())

	get := func(url string) error {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		return err
	}
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"unknown authority":         {get(srv.URL), true},
		"wrapped by the chain":      {fmt.Errorf("creating a runner registration token for organization acme: %w", get(srv.URL)), true},
		"connection refused":        {get("https://" + closed), false},
		"no error of the kind":      {fmt.Errorf("GitHub answered 500"), false},
		"trusted (no error at all)": {(func() error { return nil })(), false},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.want {
				require.Error(t, tc.err)
			}
			assert.Equal(t, tc.want, certificateUntrusted(tc.err))
		})
	}
}
