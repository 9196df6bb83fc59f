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

// Package configmapstore implements k8s.io/apiserver's storage.Interface over ConfigMaps, so
// that an aggregated API server keeps its objects in the cluster it extends and needs no etcd of
// its own. One object is one ConfigMap in the object's namespace. The ConfigMap's
// resourceVersion is the object's: both come from the cluster's etcd, so optimistic
// concurrency, watch resumption and list consistency keep their meaning unchanged. The object's
// labels are copied onto the ConfigMap, so label selectors, pagination and watch transitions are
// evaluated by the kube-apiserver exactly as for built-in resources.
package configmapstore

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/warning"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/klog/v2"
)

// DataKey is the ConfigMap data key that holds the serialized object.
const DataKey = "object"

// Config says which objects a Store keeps and how.
type Config struct {
	// Client reaches the ConfigMaps of every namespace.
	Client corev1client.ConfigMapsGetter
	// Codec encodes objects for storage and decodes them back to the internal version.
	Codec runtime.Codec
	// GroupResource names the stored resource in errors and warnings.
	GroupResource schema.GroupResource
	// ResourcePrefix is the storage key prefix the registry uses, e.g. "/actions.dev/runnersets".
	ResourcePrefix string
	// MarkerLabel is set on every backing ConfigMap to the object's name; it identifies the
	// ConfigMaps this store owns, so it is reserved on the objects themselves.
	MarkerLabel string
	// NamePrefix is put before the object's name to form the ConfigMap's name.
	NamePrefix  string
	NewFunc     func() runtime.Object
	NewListFunc func() runtime.Object
	// Signer signs what the store writes; what does not verify is treated as damaged (left out
	// of lists, never served). Nil stores and reads unsigned objects (tests only).
	Signer Signer
	// Validate, if set, checks every decoded object: an invalid one is treated as damaged too.
	Validate func(runtime.Object) error
	// OnUnreadable, if set, hears of every backing ConfigMap that could not be read (an event
	// naming it, say). It must not block.
	OnUnreadable func(cm *corev1.ConfigMap, err error)
}

// Store is a storage.Interface over ConfigMaps.
type Store struct {
	Config
	versioner storage.Versioner

	// lastSeen holds, by namespace/name, the newest backing ConfigMap this store wrote or read
	// for an update. GuaranteedUpdate starts from it instead of reading the ConfigMap again, as
	// etcd3's store starts from its cached object: if another writer changed the ConfigMap
	// meanwhile, the write is refused with a conflict (the resourceVersion is its precondition)
	// and the update is redone from a fresh read. An update costs one request instead of two.
	mu       sync.Mutex
	lastSeen map[string]*corev1.ConfigMap
	decoded  decodedCache
}

var _ storage.Interface = &Store{}

// New returns a Store.
func New(c Config) *Store {
	return &Store{Config: c, versioner: storage.APIObjectVersioner{}}
}

// Versioner implements storage.Interface.
func (s *Store) Versioner() storage.Versioner { return s.versioner }

// parseKey turns a registry key "<prefix>/<namespace>[/<name>]" into its parts.
func (s *Store) parseKey(key string) (namespace, name string, err error) {
	rest, ok := strings.CutPrefix(key, s.ResourcePrefix)
	if !ok {
		return "", "", fmt.Errorf("key %q is outside prefix %q", key, s.ResourcePrefix)
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "":
		return "", "", nil
	case len(parts) == 1:
		return parts[0], "", nil
	case len(parts) == 2:
		return parts[0], parts[1], nil
	}
	return "", "", fmt.Errorf("key %q has too many segments", key)
}

func (s *Store) configMapName(name string) string { return s.NamePrefix + name }

// objectName is the inverse of configMapName; ok is false for a ConfigMap that is not ours.
func (s *Store) objectName(cm *corev1.ConfigMap) (string, bool) {
	name, ok := strings.CutPrefix(cm.Name, s.NamePrefix)
	return name, ok && cm.Labels[s.MarkerLabel] == name
}

func (s *Store) notFound(key string) error { return storage.NewKeyNotFoundError(key, 0) }

// MaxObjectBytes is the most a stored object may take: the data of a ConfigMap is limited to
// 1 MiB by the API server's validation.
const MaxObjectBytes = 1 << 20

