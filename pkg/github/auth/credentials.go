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

// Package auth turns the credentials of a RunnerSet's Secret into what the Actions Service
// accepts: a personal access token or a GitHub App installation token buys a runner registration
// token from GitHub's REST API, which the runner-registration exchange trades for the tenant URL
// of the Actions Service and an admin token. The chain is re-run lazily shortly before the admin
// token expires.
package auth

import (
	"crypto/rsa"
	"errors"
	"sort"
	"strconv"
	"strings"

	jwt "github.com/golang-jwt/jwt/v4"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The Secret keys, as ARC's chart names them.
const (
	KeyGitHubToken             = "github_token"
	KeyGitHubAppID             = "github_app_id"
	KeyGitHubAppInstallationID = "github_app_installation_id"
	KeyGitHubAppPrivateKey     = "github_app_private_key"
)

var appKeys = []string{KeyGitHubAppID, KeyGitHubAppInstallationID, KeyGitHubAppPrivateKey}

// ErrInvalidCredentials is what every *CredentialsError is (errors.Is).
var ErrInvalidCredentials = errors.New("invalid GitHub credentials")

// CredentialsError says what is wrong with a Secret's credentials, one field error per key. Its
// message is fit for a condition: it names the keys and never contains a secret value.
type CredentialsError struct {
	Errs field.ErrorList
}

func (e *CredentialsError) Error() string { return e.Errs.ToAggregate().Error() }

// Is makes errors.Is(err, ErrInvalidCredentials) true.
func (e *CredentialsError) Is(target error) bool { return target == ErrInvalidCredentials }

// Keys are the Secret keys the errors are about, sorted, without duplicates.
func (e *CredentialsError) Keys() []string {
	seen := map[string]bool{}
	var keys []string
	for _, fe := range e.Errs {
		k := strings.TrimSuffix(strings.TrimPrefix(fe.Field, "data["), "]")
		if k == "data" || seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Credentials are either a PAT or a GitHub App installation.
type Credentials struct {
	// Token is a personal access token (classic, or fine-grained where the scope allows it).
	Token string
	// App is set for GitHub App credentials.
	App *AppCredentials
}

// AppCredentials identify a GitHub App installation.
type AppCredentials struct {
	// AppID is the numeric App ID or the App's Client ID; either is a valid JWT issuer.
	AppID string
	// InstallationID is the installation in the organization or repository's owner.
	InstallationID int64
	// PrivateKey is the PEM-encoded RSA private key.
	PrivateKey []byte

	key *rsa.PrivateKey
}

// Kind is "token" or "app", for messages.
func (c *Credentials) Kind() string {
	if c.App != nil {
		return "app"
	}
	return "token"
}

func keyPath(k string) *field.Path { return field.NewPath("data").Key(k) }

// FromSecretData reads credentials from a Secret's data: github_token, or github_app_id,
// github_app_installation_id and github_app_private_key. Surrounding white space (a trailing new
// line from `kubectl create secret --from-file`) is ignored in the token and the ids. Both kinds,
// neither, a partial App set, a non-numeric installation id or a key that is not a PEM RSA
// private key is a *CredentialsError naming the keys.
func FromSecretData(data map[string][]byte) (*Credentials, error) {
	get := func(k string) (string, bool) {
		v, ok := data[k]
		return strings.TrimSpace(string(v)), ok
	}
	var errs field.ErrorList
	token, hasToken := get(KeyGitHubToken)
	var presentApp, missingApp []string
	for _, k := range appKeys {
		if _, ok := data[k]; ok {
			presentApp = append(presentApp, k)
		} else {
			missingApp = append(missingApp, k)
		}
	}
	switch {
	case hasToken && len(presentApp) > 0:
		for _, k := range presentApp {
			errs = append(errs, field.Forbidden(keyPath(k), "github_token and the github_app_* keys are mutually exclusive: keep either the personal access token or the GitHub App"))
		}
		return nil, &CredentialsError{Errs: errs}
	case !hasToken && len(presentApp) == 0:
		errs = append(errs, field.Required(field.NewPath("data"), "the secret must hold github_token (a personal access token) or github_app_id, github_app_installation_id and github_app_private_key (a GitHub App)"))
		return nil, &CredentialsError{Errs: errs}
	case hasToken:
		if token == "" {
			errs = append(errs, field.Required(keyPath(KeyGitHubToken), "must not be empty"))
			return nil, &CredentialsError{Errs: errs}
		}
		if strings.ContainsAny(token, " \t\r\n") {
			errs = append(errs, field.Invalid(keyPath(KeyGitHubToken), field.OmitValueType{}, "must not contain white space"))
			return nil, &CredentialsError{Errs: errs}
		}
		return &Credentials{Token: token}, nil
	}

	for _, k := range missingApp {
		errs = append(errs, field.Required(keyPath(k), "a GitHub App needs github_app_id, github_app_installation_id and github_app_private_key; the secret has only "+strings.Join(presentApp, " and ")))
	}
	app := &AppCredentials{}
	if v, ok := get(KeyGitHubAppID); ok {
		switch {
		case v == "":
			errs = append(errs, field.Required(keyPath(KeyGitHubAppID), "must not be empty"))
		case strings.ContainsAny(v, " \t\r\n"):
			errs = append(errs, field.Invalid(keyPath(KeyGitHubAppID), v, "must be the numeric App ID or the App's Client ID"))
		case isDigits(v):
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
				errs = append(errs, field.Invalid(keyPath(KeyGitHubAppID), v, "must be a positive integer App ID or the App's Client ID"))
			}
		}
		app.AppID = v
	}
	if v, ok := get(KeyGitHubAppInstallationID); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, field.Invalid(keyPath(KeyGitHubAppInstallationID), v, "must be a positive integer (the installation id, not the App ID or the Client ID)"))
		}
		app.InstallationID = n
	}
	if v, ok := data[KeyGitHubAppPrivateKey]; ok {
		if len(strings.TrimSpace(string(v))) == 0 {
			errs = append(errs, field.Required(keyPath(KeyGitHubAppPrivateKey), "must not be empty"))
		} else {
			key, err := jwt.ParseRSAPrivateKeyFromPEM(v)
			if err != nil {
				errs = append(errs, field.Invalid(keyPath(KeyGitHubAppPrivateKey), field.OmitValueType{}, "must be the App's PEM-encoded RSA private key (as downloaded from GitHub): "+pemProblem(err)))
			}
			app.PrivateKey, app.key = v, key
		}
	}
	if len(errs) > 0 {
		return nil, &CredentialsError{Errs: errs}
	}
	return &Credentials{App: app}, nil
}

// NumericAppID returns the App ID when AppID is numeric, else 0 (a Client ID).
func (a *AppCredentials) NumericAppID() int64 {
	if !isDigits(a.AppID) {
		return 0
	}
	n, _ := strconv.ParseInt(a.AppID, 10, 64)
	return n
}

func (a *AppCredentials) privateKey() (*rsa.PrivateKey, error) {
	if a.key != nil {
		return a.key, nil
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(a.PrivateKey)
	if err != nil {
		return nil, &CredentialsError{Errs: field.ErrorList{field.Invalid(keyPath(KeyGitHubAppPrivateKey), field.OmitValueType{}, "must be the App's PEM-encoded RSA private key: "+pemProblem(err))}}
	}
	a.key = key
	return key, nil
}

// pemProblem describes a key parse failure without quoting the key.
func pemProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrKeyMustBePEMEncoded):
		return "no PEM block found"
	case errors.Is(err, jwt.ErrNotRSAPrivateKey):
		return "the PEM block is not an RSA private key"
	default:
		return "the PEM block does not parse as PKCS #1 or PKCS #8"
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
