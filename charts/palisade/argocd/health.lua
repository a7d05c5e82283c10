-- Argo CD health check for policy.palisade.dev NetworkPolicy and GlobalNetworkPolicy.
--
-- It reads only what the rollout operator writes (status.observedGeneration and the conditions) and
-- agrees with kstatus (Flux, kubectl wait --for=condition=Ready):
--   Healthy      Ready=True at the current generation: the current phase is programmed on every node.
--                A policy in Audit or Staged is Healthy once programmed; its progress toward Enforced
--                is in the message, so a sync does not wait days for a rollout.
--   Progressing  being deleted, no status yet, the generation not yet observed, Reconciling=True, or
--                Ready not True for any other reason.
--   Degraded     Stalled=True, Degraded=True (a step back or rollback) or Valid=False.
--   Suspended    the rollout is paused (Progressing=False, reason Paused) and programmed.
-- It uses the base language only (no string library), as Argo CD runs scripts from argocd-cm without
-- the standard libraries unless resource.customizations.useOpenLibs is set.
local hs = {}

local function condition(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted"
  return hs
end

local status = obj.status
if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the rollout operator to observe the policy"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Generation " .. tostring(generation) .. " not yet observed (status is for generation " .. tostring(status.observedGeneration) .. ")"
  return hs
end

local conditions = status.conditions
local stalled = condition(conditions, "Stalled")
local degraded = condition(conditions, "Degraded")
local valid = condition(conditions, "Valid")
local reconciling = condition(conditions, "Reconciling")
local progressing = condition(conditions, "Progressing")
local ready = condition(conditions, "Ready")

if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = text(stalled, "Stalled")
  return hs
end
if isTrue(degraded) then
  hs.status = "Degraded"
  hs.message = text(degraded, "Degraded")
  return hs
end
if valid ~= nil and valid.status == "False" then
  hs.status = "Degraded"
  hs.message = text(valid, "Invalid")
  return hs
end
if isTrue(reconciling) then
  hs.status = "Progressing"
  hs.message = text(reconciling, "Reconciling")
  return hs
end

local phase = status.phase
if phase == nil then
  phase = "no phase"
end
local readyNow = isTrue(ready) and (ready.observedGeneration == nil or generation == nil or ready.observedGeneration == generation)
if readyNow and progressing ~= nil and progressing.status == "False" and progressing.reason == "Paused" then
  hs.status = "Suspended"
  hs.message = phase .. ", paused: " .. text(progressing, "paused")
  return hs
end
if readyNow then
  hs.status = "Healthy"
  if progressing ~= nil and progressing.status == "True" then
    hs.message = phase .. ": " .. text(ready, "ready") .. "; " .. text(progressing, "progressing")
  else
    hs.message = phase .. ": " .. text(ready, "ready")
  end
  return hs
end

hs.status = "Progressing"
hs.message = text(ready, "Waiting for the policy to be programmed")
return hs