// encode renders obj into the ConfigMap that stores it.
func (s *Store) encode(namespace, name string, obj runtime.Object) (*corev1.ConfigMap, error) {
	if err := s.versioner.PrepareObjectForStorage(obj); err != nil {
		return nil, fmt.Errorf("preparing object for storage: %w", err)
	}
	var buf bytes.Buffer
	if err := s.Codec.Encode(obj, &buf); err != nil {
		return nil, err
	}
	if n := len(DataKey) + buf.Len(); n > MaxObjectBytes {
		// The cluster would refuse the ConfigMap as invalid, which is no fault of the server:
		// say what is wrong instead of a 500.
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf(
			"%s %s/%s takes %d bytes stored, over the %d bytes one object may take (it is kept in a ConfigMap); make its template smaller",
			s.GroupResource.String(), namespace, name, n, MaxObjectBytes))
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	lbls := make(map[string]string, len(accessor.GetLabels())+1)
	for k, v := range accessor.GetLabels() {
		lbls[k] = v
	}
	lbls[s.MarkerLabel] = name
	annotations := map[string]string{
		"actions.dev/note": fmt.Sprintf("Storage of %s %s/%s, signed by the server. Edit that object instead of this ConfigMap: a changed ConfigMap is no longer served.", s.GroupResource.String(), namespace, name),
	}
	if s.Signer != nil {
		annotations[SignatureAnnotation] = s.Signer.Sign(namespace, name, buf.String())
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:        s.configMapName(name),
			Namespace:   namespace,
			Labels:      lbls,
			Annotations: annotations,
		},
		Data: map[string]string{DataKey: buf.String()},
	}, nil
}

// decode reads the object a ConfigMap stores into out and stamps the ConfigMap's
// resourceVersion on it. A ConfigMap that does not verify, decode or validate gives a
// CorruptObjError naming it, and OnUnreadable hears of it.
func (s *Store) decode(cm *corev1.ConfigMap, out runtime.Object) error {
	if s.decoded.get(cm, out) {
		return nil
	}
	err := s.decodeChecked(cm, out, true)
	if err != nil && s.OnUnreadable != nil {
		s.OnUnreadable(cm, err)
	}
	if err == nil {
		s.decoded.put(cm, out)
	}
	return err
}

// decodeChecked decodes and validates; verify says whether the signature is checked too.
func (s *Store) decodeChecked(cm *corev1.ConfigMap, out runtime.Object, verify bool) error {
	key := fmt.Sprintf("%s/%s/%s", s.ResourcePrefix, cm.Namespace, strings.TrimPrefix(cm.Name, s.NamePrefix))
	name, ok := s.objectName(cm)
	if !ok {
		return storage.NewCorruptObjError(key, fmt.Errorf("ConfigMap %s/%s carries label %s=%q that does not match its name", cm.Namespace, cm.Name, s.MarkerLabel, cm.Labels[s.MarkerLabel]))
	}
	data, ok := cm.Data[DataKey]
	if !ok {
		return storage.NewCorruptObjError(key, fmt.Errorf("ConfigMap %s/%s has no %q key", cm.Namespace, cm.Name, DataKey))
	}
	if verify && s.Signer != nil {
		if err := s.Signer.Verify(cm.Namespace, name, data, cm.Annotations[SignatureAnnotation]); err != nil {
			return storage.NewCorruptObjError(key, fmt.Errorf("ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err))
		}
	}
	got, _, err := s.Codec.Decode([]byte(data), nil, out)
	if err != nil {
		return storage.NewCorruptObjError(key, fmt.Errorf("ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err))
	}
	if got != out {
		return storage.NewCorruptObjError(key, fmt.Errorf("ConfigMap %s/%s holds a %T", cm.Namespace, cm.Name, got))
	}
	accessor, err := meta.Accessor(out)
	if err != nil {
		return err
	}
	if accessor.GetName() != name || accessor.GetNamespace() != cm.Namespace {
		return storage.NewCorruptObjError(key, fmt.Errorf("ConfigMap %s/%s holds object %s/%s", cm.Namespace, cm.Name, accessor.GetNamespace(), accessor.GetName()))
	}
	if s.Validate != nil {
		if err := s.Validate(out); err != nil {
			return storage.NewCorruptObjError(key, fmt.Errorf("ConfigMap %s/%s holds an invalid object: %w", cm.Namespace, cm.Name, err))
		}
	}
	rv, err := s.versioner.ParseResourceVersion(cm.ResourceVersion)
	if err != nil {
		return err
	}
	return s.versioner.UpdateObject(out, rv)
}

// translateError turns a ConfigMap API error into the storage error the registry expects, so
// users see their resource named instead of the ConfigMap behind it.
func (s *Store) translateError(key string, err error) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return storage.NewKeyNotFoundError(key, 0)
	case apierrors.IsAlreadyExists(err):
		return storage.NewKeyExistsError(key, 0)
	case apierrors.IsConflict(err):
		return storage.NewResourceVersionConflictsError(key, 0)
	case apierrors.IsResourceExpired(err), apierrors.IsGone(err), apierrors.IsTimeout(err),
		apierrors.IsServerTimeout(err), apierrors.IsTooManyRequests(err), apierrors.IsBadRequest(err),
		apierrors.IsRequestEntityTooLargeError(err):
		return err
	}
	return storage.NewInternalError(fmt.Errorf("backing ConfigMap for %s: %w", key, err))
}

// remember records cm as the newest version of its ConfigMap, unless a newer one is known.
// Stored ConfigMaps are never modified.
func (s *Store) remember(cm *corev1.ConfigMap) {
	rv, err := s.versioner.ParseResourceVersion(cm.ResourceVersion)
	if err != nil {
		return
	}
	key := cm.Namespace + "/" + cm.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.lastSeen[key]; old != nil {
		if oldRV, err := s.versioner.ParseResourceVersion(old.ResourceVersion); err == nil && oldRV > rv {
			return
		}
	}
	if s.lastSeen == nil {
		s.lastSeen = map[string]*corev1.ConfigMap{}
	}
	s.lastSeen[key] = cm
}

func (s *Store) forget(namespace, name string) {
	s.decoded.forget(namespace, s.configMapName(name))
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.lastSeen, namespace+"/"+s.configMapName(name))
}

func (s *Store) recall(namespace, name string) *corev1.ConfigMap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeen[namespace+"/"+s.configMapName(name)]
}

