#pragma once
// The controller's settings from its environment, named exactly as Forklift's populator-controller
// reads them, so that Forklift's operator (or a hand-written Deployment for it) configures hoist's
// controller unchanged:
//   OVIRT_POPULATOR_IMAGE, OPENSTACK_POPULATOR_IMAGE, VSPHERE_COPY_OFFLOAD_POPULATOR_IMAGE
//       a kind is served only when its image is set (and not empty);
//   MAX_POPULATOR_INFLIGHT   populator pods Pending or Running per ESXi host (default 20; 0 turns the
//                            limit off; not an integer: 20, with a warning, as in Forklift);
//   POPULATOR_CONTAINER_{LIMITS,REQUESTS}_{CPU,MEMORY}   populator container resources.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/kinds.h"
#include "controller/podspec.h"

namespace hoist::controller {

inline constexpr int kDefaultMaxInFlight = 20;

struct ControllerSettings {
  std::map<PopulatorKind, std::string> images;  // the enabled kinds and their populator images
  int max_in_flight = kDefaultMaxInFlight;
  PopulatorResources resources;

  // hoist's own (flags of hoist-controller):
  std::chrono::milliseconds scrape_interval{5000};   // progress scrapes of a running populator
  std::chrono::milliseconds throttle_requeue{10000};  // re-check of a throttled PVC (Forklift: 10 s)

  bool Enabled(PopulatorKind kind) const { return images.count(kind) != 0; }
  // "ovirt, vsphere-xcopy" for logs.
  std::string EnabledKindsText() const;
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
// The environment of this process.
EnvLookup ProcessEnvironment();

// Reads the settings above through `lookup`; problems that Forklift would also survive (a malformed
// number, a kind without an image) become lines in `warnings`.
ControllerSettings SettingsFromEnvironment(const EnvLookup& lookup, std::vector<std::string>* warnings);

}  // namespace hoist::controller
