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
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// Reasons of the conditions the session owns: GitHubAuthenticated, ScaleSetRegistered,
// SessionActive and RateLimited.
const (
	ReasonSecretNotFound     = "SecretNotFound"
	ReasonHostNotAllowed     = "HostNotAllowed"
	ReasonInvalidCredentials = "InvalidCredentials"
	ReasonUnauthorized       = "Unauthorized"
	ReasonGitHubUnreachable  = "GitHubUnreachable"
	ReasonRegistered         = "Registered"
	ReasonSessionConflict    = "SessionConflict"
	ReasonSessionOpen        = "SessionOpen"
	ReasonSessionLost        = "SessionLost"
	ReasonScaleSetLost       = "ScaleSetDeletedOnGitHub"
	ReasonScaleSetNameTaken  = "ScaleSetNameTaken"
	// ReasonCertificateNotTrusted: GitHub's TLS certificate does not verify against the CA the
	// RunnerSet trusts (githubServerTLS, else the server's roots).
	ReasonCertificateNotTrusted = "CertificateNotTrusted"
	// What GitHub's refusal of the credentials means (auth.AccessError).
	ReasonNotFound               = auth.ReasonNotFound
	ReasonInsufficientScope      = auth.ReasonInsufficientScope
	ReasonInsufficientPermission = auth.ReasonInsufficientPermission
	ReasonAppNotInstalled        = auth.ReasonAppNotInstalled
	// RateLimited's reasons.
	ReasonRateLimited    = "RateLimited"
	ReasonNotRateLimited = "NotRateLimited"
)

// Conditions the session owns; the others are the cluster side's.
var Conditions = []string{v1alpha1.ConditionGitHubAuthenticated, v1alpha1.ConditionScaleSetRegistered, v1alpha1.ConditionSessionActive,
	v1alpha1.ConditionRateLimited}

// Healthy tells whether a session condition (c, nil when absent, of type ctype) lets the
// RunnerSet be Ready: True, except RateLimited, which is healthy while it is not True.
func Healthy(ctype string, c *metav1.Condition) bool {
	if ctype == v1alpha1.ConditionRateLimited {
		return c == nil || c.Status != metav1.ConditionTrue
	}
	return c != nil && c.Status == metav1.ConditionTrue
}

// AuthReason is the GitHubAuthenticated reason of a refusal of the credentials: what the token
// chain found out (auth.AccessError), else Unauthorized.
func AuthReason(err error) string {
	var ae *auth.AccessError
	if errors.As(err, &ae) && ae.Reason != "" {
		return ae.Reason
	}
	return ReasonUnauthorized
}

// setCondition records a condition; the next publish carries it.
func (s *Session) setCondition(ctype string, status metav1.ConditionStatus, reason, message string) {
	gen := int64(0)
	if rs := s.runnerSet(); rs != nil {
		gen = rs.Generation
	}
	conds := append([]metav1.Condition(nil), s.state.Conditions...)
	meta.SetStatusCondition(&conds, metav1.Condition{
		Type: ctype, Status: status, Reason: reason, Message: truncate(message, 1000), ObservedGeneration: gen,
		LastTransitionTime: metav1.NewTime(s.cfg.Clock.Now().Truncate(time.Second)),
	})
	s.state.Conditions = conds
}

// authenticated records that GitHub accepted the RunnerSet's credentials just now.
func (s *Session) authenticated(rs *v1alpha1.RunnerSet) {
	s.setCondition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionTrue, "Authenticated", "GitHub accepts the credentials in "+rs.Spec.GitHubConfigSecret)
}

