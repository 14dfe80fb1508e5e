#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dcmtk/config/osconfig.h"  // must precede other DCMTK headers
#include "dcmtk/dcmdata/dcitem.h"
#include "random.hpp"

namespace countylink::synth {

// Channel order of every trace: the standard 12 leads.
inline constexpr std::array<std::string_view, 12> kEcgLeads{"I",  "II", "III", "aVR", "aVL", "aVF",
                                                            "V1", "V2", "V3",  "V4",  "V5",  "V6"};

// Value of one sample count in microvolts (the Channel Sensitivity written to the file).
inline constexpr double kEcgMicrovoltsPerCount = 2.5;

// A 12-lead recording: `samples` time points, each 12 signed counts in kEcgLeads order.
struct EcgTrace {
    std::uint32_t sample_rate = 500;
    std::uint32_t samples = 0;
    std::vector<std::int16_t> interleaved;

    // Count of lead `lead` (index into kEcgLeads) at time point `sample`.
    std::int16_t at(std::uint32_t sample, std::size_t lead) const {
        return interleaved[static_cast<std::size_t>(sample) * kEcgLeads.size() + lead];
    }
};

// Synthesises `seconds` of sinus rhythm near `bpm` (P-QRS-T beats, mild rate variability,
// baseline wander, small noise). Leads I, II and V1-V6 are modelled; III, aVR, aVL and aVF are
// derived from the stored counts of I and II (III = II - I, aVR = -(I + II) / 2,
// aVL = I - II / 2, aVF = II - I / 2, rounded), as an electrocardiograph does.
EcgTrace synthesize_ecg(std::uint32_t sample_rate, double seconds, double bpm, Rng& rng);

// Adds the 12-Lead ECG specific attributes to `dataset`: Waveform Identification (acquisition
// date-time), Acquisition Context, and one Waveform multiplex group holding `trace`.
void put_ecg_waveform(DcmItem& dataset, const EcgTrace& trace,
                      const std::string& acquisition_datetime);

}  // namespace countylink::synth
