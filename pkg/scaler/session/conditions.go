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
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
)

// Reasons of the conditions the session owns: GitHubAuthenticated, ScaleSetRegistered and
// SessionActive.
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
)

// Conditions the session owns; the others are the cluster side's.
var Conditions = []string{v1alpha1.ConditionGitHubAuthenticated, v1alpha1.ConditionScaleSetRegistered, v1alpha1.ConditionSessionActive}

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

// authFailed sets GitHubAuthenticated from a failure to build the client or reach GitHub.
func (s *Session) authFailed(err error) {
	reason := ReasonGitHubUnreachable
	switch {
	case apierrors.IsNotFound(err):
		reason = ReasonSecretNotFound
	case errors.Is(err, ErrHostNotAllowed):
		reason = ReasonHostNotAllowed
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrEnterpriseApp):
		reason = ReasonInvalidCredentials
	case errors.Is(err, auth.ErrUnauthorized), errors.Is(err, actions.ErrUnauthorized):
		reason = ReasonUnauthorized
	default:
		s.failed()
	}
	s.setCondition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionFalse, reason, err.Error())
}

// gitHubError records a failed GitHub call: a refusal of the credentials (401), wherever it
// comes, turns GitHubAuthenticated False, so the condition tells the last authentication's
// result; anything else counts towards how long GitHub has been failing.
func (s *Session) gitHubError(rs *v1alpha1.RunnerSet, err error) {
	if errors.Is(err, actions.ErrUnauthorized) && rs != nil {
		s.setCondition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionFalse, ReasonUnauthorized,
			"GitHub refused the credentials in "+rs.Spec.GitHubConfigSecret+": "+err.Error())
		return
	}
	s.failed()
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
