-- Argo CD action "rotate" of a Rotor ClientCredential: sets the rotor.dev/rotate annotation to
-- the current time (UTC, seconds). Any new value asks Rotor for a rotation now; Rotor records the
-- value it acted on in status.lastRotateRequest. Argo CD sends the change as a merge patch of
-- this annotation alone. os.date is part of the os subset Argo CD gives actions.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["rotor.dev/rotate"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
