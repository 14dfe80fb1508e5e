#include "ecg.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <stdexcept>

#include "attributes.hpp"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcvrobow.h"

namespace countylink::synth {

namespace {

// One Gaussian wave of a beat: time from the R peak (s), width (s), amplitude (mV).
struct Wave {
    double offset;
    double width;
};

// P, Q, R, S, T timing (T is moved later for slower rates, see synthesize_ecg()).
constexpr std::array<Wave, 5> kWaves{{
    {-0.17, 0.025},
    {-0.03, 0.010},
    {0.0, 0.011},
    {0.03, 0.012},
    {0.26, 0.055},
}};

// P, Q, R, S, T amplitudes (mV) of the modelled leads: I, II, V1..V6.
constexpr std::array<std::array<double, 5>, 8> kAmplitudes{{
    {0.08, -0.05, 0.70, -0.12, 0.20},  // I
    {0.15, -0.08, 1.20, -0.25, 0.32},  // II
    {0.06, 0.00, 0.25, -0.95, -0.05},  // V1
    {0.08, 0.00, 0.45, -1.30, 0.45},   // V2
    {0.09, -0.03, 0.85, -0.80, 0.50},  // V3
    {0.10, -0.06, 1.45, -0.45, 0.45},  // V4
    {0.10, -0.08, 1.30, -0.20, 0.35},  // V5
    {0.09, -0.08, 1.00, -0.10, 0.28},  // V6
}};

struct LeadCode {
    std::string_view value;
    std::string_view meaning;
};

// SCP-ECG lead codes (DICOM CID 3001, scheme SCPECG 1.3), in kEcgLeads order.
constexpr std::array<LeadCode, 12> kLeadCodes{{
    {"5.6.3-9-1", "Lead I (Einthoven)"},
    {"5.6.3-9-2", "Lead II"},
    {"5.6.3-9-61", "Lead III"},
    {"5.6.3-9-62", "Lead aVR, augmented voltage, right"},
    {"5.6.3-9-63", "Lead aVL, augmented voltage, left"},
    {"5.6.3-9-64", "Lead aVF, augmented voltage, foot"},
    {"5.6.3-9-3", "Lead V1"},
    {"5.6.3-9-4", "Lead V2"},
    {"5.6.3-9-5", "Lead V3"},
    {"5.6.3-9-6", "Lead V4"},
    {"5.6.3-9-7", "Lead V5"},
    {"5.6.3-9-8", "Lead V6"},
}};

// Clamps to the int16 range.
std::int16_t to_count(double value) {
    return static_cast<std::int16_t>(std::clamp(std::lround(value), -32768L, 32767L));
}

}  // namespace

EcgTrace synthesize_ecg(std::uint32_t sample_rate, double seconds, double bpm, Rng& rng) {
    EcgTrace trace;
    trace.sample_rate = sample_rate;
    trace.samples = static_cast<std::uint32_t>(std::lround(seconds * sample_rate));

    // Beat times: mean RR from bpm, respiratory sinus arrhythmia plus a little jitter.
    std::vector<double> r_peaks;
    const double mean_rr = 60.0 / bpm;
    for (double t = rng.uniform(0.2, 0.2 + mean_rr); t < seconds + 1.0;) {
        r_peaks.push_back(t);
        t += mean_rr *
             (1.0 + 0.04 * std::sin(2.0 * std::numbers::pi * t / 4.0) + 0.01 * rng.normal());
    }
    const double t_shift = 0.04 * (std::sqrt(mean_rr / 0.833) - 1.0);  // Bazett-like QT
    std::array<double, 8> wander_phase{};
    for (auto& phase : wander_phase) phase = rng.uniform(0.0, 2.0 * std::numbers::pi);

    constexpr double kCountsPerMillivolt = 1000.0 / kEcgMicrovoltsPerCount;
    trace.interleaved.resize(static_cast<std::size_t>(trace.samples) * kEcgLeads.size());
    std::size_t next_beat = 0;
    for (std::uint32_t s = 0; s < trace.samples; ++s) {
        const double t = static_cast<double>(s) / sample_rate;
        while (next_beat < r_peaks.size() && r_peaks[next_beat] < t - 0.7) ++next_beat;
        std::array<double, 8> mv{};
        for (std::size_t b = next_beat; b < r_peaks.size() && r_peaks[b] < t + 0.5; ++b) {
            const double dt = t - r_peaks[b];
            for (std::size_t w = 0; w < kWaves.size(); ++w) {
                const double offset = kWaves[w].offset + (w == 4 ? t_shift : 0.0);
                const double z = (dt - offset) / kWaves[w].width;
                const double shape = std::exp(-0.5 * z * z);
                for (std::size_t lead = 0; lead < mv.size(); ++lead) {
                    mv[lead] += kAmplitudes[lead][w] * shape;
                }
            }
        }
        std::array<std::int16_t, 8> counts{};
        for (std::size_t lead = 0; lead < mv.size(); ++lead) {
            const double wander =
                0.04 * std::sin(2.0 * std::numbers::pi * 0.22 * t + wander_phase[lead]);
            counts[lead] =
                to_count((mv[lead] + wander + 0.008 * rng.normal()) * kCountsPerMillivolt);
        }
        const double lead_i = counts[0];
        const double lead_ii = counts[1];
        std::int16_t* out = &trace.interleaved[static_cast<std::size_t>(s) * kEcgLeads.size()];
        out[0] = counts[0];
        out[1] = counts[1];
        out[2] = to_count(lead_ii - lead_i);
        out[3] = to_count(-(lead_i + lead_ii) / 2.0);
        out[4] = to_count(lead_i - lead_ii / 2.0);
        out[5] = to_count(lead_ii - lead_i / 2.0);
        std::copy(counts.begin() + 2, counts.end(), out + 6);
    }
    return trace;
}

void put_ecg_waveform(DcmItem& dataset, const EcgTrace& trace,
                      const std::string& acquisition_datetime) {
    put(dataset, DCM_AcquisitionDateTime, acquisition_datetime);
    put_empty(dataset, DCM_AcquisitionContextSequence);

    DcmItem& group = append_item(dataset, DCM_WaveformSequence);
    put(group, DCM_WaveformOriginality, "ORIGINAL");
    put_us(group, DCM_NumberOfWaveformChannels, static_cast<Uint16>(kEcgLeads.size()));
    put_ul(group, DCM_NumberOfWaveformSamples, trace.samples);
    put(group, DCM_SamplingFrequency, std::to_string(trace.sample_rate));
    put(group, DCM_MultiplexGroupLabel, "RHYTHM");
    const std::string high_cut = trace.sample_rate >= 1000 ? "300" : "150";
    for (std::size_t lead = 0; lead < kEcgLeads.size(); ++lead) {
        DcmItem& channel = append_item(group, DCM_ChannelDefinitionSequence);
        put(channel, DCM_WaveformChannelNumber, std::to_string(lead + 1));
        put(channel, DCM_ChannelLabel, std::string{kEcgLeads[lead]});
        put(channel, DCM_ChannelStatus, "OK");
        put_code(channel, DCM_ChannelSourceSequence,
                 {kLeadCodes[lead].value, "SCPECG", kLeadCodes[lead].meaning, "1.3"});
        put(channel, DCM_ChannelSensitivity, ds(kEcgMicrovoltsPerCount));
        put_code(channel, DCM_ChannelSensitivityUnitsSequence, {"uV", "UCUM", "microvolt"});
        put(channel, DCM_ChannelSensitivityCorrectionFactor, "1");
        put(channel, DCM_ChannelBaseline, "0");
        put(channel, DCM_ChannelSampleSkew, "0");
        put_us(channel, DCM_WaveformBitsStored, 16);
        put(channel, DCM_FilterLowFrequency, "0.05");
        put(channel, DCM_FilterHighFrequency, high_cut);
        put(channel, DCM_NotchFilterFrequency, "50");
    }
    put_us(group, DCM_WaveformBitsAllocated, 16);
    put(group, DCM_WaveformSampleInterpretation, "SS");

    // WaveformData is OB or OW in the dictionary; 16-bit samples must be OW.
    auto data = std::make_unique<DcmOtherByteOtherWord>(DcmTag{DCM_WaveformData, EVR_OW});
    std::vector<Uint16> words(trace.interleaved.size());
    std::transform(trace.interleaved.begin(), trace.interleaved.end(), words.begin(),
                   [](std::int16_t v) { return static_cast<Uint16>(v); });
    OFCondition status = data->putUint16Array(words.data(), words.size());
    if (status.good()) status = group.insert(data.get(), true);
    if (status.bad()) {
        throw std::runtime_error(std::string{"cannot set WaveformData: "} + status.text());
    }
    static_cast<void>(data.release());  // the item owns it now
}

}  // namespace countylink::synth
