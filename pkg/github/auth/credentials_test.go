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
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// rsaKey is one 2048-bit key shared by the package's tests.
func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func pkcs1PEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func pkcs8PEM(t *testing.T, k *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})
}

func TestFromSecretData(t *testing.T) {
	key := pkcs1PEM(rsaKey(t))
	app := func(kv ...string) map[string][]byte {
		m := map[string][]byte{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = []byte(kv[i+1])
		}
		return m
	}
	cases := []struct {
		name     string
		data     map[string][]byte
		wantKind string
		wantKeys []string // for errors
		wantMsg  string
	}{
		{name: "pat", data: app("github_token", "ghp_abc\n"), wantKind: "token"},
		{name: "app", data: app("github_app_id", "123", "github_app_installation_id", " 456\n", "github_app_private_key", string(key)), wantKind: "app"},
		{name: "app client id", data: app("github_app_id", "Iv23liABCDEF", "github_app_installation_id", "456", "github_app_private_key", string(pkcs8PEM(t, rsaKey(t)))), wantKind: "app"},
		{name: "both", data: app("github_token", "ghp", "github_app_id", "1"), wantKeys: []string{"github_app_id"}, wantMsg: "mutually exclusive"},
		{name: "neither", data: app("other", "x"), wantKeys: nil, wantMsg: "must hold github_token"},
		{name: "nil", data: nil, wantMsg: "must hold github_token"},
		{name: "empty token", data: app("github_token", "  \n"), wantKeys: []string{"github_token"}, wantMsg: "must not be empty"},
		{name: "token with space", data: app("github_token", "ghp abc"), wantKeys: []string{"github_token"}, wantMsg: "white space"},
		{name: "partial app", data: app("github_app_id", "1", "github_app_private_key", string(key)), wantKeys: []string{"github_app_installation_id"}, wantMsg: "the secret has only github_app_id and github_app_private_key"},
		{name: "only app id", data: app("github_app_id", "1"), wantKeys: []string{"github_app_installation_id", "github_app_private_key"}},
		{name: "non-numeric installation id", data: app("github_app_id", "1", "github_app_installation_id", "my-install", "github_app_private_key", string(key)), wantKeys: []string{"github_app_installation_id"}, wantMsg: "must be a positive integer"},
		{name: "zero installation id", data: app("github_app_id", "1", "github_app_installation_id", "0", "github_app_private_key", string(key)), wantKeys: []string{"github_app_installation_id"}},
		{name: "bad key", data: app("github_app_id", "1", "github_app_installation_id", "2", "github_app_private_key", "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n"), wantKeys: []string{"github_app_private_key"}, wantMsg: "PKCS"},
		{name: "no pem", data: app("github_app_id", "1", "github_app_installation_id", "2", "github_app_private_key", "secret-value-xyz"), wantKeys: []string{"github_app_private_key"}, wantMsg: "no PEM block"},
		{name: "app id with space", data: app("github_app_id", "1 2", "github_app_installation_id", "2", "github_app_private_key", string(key)), wantKeys: []string{"github_app_id"}},
		{name: "several problems", data: app("github_app_id", "", "github_app_installation_id", "x", "github_app_private_key", ""), wantKeys: []string{"github_app_id", "github_app_installation_id", "github_app_private_key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromSecretData(tc.data)
			if tc.wantKind != "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Kind() != tc.wantKind {
					t.Fatalf("kind %s", c.Kind())
				}
				if c.Kind() == "token" && c.Token != "ghp_abc" {
					t.Errorf("token %q not trimmed", c.Token)
				}
				if c.App != nil && c.App.InstallationID != 456 {
					t.Errorf("installation id %d", c.App.InstallationID)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("not ErrInvalidCredentials: %v", err)
			}
			var ce *CredentialsError
			if !errors.As(err, &ce) {
				t.Fatalf("not a *CredentialsError: %v", err)
			}
			if tc.wantKeys != nil && !reflect.DeepEqual(ce.Keys(), tc.wantKeys) {
				t.Errorf("keys %v, want %v (%v)", ce.Keys(), tc.wantKeys, err)
			}
			if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("message %q lacks %q", err, tc.wantMsg)
			}
			for _, k := range tc.wantKeys {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("message %q does not name %s", err, k)
				}
			}
			if strings.Contains(err.Error(), "secret-value-xyz") || strings.Contains(err.Error(), "nope") {
				t.Errorf("message leaks the key: %q", err)
			}
		})
	}
}

func TestNumericAppID(t *testing.T) {
	if id := (&AppCredentials{AppID: "123"}).NumericAppID(); id != 123 {
		t.Error(id)
	}
	if id := (&AppCredentials{AppID: "Iv1.abc"}).NumericAppID(); id != 0 {
		t.Error(id)
	}
}
