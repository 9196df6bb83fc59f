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
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// CleanupTimeout bounds a clean-up on GitHub that must not be cut short by a worker stopping:
// a scale set created there must be known, to be deleted again.
const CleanupTimeout = 30 * time.Second

// Registrar registers, adopts and deletes the scale sets of RunnerSets, minding the claims: it
// never adopts, changes or deletes a scale set another RunnerSet owns.
type Registrar struct {
	Claims   *Claims
	Recorder record.EventRecorder
}

func ownerOf(rs *v1alpha1.RunnerSet) Owner {
	return Owner{Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID}
}

// Ensure finds the RunnerSet's scale set, registering it when GitHub has none (or lost it). It
// first claims the scale set's place: a place another RunnerSet holds is not ours to adopt,
// whatever credentials this one has. hint is the id the RunnerSet had last.
func (r *Registrar) Ensure(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, group *actions.RunnerGroup) (*actions.RunnerScaleSet, error) {
	place := scaleSetPlace{ConfigURL: rs.Spec.GitHubConfigURL, GroupID: group.ID, Name: rs.Spec.RunnerScaleSetName}
	c, holder, err := r.Claims.acquire(ctx, place, ownerOf(rs))
	if err != nil {
		return nil, err
	}
	if holder != nil {
		return nil, &ScaleSetTakenError{Name: place.Name, Group: group.Name, Holder: *holder}
	}
	r.retire(ctx, client, rs, c)
	ss, err := r.findOrCreate(ctx, client, rs, group, c.ScaleSetID)
	if err != nil {
		return nil, err
	}
	return ss, r.Claims.record(ctx, c, ss.ID)
}

// ScaleSetTakenError: the scale set's name is another RunnerSet's in this runner group.
type ScaleSetTakenError struct {
	Name, Group string
	Holder      Owner
}

func (e *ScaleSetTakenError) Error() string {
	return fmt.Sprintf("scale set %q in runner group %q belongs to a RunnerSet in namespace %s; give this one another runnerScaleSetName (or runnerGroup)",
		e.Name, e.Group, e.Holder.Namespace)
}

