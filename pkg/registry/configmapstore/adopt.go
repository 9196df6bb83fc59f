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
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// AdoptUnsigned signs the backing ConfigMaps that carry no signature at all, after checking that
// each decodes and validates. It is meant for the moment the signing key is created: objects
// stored then were written by a server version that did not sign, and are trusted once, so an
// upgrade keeps every RunnerSet. It never touches a ConfigMap signed under another key or one
// whose signature fails: those stay left out. It returns the names of the objects it adopted.
func (s *Store) AdoptUnsigned(ctx context.Context) ([]string, error) {
	if s.Signer == nil {
		return nil, errors.New("store has no signer")
	}
	cms, err := s.Client.ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: s.MarkerLabel})
	if err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx)
	var adopted []string
	for i := range cms.Items {
		cm := &cms.Items[i]
		if _, signed := cm.Annotations[SignatureAnnotation]; signed {
			continue
		}
		name, ok := s.objectName(cm)
		if !ok {
			continue
		}
		obj := s.NewFunc()
		if err := s.decodeChecked(cm, obj, false); err != nil {
			logger.Info("Not adopting an unsigned stored object that does not read", "configMap", klog.KObj(cm), "err", err)
			continue
		}
		next := cm.DeepCopy()
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		next.Annotations[SignatureAnnotation] = s.Signer.Sign(cm.Namespace, name, cm.Data[DataKey])
		if _, err := s.Client.ConfigMaps(cm.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return adopted, fmt.Errorf("signing %s/%s: %w", cm.Namespace, cm.Name, err)
		}
		logger.Info("Adopted an object stored before the signing key existed", "resource", s.GroupResource.String(), "object", klog.KRef(cm.Namespace, name))
		adopted = append(adopted, cm.Namespace+"/"+name)
	}
	return adopted, nil
}
