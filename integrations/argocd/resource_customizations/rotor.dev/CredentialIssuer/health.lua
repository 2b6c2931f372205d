-- Argo CD health of a Rotor issuer (rotor.dev/v1alpha1 CredentialIssuer and
-- ClusterCredentialIssuer: the same script). Rotor checks an issuer on every change and every
-- --issuer-check-interval and reports Ready; while Ready is False it also sets kstatus's
-- Stalled (the issuer cannot be used until something outside Rotor changes), as Flux reads it.
-- An object being deleted is Progressing ("Pending deletion") before Argo CD runs this script.
-- Only Lua's base and table libraries are used: the script runs from argocd-cm without useOpenLibs.
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local generation = obj.metadata.generation
local observed = nil
if obj.status ~= nil then
  observed = obj.status.observedGeneration
end
if observed == nil or observed < 0 then
  hs.status = "Progressing"
  hs.message = "waiting for Rotor to check the issuer"
  return hs
end
if generation ~= nil and observed ~= generation then
  hs.status = "Progressing"
  hs.message = "waiting for Rotor to check generation " .. generation .. " (status is of generation " .. observed .. ")"
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = ready.message
  return hs
end
hs.status = "Progressing"
hs.message = "waiting for Rotor to check the issuer"
return hs
