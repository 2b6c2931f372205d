// How Argo CD runs a resource customization's Lua, mirrored from argoproj/argo-cd util/lua/lua.go
// (v3, 2026): runLuaWithResourceActionParameters, ExecuteHealthLua, ExecuteResourceAction (with
// cleanReturnedObj/cleanReturnedArray) and decodeValue here; ExecuteResourceActionDiscovery, and
// from server/application/application.go the patch RunResourceAction sends (patchResource,
// splitStatusPatch), in actions.go. Argo CD's commit 37ee0097cf851bc2dd7665fc081bbce61a7e836e. The code is kept as close to Argo CD's as a standalone program allows: the
// same libraries opened (package, base, table and the safe os of oslib_safe.go; all of Lua's with
// useOpenLibs, as for Argo CD's built-in scripts), the same 1 s time limit, the same Go value →
// Lua table conversion, the same JSON encoding of the result (layeh.com/gopher-json), the same
// JSON merge patch (github.com/evanphx/json-patch). Argo CD is Apache-2.0 licensed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	luajson "layeh.com/gopher-json"
)

// HealthStatus is gitops-engine's pkg/health.HealthStatus.
type HealthStatus struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// ResourceAction is the part of appv1.ResourceAction a discovery script fills.
type ResourceAction struct {
	Name        string `json:"name,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	IconClass   string `json:"iconClass,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// ImpactedResource is util/lua's ImpactedResource: "patch" or "create" of an object.
type ImpactedResource struct {
	UnstructuredObj *unstructured.Unstructured `json:"resource"`
	K8SOperation    string                     `json:"operation"`
}

var validHealth = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true, "Healthy": true, "Degraded": true, "Missing": true,
}

// runLua is runLuaWithResourceActionParameters without action parameters (Rotor's action has none).
func runLua(obj *unstructured.Unstructured, script string, useOpenLibs bool) (*lua.LState, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !useOpenLibs})
	for _, pair := range []struct {
		n string
		f lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, OpenSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(pair.f), NRet: 0, Protect: true}, lua.LString(pair.n)); err != nil {
			panic(err)
		}
	}
	l.PreloadModule(lua.OsLibName, SafeOsLoader)

	ctx, cancel := context.WithTimeout(context.Background(), 1*time.Second)
	defer cancel()
	l.SetContext(ctx)

	l.SetGlobal("actionParams", l.CreateTable(0, 0))
	l.SetGlobal("obj", decodeValue(l, obj.Object))

	fn, err := l.LoadString(script)
	if err == nil {
		l.Push(fn)
		err = l.PCall(0, lua.MultRet, nil)
	}
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorRun {
		apiErr.StackTrace = ""
		err = apiErr
	}
	return l, err
}

func executeHealthLua(obj *unstructured.Unstructured, script string, useOpenLibs bool) (*HealthStatus, error) {
	l, err := runLua(obj, script, useOpenLibs)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	returnValue := l.Get(-1)
	switch returnValue.Type() {
	case lua.LTTable:
		jsonBytes, err := luajson.Encode(returnValue)
		if err != nil {
			return nil, err
		}
		healthStatus := &HealthStatus{}
		if err := json.Unmarshal(jsonBytes, healthStatus); err != nil {
			// An empty table encodes as [] (Argo CD answers an empty status then).
			var typeError *json.UnmarshalTypeError
			if errors.As(err, &typeError) {
				return &HealthStatus{}, nil
			}
			return nil, err
		}
		if !validHealth[healthStatus.Status] {
			return &HealthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
		}
		return healthStatus, nil
	case lua.LTNil:
		return &HealthStatus{}, nil
	}
	return nil, fmt.Errorf("expect table output from Lua script, not %s", returnValue.Type().String())
}

func executeResourceAction(obj *unstructured.Unstructured, script string, useOpenLibs bool) ([]ImpactedResource, error) {
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
		return nil, err
	}
	jsonString := bytes.NewBuffer(jsonBytes).String()
	if len(jsonString) < 2 {
		return nil, errors.New("Lua output was not a valid json object or array")
	}
	var impacted []ImpactedResource
	if jsonString[0] == '[' && jsonString[len(jsonString)-1] == ']' {
		if err := json.Unmarshal(jsonBytes, &impacted); err != nil {
			return nil, err
		}
		for _, r := range impacted {
			if r.K8SOperation != "patch" && r.K8SOperation != "create" {
				return nil, fmt.Errorf("unsupported operation: %q", r.K8SOperation)
			}
		}
	} else {
		var newObj unstructured.Unstructured
		if err := json.Unmarshal(jsonBytes, &newObj); err != nil {
			return nil, err
		}
		impacted = append(impacted, ImpactedResource{&newObj, "patch"})
	}
	for _, r := range impacted {
		if r.K8SOperation == "patch" {
			r.UnstructuredObj.Object = cleanReturnedObj(r.UnstructuredObj.Object, obj.Object)
		}
	}
	return impacted, nil
}

// cleanReturnedObj: Lua cannot tell an empty table that was an object from an empty array.
func cleanReturnedObj(newObj, obj map[string]any) map[string]any {
	mapToReturn := newObj
	for key := range obj {
		if newValueInterface, ok := newObj[key]; ok {
			oldValueInterface, ok := obj[key]
			if !ok {
				continue
			}
			switch newValue := newValueInterface.(type) {
			case map[string]any:
				if oldValue, ok := oldValueInterface.(map[string]any); ok {
					mapToReturn[key] = cleanReturnedObj(newValue, oldValue)
				}
			case []any:
				switch oldValue := oldValueInterface.(type) {
				case map[string]any:
					if len(newValue) == 0 {
						mapToReturn[key] = map[string]any{}
					}
				case []any:
					mapToReturn[key] = cleanReturnedArray(newValue, oldValue)
				}
			}
		}
	}
	return mapToReturn
}

func cleanReturnedArray(newObj, obj []any) []any {
	arrayToReturn := newObj
	for i := range newObj {
		if i >= len(obj) {
			break
		}
		switch newValue := newObj[i].(type) {
		case map[string]any:
			if oldValue, ok := obj[i].(map[string]any); ok {
				arrayToReturn[i] = cleanReturnedObj(newValue, oldValue)
			}
		case []any:
			if oldValue, ok := obj[i].([]any); ok {
				arrayToReturn[i] = cleanReturnedArray(newValue, oldValue)
			}
		}
	}
	return arrayToReturn
}

// decodeValue converts a Go value of an unstructured object into a Lua value, as Argo CD does.
func decodeValue(l *lua.LState, value any) lua.LValue {
	switch converted := value.(type) {
	case bool:
		return lua.LBool(converted)
	case float64:
		return lua.LNumber(converted)
	case string:
		return lua.LString(converted)
	case json.Number:
		return lua.LString(converted)
	case int:
		return lua.LNumber(converted)
	case int32:
		return lua.LNumber(converted)
	case int64:
		return lua.LNumber(converted)
	case []any:
		arr := l.CreateTable(len(converted), 0)
		for _, item := range converted {
			arr.Append(decodeValue(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(converted))
		for key, item := range converted {
			tbl.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return tbl
	case nil:
		return lua.LNil
	}
	return lua.LNil
}