func (s *Store) getConfigMap(ctx context.Context, namespace, name, rv string) (*corev1.ConfigMap, error) {
	cm, err := s.Client.ConfigMaps(namespace).Get(ctx, s.configMapName(name), metav1.GetOptions{ResourceVersion: rv})
	if err != nil {
		return nil, err
	}
	if _, ours := s.objectName(cm); !ours && cm.Labels[s.MarkerLabel] == "" {
		// A ConfigMap of the same name that this store did not write: not an object of ours.
		return nil, apierrors.NewNotFound(corev1.Resource("configmaps"), cm.Name)
	}
	return cm, nil
}

// Create implements storage.Interface.
func (s *Store) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	namespace, name, err := s.parseKey(key)
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("create needs an object key, got %q", key)
	}
	if version, err := s.versioner.ObjectResourceVersion(obj); err == nil && version != 0 {
		return storage.ErrResourceVersionSetOnCreate
	}
	cm, err := s.encode(namespace, name, obj)
	if err != nil {
		return err
	}
	created, err := s.Client.ConfigMaps(namespace).Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		return s.translateError(key, err)
	}
	s.remember(created)
	return s.decode(created, out)
}

// Get implements storage.Interface.
func (s *Store) Get(ctx context.Context, key string, opts storage.GetOptions, out runtime.Object) error {
	namespace, name, err := s.parseKey(key)
	if err != nil {
		return err
	}
	cm, err := s.getConfigMap(ctx, namespace, name, opts.ResourceVersion)
	if apierrors.IsNotFound(err) && opts.IgnoreNotFound {
		return runtime.SetZeroValue(out)
	}
	if err != nil {
		return s.translateError(key, err)
	}
	return s.decode(cm, out)
}

// selectors translates a selection predicate into ConfigMap selectors. Only the fields every
// object has (metadata.name, metadata.namespace) are selectable; the registry rejects others.
func (s *Store) selectors(p storage.SelectionPredicate, name string) (labelSel, fieldSel string, err error) {
	lsel := labels.Everything()
	if p.Label != nil {
		lsel = p.Label
	}
	marker, err := labels.NewRequirement(s.MarkerLabel, selection.Exists, nil)
	if err != nil {
		return "", "", err
	}
	lsel = lsel.Add(*marker)
	var fieldReqs []fields.Selector
	if name != "" {
		fieldReqs = append(fieldReqs, fields.OneTermEqualSelector("metadata.name", s.configMapName(name)))
	}
	if p.Field != nil {
		for _, r := range p.Field.Requirements() {
			switch r.Field {
			case "metadata.name":
				fieldReqs = append(fieldReqs, fieldRequirement(r.Operator, "metadata.name", s.configMapName(r.Value)))
			case "metadata.namespace":
				fieldReqs = append(fieldReqs, fieldRequirement(r.Operator, "metadata.namespace", r.Value))
			default:
				return "", "", apierrors.NewBadRequest(fmt.Sprintf("field selector %q is not supported for %s", r.Field, s.GroupResource.String()))
			}
		}
	}
	return lsel.String(), fields.AndSelectors(fieldReqs...).String(), nil
}