// authFailed sets GitHubAuthenticated from a failure to build the client or reach GitHub. A rate
// limit says nothing of the credentials: it sets RateLimited instead.
func (s *Session) authFailed(err error) {
	reason := ReasonGitHubUnreachable
	switch {
	case apierrors.IsNotFound(err):
		reason = ReasonSecretNotFound
	case errors.Is(err, ErrHostNotAllowed):
		reason = ReasonHostNotAllowed
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrEnterpriseApp):
		reason = ReasonInvalidCredentials
	case certificateUntrusted(err):
		// GitHub cannot be reached either, but only the RunnerSet's owner can fix this.
		s.failed()
		s.refused(s.runnerSet(), ReasonCertificateNotTrusted, err.Error()+": "+trustHint(s.runnerSet()))
		return
	case errors.Is(err, ratelimit.ErrRateLimited):
		s.noteRateLimits(s.runnerSet(), s.rateLimits(nil, err))
		s.failed()
		return
	case errors.Is(err, auth.ErrUnauthorized), errors.Is(err, actions.ErrUnauthorized):
		s.refused(s.runnerSet(), AuthReason(err), err.Error())
		return
	default:
		s.failed()
	}
	s.setCondition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionFalse, reason, err.Error())
}

// gitHubError records a failed GitHub call: a refusal of the credentials, wherever it comes,
// turns GitHubAuthenticated False, so the condition tells the last authentication's result; a
// rate limit sets RateLimited; anything else counts towards how long GitHub has been failing
// (a rate limit too: GitHub cannot be reached meanwhile).
func (s *Session) gitHubError(rs *v1alpha1.RunnerSet, client ScaleSetClient, err error) {
	switch {
	case errors.Is(err, ratelimit.ErrRateLimited):
		s.noteRateLimits(rs, s.rateLimits(client, err))
	case certificateUntrusted(err) && rs != nil:
		s.refused(rs, ReasonCertificateNotTrusted, err.Error()+": "+trustHint(rs))
	case errors.Is(err, actions.ErrUnauthorized) && rs != nil:
		s.refused(rs, AuthReason(err), "GitHub refused the credentials in "+rs.Spec.GitHubConfigSecret+": "+err.Error())
		return
	}
	s.failed()
}

// refused turns GitHubAuthenticated False; a refusal the token chain could explain (not found,
// a scope, a permission, an App's installation) is also a Warning event when it is new, as the
// owner of the Secret has to act on it.
func (s *Session) refused(rs *v1alpha1.RunnerSet, reason, message string) {
	prev := meta.FindStatusCondition(s.state.Conditions, v1alpha1.ConditionGitHubAuthenticated)
	s.setCondition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionFalse, reason, message)
	if reason != ReasonUnauthorized && (prev == nil || prev.Status != metav1.ConditionFalse || prev.Reason != reason) {
		s.event(rs, corev1.EventTypeWarning, reason, "%s", truncate(message, 1000))
	}
}

// certificateUntrusted tells a certificate that does not verify (unknown authority, wrong
// host name, expired) from other transport failures.
func certificateUntrusted(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify)
}

// trustHint says where the trusted CA comes from.
func trustHint(rs *v1alpha1.RunnerSet) string {
	if rs != nil && rs.Spec.GitHubServerTLS != nil && rs.Spec.GitHubServerTLS.CertificateFrom != nil &&
		rs.Spec.GitHubServerTLS.CertificateFrom.ConfigMapKeyRef != nil {
		ref := rs.Spec.GitHubServerTLS.CertificateFrom.ConfigMapKeyRef
		return fmt.Sprintf("GitHub's certificate is not signed by the CA in ConfigMap %s key %s (githubServerTLS)", ref.Name, ref.Key)
	}
	return "GitHub's certificate is not signed by a CA the server trusts: name the CA in githubServerTLS"
}

// unreachable is the reason of a condition a failed GitHub call turns False.
func unreachable(err error) string {
	switch {
	case errors.Is(err, ratelimit.ErrRateLimited):
		return ReasonRateLimited
	case certificateUntrusted(err):
		return ReasonCertificateNotTrusted
	}
	return ReasonGitHubUnreachable
}

// ok and failed track since when GitHub has been failing.
func (s *Session) ok() { s.state.FailingSince = time.Time{} }

func (s *Session) failed() {
	if s.state.FailingSince.IsZero() {
		s.state.FailingSince = s.cfg.Clock.Now()
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