// findOrCreate returns the scale set id names when it is still the one of this name and group,
// else the scale set GitHub has under that name, else a new one.
func (r *Registrar) findOrCreate(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, group *actions.RunnerGroup, id int) (*actions.RunnerScaleSet, error) {
	if id != 0 {
		ss, err := client.GetScaleSetByID(ctx, id)
		switch {
		case err == nil && ss.Name == rs.Spec.RunnerScaleSetName && ss.RunnerGroupID == group.ID:
			return ss, nil
		case err != nil && !errors.Is(err, actions.ErrScaleSetNotFound):
			return nil, err
		}
	}
	if ss, err := client.GetScaleSet(ctx, group.ID, rs.Spec.RunnerScaleSetName); err != nil || ss != nil {
		return ss, err
	}
	labels := []actions.Label{{Type: actions.LabelTypeSystem, Name: rs.Spec.RunnerScaleSetName}}
	for _, l := range rs.Spec.Labels {
		if l != rs.Spec.RunnerScaleSetName {
			labels = append(labels, actions.Label{Type: actions.LabelTypeSystem, Name: l})
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	defer cancel()
	ss, err := client.CreateScaleSet(cctx, &actions.RunnerScaleSet{
		Name: rs.Spec.RunnerScaleSetName, RunnerGroupID: group.ID, Labels: labels,
		RunnerSetting: actions.RunnerSetting{DisableUpdate: true},
	})
	if err != nil {
		return nil, err
	}
	r.event(rs, corev1.EventTypeNormal, "ScaleSetRegistered", "Registered scale set %q (id %d) in runner group %q", ss.Name, ss.ID, group.Name)
	return ss, nil
}

// retire deletes the scale sets this RunnerSet registered under an earlier name or runner
// group, which its claims record, and gives those claims up. One registered under an earlier
// config URL cannot be reached with the current credentials: it is left, with an event.
func (r *Registrar) retire(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, current *claim) {
	mine, err := r.Claims.mine(ctx, current.Owner)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing this RunnerSet's scale sets failed", "err", err)
		return
	}
	for _, old := range mine {
		if old.cm.Name == current.cm.Name {
			continue
		}
		if old.ScaleSetID != 0 && old.Place.ConfigURL == rs.Spec.GitHubConfigURL {
			if err := client.DeleteScaleSet(ctx, old.ScaleSetID); err != nil && !errors.Is(err, actions.ErrScaleSetNotFound) {
				klog.FromContext(ctx).Info("Deleting the scale set of an earlier name failed; retrying later", "scaleSetID", old.ScaleSetID, "err", err)
				continue
			}
			r.event(rs, corev1.EventTypeNormal, "ScaleSetDeleted", "Deleted scale set %q (id %d), registered under an earlier name or runner group", old.Place.Name, old.ScaleSetID)
		} else if old.ScaleSetID != 0 {
			r.event(rs, corev1.EventTypeWarning, "ScaleSetLeftBehind", "Scale set %q (id %d) of %s stays registered on GitHub: this RunnerSet now has other credentials; remove it there",
				old.Place.Name, old.ScaleSetID, old.Place.ConfigURL)
		}
		_ = r.Claims.release(ctx, old)
	}
}

// DeleteAll deletes on GitHub every scale set rs holds a claim on and gives the claims up. A
// scale set id from the status without a claim (written before claims existed) is claimed
// first, so one that another RunnerSet holds is never deleted. It says what it could not delete.
func (r *Registrar) DeleteAll(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, statusID int) error {
	mine, err := r.Claims.mine(ctx, ownerOf(rs))
	if err != nil {
		return err
	}
	if statusID != 0 && !slices.ContainsFunc(mine, func(c *claim) bool { return c.ScaleSetID == statusID }) {
		if c := r.claimByID(ctx, client, rs, statusID); c != nil {
			mine = append(mine, c)
		}
	}
	var failed []string
	for _, c := range mine {
		if c.ScaleSetID != 0 && c.Place.ConfigURL == rs.Spec.GitHubConfigURL {
			err := client.DeleteScaleSet(ctx, c.ScaleSetID)
			if err != nil && !errors.Is(err, actions.ErrScaleSetNotFound) {
				failed = append(failed, fmt.Sprintf("scale set %d: %v", c.ScaleSetID, err))
				continue
			}
			r.event(rs, corev1.EventTypeNormal, "ScaleSetDeleted", "Deleted scale set %q (id %d) on GitHub", c.Place.Name, c.ScaleSetID)
		}
		_ = r.Claims.release(ctx, c)
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// Registered tells whether rs holds a claim on a registered scale set. Claims without one are
// given up: a RunnerSet that never got a scale set has nothing to delete on GitHub.
func (r *Registrar) Registered(ctx context.Context, rs *v1alpha1.RunnerSet) (bool, error) {
	mine, err := r.Claims.mine(ctx, ownerOf(rs))
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(mine, func(c *claim) bool { return c.ScaleSetID != 0 }) {
		return true, nil
	}
	for _, c := range mine {
		_ = r.Claims.release(ctx, c)
	}
	return false, nil
}

// claimByID claims the scale set with id for rs, if it is still there and nobody else holds it.
func (r *Registrar) claimByID(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, id int) *claim {
	ss, err := client.GetScaleSetByID(ctx, id)
	if err != nil {
		return nil
	}
	c, holder, err := r.Claims.acquire(ctx, scaleSetPlace{ConfigURL: rs.Spec.GitHubConfigURL, GroupID: ss.RunnerGroupID, Name: ss.Name}, ownerOf(rs))
	if err != nil || holder != nil {
		klog.FromContext(ctx).Info("Not deleting a scale set this RunnerSet does not own", "scaleSetID", id, "holder", holder, "err", err)
		return nil
	}
	if err := r.Claims.record(ctx, c, id); err != nil {
		return nil
	}
	return c
}

func (r *Registrar) event(rs *v1alpha1.RunnerSet, eventType, reason, messageFmt string, args ...any) {
	if r.Recorder != nil && rs != nil {
		r.Recorder.Eventf(rs, eventType, reason, messageFmt, args...)
	}
}
