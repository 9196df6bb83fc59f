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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"actions.dev/runnerset-apiserver/pkg/configurl"
)

// A scale set on GitHub belongs to one RunnerSet. GitHub's scale sets have no field that could
// name their owner (labels are runs-on labels, and extra ones need GHES 3.18+), so ownership is
// recorded here: one claim per scale set, a ConfigMap in the server's own namespace where
// tenants cannot write, named after the scale set's place on GitHub (host, owner or repository,
// runner group, name), which is unique there. A RunnerSet claims the place before it adopts or
// creates the scale set, and never adopts, updates or deletes a scale set whose claim another
// live RunnerSet holds.
const (
	labelClaim         = "actions.dev/scale-set-claim"
	labelClaimOwnerUID = "actions.dev/owner-uid"

	claimKeyOwnerNamespace = "ownerNamespace"
	claimKeyOwnerName      = "ownerName"
	claimKeyOwnerUID       = "ownerUID"
	claimKeyConfigURL      = "githubConfigUrl"
	claimKeyRunnerGroupID  = "runnerGroupId"
	claimKeyScaleSetName   = "scaleSetName"
	claimKeyScaleSetID     = "scaleSetId"
)

// Owner is the RunnerSet a claim belongs to.
type Owner struct {
	Namespace, Name string
	UID             types.UID
}

func (o Owner) String() string { return o.Namespace + "/" + o.Name }

// scaleSetPlace is where a scale set is on GitHub: names are unique in a runner group of one
// repository, organization or enterprise.
type scaleSetPlace struct {
	ConfigURL string
	GroupID   int
	Name      string
}

// claimName names the claim of a place; equal places give equal names whatever the spelling
// of the URL (case, www., a trailing slash).
func (p scaleSetPlace) claimName() string {
	scope := strings.ToLower(strings.TrimSuffix(p.ConfigURL, "/"))
	if cu, err := configurl.Parse(p.ConfigURL); err == nil {
		host := strings.TrimPrefix(strings.ToLower(cu.URL.Host), "www.")
		scope = host + "/" + strings.ToLower(strings.Trim(cu.URL.Path, "/"))
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s", scope, p.GroupID, strings.ToLower(p.Name))))
	return "runnerset-scale-set-" + hex.EncodeToString(sum[:10])
}

// claim is one recorded ownership.
type claim struct {
	Place      scaleSetPlace
	Owner      Owner
	ScaleSetID int
	cm         *corev1.ConfigMap
}

func claimFrom(cm *corev1.ConfigMap) *claim {
	d := cm.Data
	group, _ := strconv.Atoi(d[claimKeyRunnerGroupID])
	id, _ := strconv.Atoi(d[claimKeyScaleSetID])
	return &claim{
		Place:      scaleSetPlace{ConfigURL: d[claimKeyConfigURL], GroupID: group, Name: d[claimKeyScaleSetName]},
		Owner:      Owner{Namespace: d[claimKeyOwnerNamespace], Name: d[claimKeyOwnerName], UID: types.UID(d[claimKeyOwnerUID])},
		ScaleSetID: id, cm: cm,
	}
}

func (c *claim) configMap(namespace string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: c.Place.claimName(), Namespace: namespace,
			Labels: map[string]string{labelClaim: "true", labelClaimOwnerUID: string(c.Owner.UID)},
			Annotations: map[string]string{"actions.dev/note": fmt.Sprintf(
				"Scale set %q of %s belongs to RunnerSet %s. The server keeps this record; deleting it lets another RunnerSet take the scale set.",
				c.Place.Name, c.Place.ConfigURL, c.Owner)},
		},
		Data: map[string]string{
			claimKeyOwnerNamespace: c.Owner.Namespace, claimKeyOwnerName: c.Owner.Name, claimKeyOwnerUID: string(c.Owner.UID),
			claimKeyConfigURL: c.Place.ConfigURL, claimKeyRunnerGroupID: strconv.Itoa(c.Place.GroupID),
			claimKeyScaleSetName: c.Place.Name, claimKeyScaleSetID: strconv.Itoa(c.ScaleSetID),
		},
	}
	if c.cm != nil {
		cm.ResourceVersion = c.cm.ResourceVersion
	}
	return cm
}

// Claims reads and writes the claims. alive tells whether a RunnerSet still exists with that
// uid: a claim whose Owner is gone (deleted while GitHub was unreachable, say) is taken over.
type Claims struct {
	configMaps corev1client.ConfigMapsGetter
	namespace  string
	alive      func(ctx context.Context, o Owner) (bool, error)
}

// NewClaims keeps claims as ConfigMaps in namespace, the server's own.
func NewClaims(configMaps corev1client.ConfigMapsGetter, namespace string, alive func(ctx context.Context, o Owner) (bool, error)) *Claims {
	return &Claims{configMaps: configMaps, namespace: namespace, alive: alive}
}

// acquire claims place for me. It returns the claim, or the owner that holds it instead.
func (s *Claims) acquire(ctx context.Context, place scaleSetPlace, me Owner) (*claim, *Owner, error) {
	cms := s.configMaps.ConfigMaps(s.namespace)
	for attempt := 0; attempt < 5; attempt++ {
		cm, err := cms.Get(ctx, place.claimName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			mine := &claim{Place: place, Owner: me}
			created, err := cms.Create(ctx, mine.configMap(s.namespace), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("recording the scale set's owner: %w", err)
			}
			mine.cm = created
			return mine, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading the scale set's owner: %w", err)
		}
		c := claimFrom(cm)
		if c.Owner == me {
			return c, nil, nil
		}
		live, err := s.alive(ctx, c.Owner)
		if err != nil {
			return nil, nil, fmt.Errorf("checking whether RunnerSet %s, which holds the scale set, still exists: %w", c.Owner, err)
		}
		if live {
			return nil, &c.Owner, nil
		}
		taken := &claim{Place: place, Owner: me, ScaleSetID: c.ScaleSetID, cm: cm}
		updated, err := cms.Update(ctx, taken.configMap(s.namespace), metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("taking over the scale set of deleted RunnerSet %s: %w", c.Owner, err)
		}
		taken.cm = updated
		return taken, nil, nil
	}
	return nil, nil, fmt.Errorf("the scale set's Owner record keeps changing")
}

// record writes the scale set id into c.
func (s *Claims) record(ctx context.Context, c *claim, id int) error {
	if c.ScaleSetID == id {
		return nil
	}
	next := *c
	next.ScaleSetID = id
	updated, err := s.configMaps.ConfigMaps(s.namespace).Update(ctx, next.configMap(s.namespace), metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("recording scale set id %d: %w", id, err)
	}
	c.ScaleSetID, c.cm = id, updated
	return nil
}

// mine lists the claims me holds.
func (s *Claims) mine(ctx context.Context, me Owner) ([]*claim, error) {
	l, err := s.configMaps.ConfigMaps(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: labelClaimOwnerUID + "=" + string(me.UID)})
	if err != nil {
		return nil, err
	}
	var out []*claim
	for i := range l.Items {
		if c := claimFrom(&l.Items[i]); c.Owner == me {
			out = append(out, c)
		}
	}
	return out, nil
}

// release gives c up, unless someone else took it meanwhile.
func (s *Claims) release(ctx context.Context, c *claim) error {
	if c.cm == nil {
		return nil
	}
	err := s.configMaps.ConfigMaps(s.namespace).Delete(ctx, c.cm.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &c.cm.UID, ResourceVersion: &c.cm.ResourceVersion},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
