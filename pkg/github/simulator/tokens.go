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
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Credentials the simulator issued. Every kind expires on the injected clock.
type (
	regToken struct {
		scope   scope
		expires time.Time
	}
	installToken struct {
		appID        int64
		installation int64
		expires      time.Time
	}
	adminToken struct {
		tenant  *tenant
		expires time.Time
	}
	queueToken struct {
		session *session
		expires time.Time
		expired bool // ExpireQueueTokens
	}
)

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters drawn from alphabet with crypto/rand.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomBase64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

func (st *state) tenantURL(t *tenant) string { return st.base + "/tenant/" + itoa(t.id) + "/" }

// signJWT issues an HS256 JWT. Clients only decode the claims (exp), as with the service's
// tokens; the simulator recognises its tokens by looking them up, not by the signature.
func (s *Simulator) signJWT(claims jwt.MapClaims) string {
	claims["jti"] = uuid.NewString()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.tokenKey)
	if err != nil {
		panic(err) // HS256 with a key does not fail
	}
	return tok
}

func (s *Simulator) issueAdminTokenLocked(t *tenant, now time.Time) string {
	exp := now.Add(s.opts.AdminTokenTTL)
	tok := s.signJWT(jwt.MapClaims{
		"iss": "actions-simulator",
		"aud": s.state.tenantURL(t),
		"sub": "tenant:" + itoa(t.id),
		"scp": "Actions.Admin " + t.scope.key(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": exp.Unix(),
	})
	st := s.state
	st.pruneLocked(now)
	st.adminTokens[tok] = &adminToken{tenant: t, expires: exp}
	return tok
}

func (s *Simulator) issueQueueTokenLocked(sess *session, now time.Time) string {
	exp := now.Add(s.opts.QueueTokenTTL)
	tok := s.signJWT(jwt.MapClaims{
		"iss":  "actions-simulator",
		"aud":  "broker",
		"sub":  "session:" + sess.id,
		"sid":  sess.id,
		"ssid": sess.scaleSet.rs.ID,
		"iat":  now.Unix(),
		"nbf":  now.Unix(),
		"exp":  exp.Unix(),
	})
	st := s.state
	st.pruneLocked(now)
	st.queueTokens[tok] = &queueToken{session: sess, expires: exp}
	sess.token = tok
	return tok
}

// pruneLocked drops expired credentials, amortised: only when the maps have doubled since the
// last pass, so memory stays bounded by the live credentials.
func (st *state) pruneLocked(now time.Time) {
	n := len(st.adminTokens) + len(st.queueTokens) + len(st.regTokens) + len(st.installTokens)
	if n < st.pruneAt {
		return
	}
	for k, t := range st.adminTokens {
		if now.After(t.expires) {
			delete(st.adminTokens, k)
		}
	}
	for k, t := range st.queueTokens {
		if now.After(t.expires) || t.expired || st.sessions[t.session.id] != t.session {
			delete(st.queueTokens, k)
		}
	}
	for k, t := range st.regTokens {
		if now.After(t.expires) {
			delete(st.regTokens, k)
		}
	}
	for k, t := range st.installTokens {
		if now.After(t.expires) {
			delete(st.installTokens, k)
		}
	}
	n = len(st.adminTokens) + len(st.queueTokens) + len(st.regTokens) + len(st.installTokens)
	st.pruneAt = max(256, 2*n)
}

// jitConfig builds an encoded JIT configuration shaped like the service's: base64 of a JSON
// object mapping the runner's config file names to their base64 contents. The client id
// and RSA parameters are random, so a configuration cannot be guessed.
func jitConfig(tenantURL string, ss *scaleSet, r *runner, workFolder string) string {
	if workFolder == "" {
		workFolder = "_work"
	}
	file := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	clientID := uuid.NewString()
	files := map[string]string{
		".runner": file(map[string]any{
			"agentId":          itoa(r.id),
			"agentName":        r.name,
			"poolId":           "1",
			"poolName":         ss.rs.RunnerGroupName,
			"runnerScaleSetId": itoa(ss.rs.ID),
			"serverUrl":        tenantURL,
			"gitHubUrl":        ss.tenant.configURL,
			"workFolder":       workFolder,
			"ephemeral":        "True",
			"disableUpdate":    "True",
		}),
		".credentials": file(map[string]any{
			"scheme": "OAuth",
			"data": map[string]string{
				"clientId":                clientID,
				"authorizationUrl":        tenantURL + "_apis/oauth2/token/" + clientID,
				"requireFipsCryptography": "False",
			},
		}),
		".credentials_rsaparams": file(map[string]string{
			"d": randomBase64(256), "dp": randomBase64(128), "dq": randomBase64(128),
			"exponent": "AQAB", "inverseQ": randomBase64(128), "modulus": randomBase64(256),
			"p": randomBase64(128), "q": randomBase64(128),
		}),
	}
	return file(files)
}
