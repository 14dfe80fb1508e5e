// The ECG quality gate: is this tracing good enough to read, and if not, what must the
// technician fix while the patient is still there.
#pragma once

#include <string>
#include <vector>

#include "codecs/ecg/waveform.hpp"

namespace countylink::codecs::ecg {

enum class Verdict { acceptable, unacceptable };

// "acceptable" / "unacceptable".
std::string_view verdict_name(Verdict verdict);

// One problem. `code` is stable snake_case (flat_lead, saturation, implausible_amplitude,
// baseline_wander, hf_noise, mains_noise, missing_samples, no_beats, implausible_heart_rate,
// beat_disagreement, limb_lead_reversal, too_short ...); `lead` is empty for whole-record
// findings; `reason` is what a technician reads ("V3 flat: check electrode").
struct QualityFinding {
    std::string code;
    std::string lead;
    std::string reason;
};

struct QualityReport {
    Verdict verdict = Verdict::acceptable;
    std::vector<QualityFinding> findings;  // reasons for the verdict first, then notes
    double heart_rate_bpm = 0;             // 0 when no beats were found
};

// Runs every check. Never throws for bad content: an unusable record is `unacceptable` with a
// reason. Both 50 Hz and 60 Hz mains are checked.
QualityReport assess(const Waveform& waveform);

}  // namespace countylink::codecs::ecg
