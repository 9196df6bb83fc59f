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

package configmapstore

import (
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Resource says how one resource is laid out in ConfigMaps.
type Resource struct {
	MarkerLabel string
	NamePrefix  string
	// Validate checks every object read back (see Config.Validate).
	Validate func(runtime.Object) error
}

// RESTOptionsGetter hands genericregistry.Store a ConfigMap-backed storage in place of etcd.
type RESTOptionsGetter struct {
	Client    corev1client.ConfigMapsGetter
	Codec     runtime.Codec
	Resources map[schema.GroupResource]Resource
	// Signer and OnUnreadable are passed to every Store (see Config).
	Signer       Signer
	OnUnreadable func(cm *corev1.ConfigMap, err error)

	mu     sync.Mutex
	stores map[schema.GroupResource]*Store
}

// Store returns the Store made for gr, once the registry asked for it.
func (g *RESTOptionsGetter) Store(gr schema.GroupResource) *Store {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stores[gr]
}

var _ generic.RESTOptionsGetter = &RESTOptionsGetter{}

// GetRESTOptions implements generic.RESTOptionsGetter.
func (g *RESTOptionsGetter) GetRESTOptions(gr schema.GroupResource, _ runtime.Object) (generic.RESTOptions, error) {
	layout, ok := g.Resources[gr]
	if !ok {
		return generic.RESTOptions{}, fmt.Errorf("no ConfigMap layout for %s", gr)
	}
	prefix := "/" + gr.Group + "/" + gr.Resource
	return generic.RESTOptions{
		StorageConfig: &storagebackend.ConfigForResource{
			Config:        storagebackend.Config{Codec: g.Codec},
			GroupResource: gr,
		},
		ResourcePrefix:          prefix,
		DeleteCollectionWorkers: 1,
		EnableGarbageCollection: true,
		Decorator: func(_ *storagebackend.ConfigForResource, resourcePrefix string, _ func(runtime.Object) (string, error),
			newFunc, newListFunc func() runtime.Object, _ storage.AttrFunc, _ storage.IndexerFuncs, _ *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
			s := New(Config{
				Client:         g.Client,
				Codec:          g.Codec,
				GroupResource:  gr,
				ResourcePrefix: "/" + strings.TrimPrefix(resourcePrefix, "/"),
				MarkerLabel:    layout.MarkerLabel,
				NamePrefix:     layout.NamePrefix,
				NewFunc:        newFunc,
				NewListFunc:    newListFunc,
				Signer:         g.Signer,
				Validate:       layout.Validate,
				OnUnreadable:   g.OnUnreadable,
			})
			g.mu.Lock()
			if g.stores == nil {
				g.stores = map[schema.GroupResource]*Store{}
			}
			g.stores[gr] = s
			g.mu.Unlock()
			return s, func() {}, nil
		},
	}, nil
}
