// Runs an Argo CD resource customization (health.lua, discovery.lua or an action.lua) against one
// Kubernetes object, the way Argo CD does (see argocd.go for what is mirrored), so that Rotor's
// tests can check its customizations with the Lua engine Argo CD embeds (gopher-lua).
//
//	lua health    --script health.lua    [--open-libs] < object.json  → {"status":…,"message":…}
//	  (as gitops-engine's GetResourceHealth: an object being deleted is "Progressing", "Pending
//	  deletion", without running the script; a script that fails gives "Unknown" and the error)
//	lua discovery --script discovery.lua [--open-libs] < object.json  → [{"name":…,"disabled":…},…]
//	lua action    --script action.lua    [--open-libs] < object.json
//	  → [{"operation":"patch","resource":{…},"patch":{…}|null,"statusPatch":{…}|null},…]
//
// The object is read as Argo CD's cluster cache holds it (apimachinery's unstructured JSON:
// integers as int64). Without --open-libs the script gets what a customization from argocd-cm
// gets by default (package, base, table, safe os); with it, every Lua library, as Argo CD's
// built-in scripts and `resource.customizations.useOpenLibs.<group_kind>: "true"` get. For an
// action, "patch" and "statusPatch" are the JSON merge patches Argo CD's API server would send for
// the object and its status subresource. Errors go to stderr with exit code 1.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type actionResult struct {
	Operation   string                     `json:"operation"`
	Resource    *unstructured.Unstructured `json:"resource"`
	Patch       map[string]any             `json:"patch"`
	StatusPatch map[string]any             `json:"statusPatch"`
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: lua health|discovery|action --script FILE [--open-libs] < object.json"))
	}
	command := os.Args[1]
	flags := flag.NewFlagSet(command, flag.ExitOnError)
	scriptPath := flags.String("script", "", "the Lua script to run")
	openLibs := flags.Bool("open-libs", false, "open every Lua library (Argo CD's built-in scripts, or useOpenLibs)")
	_ = flags.Parse(os.Args[2:])
	if *scriptPath == "" {
		fail(fmt.Errorf("--script is required"))
	}
	script, err := os.ReadFile(*scriptPath)
	if err != nil {
		fail(err)
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(input); err != nil {
		fail(fmt.Errorf("reading the object from stdin: %w", err))
	}

	switch command {
	case "health":
		emit(resourceHealth(obj, string(script), *openLibs))
	case "discovery":
		result, err := executeResourceActionDiscovery(obj, string(script), *openLibs)
		if err != nil {
			fail(err)
		}
		emit(result)
	case "action":
		// The live object as the API server gave it: the action changes its own copy.
		live := obj.DeepCopy()
		impacted, err := executeResourceAction(obj, string(script), *openLibs)
		if err != nil {
			fail(err)
		}
		results := []actionResult{}
		for _, r := range impacted {
			result := actionResult{Operation: r.K8SOperation, Resource: r.UnstructuredObj}
			if r.K8SOperation == "patch" {
				result.Patch, result.StatusPatch, err = patchesOf(live, r.UnstructuredObj)
				if err != nil {
					fail(err)
				}
			}
			results = append(results, result)
		}
		emit(results)
	default:
		fail(fmt.Errorf("unknown command %q: health, discovery or action", command))
	}
}

// resourceHealth mirrors gitops-engine pkg/health GetResourceHealth with a Lua health override.
func resourceHealth(obj *unstructured.Unstructured, script string, useOpenLibs bool) *HealthStatus {
	if obj.GetDeletionTimestamp() != nil && !slices.Contains(obj.GetFinalizers(), hookFinalizer) {
		return &HealthStatus{Status: "Progressing", Message: "Pending deletion"}
	}
	health, err := executeHealthLua(obj, script, useOpenLibs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lua:", err)
		return &HealthStatus{Status: "Unknown", Message: err.Error()}
	}
	return health
}

// hookFinalizer is gitops-engine's hook.HookFinalizer.
const hookFinalizer = "argocd.argoproj.io/hook-finalizer"

func emit(value any) {
	out, err := json.Marshal(value)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "lua:", err)
	os.Exit(1)
}