func fieldRequirement(op selection.Operator, field, value string) fields.Selector {
	if op == selection.NotEquals {
		return fields.OneTermNotEqualSelector(field, value)
	}
	return fields.OneTermEqualSelector(field, value)
}

// GetList implements storage.Interface. ConfigMaps that do not decode are left out of the list
// and named in a warning, so one damaged object never hides the others.
func (s *Store) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	namespace, name, err := s.parseKey(key)
	if err != nil {
		return err
	}
	lsel, fsel, err := s.selectors(opts.Predicate, name)
	if err != nil {
		return err
	}
	cms, err := s.Client.ConfigMaps(namespace).List(ctx, metav1.ListOptions{
		LabelSelector:        lsel,
		FieldSelector:        fsel,
		ResourceVersion:      opts.ResourceVersion,
		ResourceVersionMatch: opts.ResourceVersionMatch,
		Limit:                opts.Predicate.Limit,
		Continue:             opts.Predicate.Continue,
	})
	if err != nil {
		return s.translateError(key, err)
	}
	listPtr, err := meta.GetItemsPtr(listObj)
	if err != nil {
		return err
	}
	items, err := conversion.EnforcePtr(listPtr)
	if err != nil {
		return err
	}
	for i := range cms.Items {
		obj := s.NewFunc()
		if err := s.decode(&cms.Items[i], obj); err != nil {
			klog.FromContext(ctx).Error(err, "Skipping unreadable stored object", "resource", s.GroupResource.String(), "configMap", klog.KObj(&cms.Items[i]))
			warning.AddWarning(ctx, "", fmt.Sprintf("%s %s/%s left out: its backing ConfigMap %s is unreadable: %v",
				s.GroupResource.String(), cms.Items[i].Namespace, strings.TrimPrefix(cms.Items[i].Name, s.NamePrefix), cms.Items[i].Name, err))
			continue
		}
		items.Set(reflectAppend(items, obj))
	}
	rv, err := s.versioner.ParseResourceVersion(cms.ResourceVersion)
	if err != nil {
		return err
	}
	return s.versioner.UpdateList(listObj, rv, cms.Continue, cms.RemainingItemCount)
}

// GuaranteedUpdate implements storage.Interface: read, apply tryUpdate, write with the read
// resourceVersion as precondition, and retry on conflict. The first attempt starts from the
// last version this store saw (see Store.lastSeen) instead of a read; whatever goes wrong with
// it (a conflict, a failed precondition, an error of tryUpdate, or nothing to change, which a
// stale version could wrongly suggest) is decided again from a fresh read.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	namespace, name, err := s.parseKey(key)
	if err != nil {
		return err
	}
	cm := s.recall(namespace, name)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		existing := s.NewFunc()
		optimistic := cm != nil
		if !optimistic {
			cm, err = s.getConfigMap(ctx, namespace, name, "")
		}
		exists := err == nil
		switch {
		case apierrors.IsNotFound(err) && ignoreNotFound:
		case err != nil:
			return s.translateError(key, err)
		default:
			if err := s.decode(cm, existing); err != nil {
				return err
			}
			if !optimistic {
				s.remember(cm)
			}
		}
		// retry redoes a failed optimistic attempt from a fresh read.
		retry := func() bool {
			if optimistic {
				s.forget(namespace, name)
				cm = nil
			}
			return optimistic
		}
		if preconditions != nil && exists {
			if err := preconditions.Check(key, existing); err != nil {
				if retry() {
					continue
				}
				return err
			}
		}
		var rv uint64
		if exists {
			if rv, err = s.versioner.ObjectResourceVersion(existing); err != nil {
				return err
			}
		}
		updated, _, err := tryUpdate(existing, storage.ResponseMeta{ResourceVersion: rv})
		if err != nil {
			if retry() {
				continue
			}
			return err
		}
		next, err := s.encode(namespace, name, updated)
		if err != nil {
			return err
		}
		var written *corev1.ConfigMap
		if !exists {
			written, err = s.Client.ConfigMaps(namespace).Create(ctx, next, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
		} else {
			if next.Data[DataKey] == cm.Data[DataKey] && equalStringMaps(next.Labels, cm.Labels) {
				if retry() {
					continue
				}
				// Nothing changed: like etcd3, answer with what is stored and write nothing.
				return s.decode(cm, destination)
			}
			next.ResourceVersion = cm.ResourceVersion
			next.UID = cm.UID
			written, err = s.Client.ConfigMaps(namespace).Update(ctx, next, metav1.UpdateOptions{})
			if apierrors.IsConflict(err) || (err != nil && retry()) {
				s.forget(namespace, name)
				cm = nil
				continue
			}
		}
		if err != nil {
			return s.translateError(key, err)
		}
		s.remember(written)
		return s.decode(written, destination)
	}
}

