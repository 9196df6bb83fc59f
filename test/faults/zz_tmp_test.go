//go:build faults

package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

func TestTmpCreateDelete(t *testing.T) {
	w := newWorld(t, "tmp", "faults-tmp", simulator.Options{})
	ctx := context.Background()
	rsc := w.rsets.ActionsV1alpha1().RunnerSets(w.ns)
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("cd-%d", i)
		rs := &v1alpha1.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}, Spec: v1alpha1.RunnerSetSpec{
			GitHubConfigURL: w.configURL(), GitHubConfigSecret: "github-pat", MinRunners: ptr.To[int32](1), MaxRunners: ptr.To[int32](3),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "r"}}}}}}
		_, err := rsc.Create(ctx, rs, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i*50) * time.Millisecond)
		if err := rsc.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	last, err := poll(60*time.Second, func(ctx context.Context) (bool, string) {
		l, _ := rsc.List(ctx, metav1.ListOptions{})
		return len(l.Items) == 0 && len(w.sim.ScaleSets()) == 0 && len(w.sim.Runners()) == 0, fmt.Sprintf("%d rs, scale sets %v, %d runners", len(l.Items), w.sim.ScaleSets(), len(w.sim.Runners()))
	})
	if err != nil {
		t.Fatalf("%v: %s", err, last)
	}
}
