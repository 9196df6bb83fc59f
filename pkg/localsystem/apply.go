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

package localsystem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

const (
	// fieldManager owns the fields that the local system applies.
	fieldManager = "runnerset-local"
	// applyTimeout bounds retries of one object. Right after an APIService turns Available,
	// discovery and the aggregator's proxy may lag behind for a moment.
	applyTimeout = 30 * time.Second
)

// applier applies unstructured manifests with server-side apply through the dynamic client,
// which is what `kubectl apply --server-side` does, without a kubectl process per file.
type applier struct {
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(config *rest.Config) (*applier, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("creating discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("creating dynamic client: %w", err)
	}
	return &applier{
		dynamic: dyn,
		mapper:  restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
	}, nil
}

// applyPath applies a file, or the manifest files of a directory in lexical order.
func (a *applier) applyPath(ctx context.Context, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("applying %s: %w", path, err)
	}
	files := []string{path}
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("applying %s: %w", path, err)
		}
		files = nil
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		slices.Sort(files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("applying %s: %w", f, err)
		}
		if err := a.apply(ctx, data, f); err != nil {
			return err
		}
	}
	return nil
}

// apply applies every object in manifests; source names them in errors.
func (a *applier) apply(ctx context.Context, manifests []byte, source string) error {
	objs, err := decodeManifests(manifests)
	if err != nil {
		return fmt.Errorf("decoding %s: %w", sourceName(source), err)
	}
	for _, obj := range objs {
		if err := a.applyObject(ctx, obj); err != nil {
			return fmt.Errorf("applying %s %s from %s: %w", obj.GetKind(), objectName(obj), sourceName(source), err)
		}
	}
	return nil
}

// decodeManifests splits YAML or JSON documents into objects; empty documents are skipped and
// List kinds are flattened.
func decodeManifests(manifests []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(raw) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: raw}
		if obj.IsList() {
			list, err := obj.ToList()
			if err != nil {
				return nil, err
			}
			for i := range list.Items {
				objs = append(objs, &list.Items[i])
			}
			continue
		}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" || obj.GetName() == "" {
			return nil, fmt.Errorf("object without apiVersion, kind or name: %v", raw)
		}
		objs = append(objs, obj)
	}
}

func (a *applier) applyObject(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, applyTimeout, true, func(ctx context.Context) (bool, error) {
		mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			lastErr = err
			if meta.IsNoMatchError(err) {
				// A new API (CRD or APIService) may not be in the cached discovery yet.
				a.mapper.Reset()
				return false, nil
			}
			return false, err
		}
		var ri dynamic.ResourceInterface = a.dynamic.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = metav1.NamespaceDefault
				obj.SetNamespace(ns)
			}
			ri = a.dynamic.Resource(mapping.Resource).Namespace(ns)
		}
		lastErr = serverSideApply(ctx, ri, obj)
		switch {
		case lastErr == nil:
			klog.V(2).InfoS("Applied", "kind", obj.GetKind(), "object", objectName(obj))
			return true, nil
		case apierrors.IsServiceUnavailable(lastErr), apierrors.IsTooManyRequests(lastErr), apierrors.IsNotFound(lastErr) && isAggregated(gvk.Group):
			// The aggregator answers 503 (and briefly 404) until it has caught up with a
			// freshly available APIService.
			return false, nil
		default:
			return false, lastErr
		}
	})
	if err != nil && lastErr != nil && !errors.Is(err, lastErr) {
		return fmt.Errorf("%w (last error: %v)", err, lastErr)
	}
	return err
}

// serverSideApply applies obj. Servers that do not support apply patches are served a create
// or an update instead, so that the same manifests work while our server is young.
func serverSideApply(ctx context.Context, ri dynamic.ResourceInterface, obj *unstructured.Unstructured) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: fieldManager, Force: ptr.To(true)})
	if !apierrors.IsUnsupportedMediaType(err) && !apierrors.IsMethodNotSupported(err) {
		return err
	}
	klog.V(2).InfoS("Server-side apply not supported, falling back to create/update", "kind", obj.GetKind(), "object", objectName(obj))
	_, err = ri.Create(ctx, obj, metav1.CreateOptions{FieldManager: fieldManager})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	current, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	update := obj.DeepCopy()
	update.SetResourceVersion(current.GetResourceVersion())
	_, err = ri.Update(ctx, update, metav1.UpdateOptions{FieldManager: fieldManager})
	return err
}

// isAggregated reports whether group is served by an aggregated server rather than by
// kube-apiserver itself; only those get retries on 404.
func isAggregated(group string) bool {
	return strings.Contains(group, ".") && !strings.HasSuffix(group, ".k8s.io")
}

func objectName(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

func sourceName(source string) string {
	if source == "" {
		return "manifests"
	}
	return source
}
