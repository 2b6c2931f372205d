-- Argo CD actions of a Rotor ClientCredential: "rotate" mints a new secret now.
-- Disabled while the object is being deleted (Rotor then rotates nothing).
local actions = {}
actions["rotate"] = {
  ["disabled"] = obj.metadata.deletionTimestamp ~= nil,
  ["displayName"] = "Rotate the secret now",
  ["iconClass"] = "fa fa-fw fa-sync-alt"
}
return actions
