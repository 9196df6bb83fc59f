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

package apiserver

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/registry/configmapstore"
)

// SigningKeyDataKey is the key of the signing-key Secret that holds the key.
const SigningKeyDataKey = "key"

// ensureSigningKey reads the key the server signs stored RunnerSets with from a Secret of its own
// namespace, and creates that Secret with a random key when there is none: every replica, and
// every restart, then signs with the same key, and no install step is needed. created is true for
// the replica that made it. The Secret is immutable: a new key would make every stored RunnerSet
// unreadable.
func ensureSigningKey(ctx context.Context, secrets corev1client.SecretsGetter, namespace, name string) (key []byte, created bool, err error) {
	for attempt := 0; attempt < 3; attempt++ {
		s, err := secrets.Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			key = s.Data[SigningKeyDataKey]
			if len(key) < configmapstore.MinKeyBytes {
				return nil, false, fmt.Errorf("Secret %s/%s: key %q has %d bytes, needs at least %d", namespace, name, SigningKeyDataKey, len(key), configmapstore.MinKeyBytes)
			}
			return key, false, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, false, fmt.Errorf("reading the signing key Secret %s/%s: %w", namespace, name, err)
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, false, err
		}
		_, err = secrets.Secrets(namespace).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/name": "runnerset-apiserver"},
				Annotations: map[string]string{"actions.dev/note": "Signs the RunnerSets stored as ConfigMaps. Back it up with them; without it they are no longer served."}},
			Type:      corev1.SecretTypeOpaque,
			Immutable: ptr.To(true),
			Data:      map[string][]byte{SigningKeyDataKey: key},
		}, metav1.CreateOptions{})
		switch {
		case err == nil:
			return key, true, nil
		case !apierrors.IsAlreadyExists(err):
			return nil, false, fmt.Errorf("creating the signing key Secret %s/%s: %w", namespace, name, err)
		}
		// Another replica made it first: read theirs.
	}
	return nil, false, fmt.Errorf("the signing key Secret %s/%s could not be read nor created", namespace, name)
}

// unreadableReporter turns a backing ConfigMap the store cannot read into an event on that
// ConfigMap, once per version of it and replica, so lists that skip it do not flood events.
type unreadableReporter struct {
	recorder record.EventRecorder
	mu       sync.Mutex
	seen     map[string]bool
}

func (r *unreadableReporter) report(cm *corev1.ConfigMap, err error) {
	key := string(cm.UID) + "/" + cm.ResourceVersion
	r.mu.Lock()
	if r.seen == nil || len(r.seen) > 10000 {
		r.seen = map[string]bool{}
	}
	first := !r.seen[key]
	r.seen[key] = true
	r.mu.Unlock()
	if !first {
		return
	}
	klog.ErrorS(err, "Stored RunnerSet left out: its ConfigMap does not read", "configMap", klog.KObj(cm))
	if r.recorder != nil {
		ref := &corev1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: cm.Namespace, Name: cm.Name,
			UID: types.UID(cm.UID), ResourceVersion: cm.ResourceVersion}
		r.recorder.Eventf(ref, corev1.EventTypeWarning, "StoredObjectRejected",
			"Not served and never acted on: %v. Edit RunnerSets through the API (kubectl edit runnerset), not their ConfigMaps.", err)
	}
}
