-- WirePlumber 0.4 (Raspberry Pi OS bookworm, Debian 12): role-based policy for a car.
-- Copy to ~/.config/wireplumber/policy.lua.d/ of the user whose PipeWire headunit
-- plays to (or /etc/wireplumber/policy.lua.d/ for all), then restart wireplumber.
-- headunit's stream says media.role = "Music": it goes to the Multimedia endpoint,
-- which is ducked while a Navigation stream plays and paused (corked) during a call.
default_policy.policy.roles = {
  ["Multimedia"] = {
    ["alias"] = { "Movie", "Music", "Game" },
    ["priority"] = 25,
    ["action.default"] = "cork",
  },
  ["Navigation"] = {
    ["priority"] = 50,
    ["action.default"] = "duck",
    ["action.Navigation"] = "mix",
  },
  ["Communication"] = {
    ["priority"] = 75,
    ["action.default"] = "cork",
    ["action.Communication"] = "mix",
  },
}

default_policy.endpoints = {
  ["endpoint.multimedia"] = { ["media.class"] = "Audio/Sink", ["role"] = "Multimedia" },
  ["endpoint.navigation"] = { ["media.class"] = "Audio/Sink", ["role"] = "Navigation" },
  ["endpoint.communication"] = { ["media.class"] = "Audio/Sink", ["role"] = "Communication" },
}
