// Computes the kstatus of Kubernetes objects given as JSON on stdin, with sigs.k8s.io/cli-utils'
// pkg/kstatus/status.Compute: the rules Flux's kustomize-controller (health checks, `wait`),
// kpt and Config Sync read an object's readiness with (deletionTimestamp → Terminating;
// status.observedGeneration ≠ metadata.generation → InProgress; a Reconciling=True condition →
// InProgress, Stalled=True → Failed; else a Ready condition: True → Current, False/Unknown →
// InProgress; no conditions at all → Current).
//
//	kstatus < object.json   → {"status":"Current","message":"Resource is Ready"}
//	kstatus < list.json     → one such line per item of a List (kubectl get -o json of several)
//
// Errors go to stderr with exit code 1.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(input); err != nil {
		fail(fmt.Errorf("reading the object from stdin: %w", err))
	}
	if obj.IsList() {
		list, err := obj.ToList()
		if err != nil {
			fail(err)
		}
		for i := range list.Items {
			compute(&list.Items[i])
		}
		return
	}
	compute(obj)
}

func compute(obj *unstructured.Unstructured) {
	res, err := status.Compute(obj)
	if err != nil {
		fail(fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err))
	}
	out, err := json.Marshal(result{obj.GetKind(), obj.GetNamespace(), obj.GetName(), res.Status.String(), res.Message})
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kstatus:", err)
	os.Exit(1)
}
