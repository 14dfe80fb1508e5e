// Routing: which reading queues an object goes to, at which priority, and whether it becomes
// a worklist item at once (ECG) or once its study is stable. Pure logic over the config.
#pragma once

#include <string>
#include <vector>

#include "codecs/dicom/dataset_check.hpp"
#include "config/config.hpp"

namespace countylink::route {

struct Routing {
    std::vector<std::string> queues;
    std::vector<std::string> forward;  // destination names
    config::Priority priority = config::Priority::routine;
    bool immediate = false;
};

// The priority the object asks for: Requested Procedure Priority STAT -> stat, HIGH -> urgent;
// else Study Priority ID HIGH -> urgent; else routine.
config::Priority priority_of(const codecs::dicom::Identifiers& ids);

class Router {
  public:
    explicit Router(const config::RoutingSettings& settings) : settings_(settings) {}

    // With no rules: image objects to "imaging", ECG waveforms to "ecg", nothing else queued.
    // With rules: the union of the queues of every matching rule; the most urgent priority of
    // the object and of the matching rules that set one. `ecg_verdict` is the quality gate's
    // verdict for waveform objects (empty otherwise); rules with ecg_verdicts match only those.
    Routing route(const codecs::dicom::Identifiers& ids, const std::string& township,
                  const std::string& ecg_verdict = {}) const;

  private:
    const config::RoutingSettings& settings_;
};

}  // namespace countylink::route