// Delete implements storage.Interface.
func (s *Store) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	namespace, name, err := s.parseKey(key)
	if err != nil {
		return err
	}
	for {
		cm, err := s.getConfigMap(ctx, namespace, name, "")
		if err != nil {
			return s.translateError(key, err)
		}
		decodeErr := s.decode(cm, out)
		if opts.ExpectTransformOrDecodeError {
			// The caller asked to remove a damaged object without reading it.
			if decodeErr == nil {
				return storage.NewInternalError(fmt.Errorf("object %s is readable: delete it normally", key))
			}
		} else {
			if decodeErr != nil {
				return decodeErr
			}
			if preconditions != nil {
				if err := preconditions.Check(key, out); err != nil {
					return err
				}
			}
			if err := validateDeletion(ctx, out); err != nil {
				return err
			}
		}
		err = s.Client.ConfigMaps(namespace).Delete(ctx, cm.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion},
		})
		if apierrors.IsConflict(err) {
			continue
		}
		s.forget(namespace, name)
		return s.translateError(key, err)
	}
}

// Watch implements storage.Interface by watching the backing ConfigMaps. Selectors are
// evaluated by the kube-apiserver (labels are copied to the ConfigMaps), so objects that start
// or stop matching produce ADDED and DELETED events exactly as for a built-in resource.
func (s *Store) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	namespace, name, err := s.parseKey(key)
	if err != nil {
		return nil, err
	}
	if !opts.Recursive && name == "" {
		return nil, fmt.Errorf("watch of a single object needs an object key, got %q", key)
	}
	lsel, fsel, err := s.selectors(opts.Predicate, name)
	if err != nil {
		return nil, err
	}
	match := opts.ResourceVersionMatch
	if opts.SendInitialEvents != nil && match == "" {
		// The registry does not pass the match on for watches; NotOlderThan is the only one
		// allowed with sendInitialEvents, and the request was validated with it.
		match = metav1.ResourceVersionMatchNotOlderThan
	}
	w, err := s.Client.ConfigMaps(namespace).Watch(ctx, metav1.ListOptions{
		LabelSelector:        lsel,
		FieldSelector:        fsel,
		ResourceVersion:      opts.ResourceVersion,
		ResourceVersionMatch: match,
		AllowWatchBookmarks:  opts.Predicate.AllowWatchBookmarks,
		SendInitialEvents:    opts.SendInitialEvents,
	})
	if err != nil {
		return nil, s.translateError(key, err)
	}
	return newWatcher(ctx, s, w), nil
}

// Stats implements storage.Interface.
func (s *Store) Stats(ctx context.Context) (storage.Stats, error) {
	cms, err := s.Client.ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: s.MarkerLabel, ResourceVersion: "0"})
	if err != nil {
		return storage.Stats{}, err
	}
	return storage.Stats{ObjectCount: int64(len(cms.Items))}, nil
}

// ReadinessCheck implements storage.Interface; the kube-apiserver's own readiness covers it.
func (s *Store) ReadinessCheck() error { return nil }

// RequestWatchProgress implements storage.Interface. Progress notifications are a watch-cache
// feature; ConfigMap watches already carry bookmarks.
func (s *Store) RequestWatchProgress(ctx context.Context) error { return nil }

// GetCurrentResourceVersion implements storage.Interface with a one-item consistent list.
func (s *Store) GetCurrentResourceVersion(ctx context.Context) (uint64, error) {
	cms, err := s.Client.ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: s.MarkerLabel, Limit: 1})
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(cms.ResourceVersion, 10, 64)
}

// EnableResourceSizeEstimation implements storage.Interface; there is nothing to estimate with.
func (s *Store) EnableResourceSizeEstimation(storage.KeysFunc) error { return nil }

// CompactRevision implements storage.Interface; compaction is the cluster's business.
func (s *Store) CompactRevision() int64 { return 0 }

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
