// Action discovery and the patch Argo CD's API server sends for an action, mirrored from
// argoproj/argo-cd util/lua/lua.go (ExecuteResourceActionDiscovery) and
// server/application/application.go (patchResource, splitStatusPatch); see argocd.go.
package main

import (
	"encoding/json"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch"
	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	luajson "layeh.com/gopher-json"
)

func executeResourceActionDiscovery(obj *unstructured.Unstructured, script string, useOpenLibs bool) ([]ResourceAction, error) {
	l, err := runLua(obj, script, useOpenLibs)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	returnValue := l.Get(-1)
	if returnValue.Type() != lua.LTTable {
		return nil, fmt.Errorf("expect table output from Lua script, not %s", returnValue.Type().String())
	}
	jsonBytes, err := luajson.Encode(returnValue)
	if err != nil {
		return nil, fmt.Errorf("error in converting to lua table: %w", err)
	}
	actions := []ResourceAction{}
	if string(jsonBytes) == "[]" {
		return actions, nil
	}
	actionsMap := make(map[string]any)
	if err := json.Unmarshal(jsonBytes, &actionsMap); err != nil {
		return nil, fmt.Errorf("error unmarshaling action table: %w", err)
	}
	for key, value := range actionsMap {
		action := ResourceAction{Name: key}
		if fields, ok := value.(map[string]any); ok {
			if disabled, ok := fields["disabled"].(bool); ok {
				action.Disabled = disabled
			}
			valueBytes, err := json.Marshal(value)
			if err != nil {
				return nil, fmt.Errorf("error marshaling resource action: %w", err)
			}
			if err := json.Unmarshal(valueBytes, &action); err != nil {
				return nil, fmt.Errorf("error unmarshaling resource action: %w", err)
			}
		}
		actions = append(actions, action)
	}
	return actions, nil
}

// patchesOf is what RunResourceAction sends for a "patch": a JSON merge patch from the live
// object to the returned one, split into the object's part and its status subresource's part
// (nil when a part is unchanged; both nil when nothing changed).
func patchesOf(live, changed *unstructured.Unstructured) (map[string]any, map[string]any, error) {
	liveBytes, err := json.Marshal(live)
	if err != nil {
		return nil, nil, err
	}
	newBytes, err := json.Marshal(changed)
	if err != nil {
		return nil, nil, err
	}
	diffBytes, err := jsonpatch.CreateMergePatch(liveBytes, newBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("error calculating merge patch: %w", err)
	}
	var diff map[string]any
	if err := json.Unmarshal(diffBytes, &diff); err != nil {
		return nil, nil, err
	}
	statusValue, hasStatus := diff["status"]
	delete(diff, "status")
	var object, status map[string]any
	if len(diff) > 0 {
		object = diff
	}
	if hasStatus {
		status = map[string]any{"status": statusValue}
	}
	return object, status, nil
}
