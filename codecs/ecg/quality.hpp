// The ECG quality gate: is this tracing good enough to read, and if not, what must the
// technician fix while the patient is still there.
//
// Two steps, so an evaluation can re-fit thresholds without re-measuring: `measure` computes a
// few explainable indices per lead and per record (docs/ecg-quality.md says why each), `judge`
// compares them with thresholds. `assess` is both, with the shipped thresholds.
#pragma once

#include <string>
#include <vector>

#include "codecs/ecg/waveform.hpp"

namespace countylink::codecs::ecg {

enum class Verdict { acceptable, unacceptable };

// "acceptable" / "unacceptable".
std::string_view verdict_name(Verdict verdict);

// One problem. `code` is stable snake_case (flat_lead, saturation, implausible_amplitude,
// large_swing, noisy_lead, noisy_leads, baseline_wander, hf_noise, mains_noise, missing_samples,
// no_beats, implausible_heart_rate, beat_disagreement, limb_lead_reversal, too_short); `lead` is
// empty for whole-record findings; `reason` is what a technician reads ("V3 flat: check
// electrode").
struct QualityFinding {
    std::string code;
    std::string lead;
    std::string reason;
    bool note = false;  // told beside the verdict, not a reason for it (muscle noise, reversal)
};

struct QualityReport {
    Verdict verdict = Verdict::acceptable;
    std::vector<QualityFinding> findings;  // reasons for the verdict first, then notes
    double heart_rate_bpm = 0;             // 0 when no beats were found
};

// What `measure` finds in one lead. Amplitudes in µV, fractions in [0, 1].
struct LeadIndices {
    std::string name;
    std::size_t samples = 0;
    double range_uv = 0;        // max - min of the raw lead
    double stuck_fraction = 0;  // samples in runs of one repeated value lasting >= 40 ms
    double rail_fraction = 0;   // stuck samples sitting at the lead's extreme, >= 5 mV out
    double artefact_uv = 0;     // 99.9th percentile |x| of the 0.5-40 Hz signal: spikes, motion
    double swing_uv = 0;        // 99th percentile of the same: out this far 1 % of the time
    double wander_uv = 0;       // peak-to-peak of the < 0.7 Hz baseline
    double hf_ratio = 0;        // rms above 40 Hz / QRS amplitude of the average beat
    double mains50_uv = 0;      // amplitude of a 50 Hz line in the lead (0 if fs too low)
    double mains60_uv = 0;      // same at 60 Hz
    double mains50_ratio = 0;   // that line over its spectral neighbours (>> 1 = a real line)
    double mains60_ratio = 0;
    std::size_t beats = 0;      // QRS complexes this lead's own detector found
    double beat_agreement = 0;  // F1 of this lead's beats against the all-lead consensus
    double beat_corr = 0;       // median correlation of each beat with the lead's average beat
    double beat_snr = 0;        // average-beat peak-to-peak / (rms beat-to-beat residual + 5 µV)
    double qrs_uv = 0;          // peak-to-peak of the average beat
};

struct QualityIndices {
    double sample_rate_hz = 0;
    double duration_s = 0;
    std::vector<LeadIndices> leads;
    std::size_t consensus_beats = 0;  // beats seen by at least a third of the live leads
    double beat_rate = 0;             // consensus beats per minute of recording
    double heart_rate_bpm = 0;        // from the first to the last consensus beat; 0 if < 2
    // The beats have two shapes (bigeminy, frequent ectopic beats): beat_snr then compares each
    // beat with the average of its own shape (beat_groups in beats.hpp).
    bool two_beat_shapes = false;
    // Sum over leads of ln(1 / beat_snr) where beat_snr < 1: how much of the tracing is buried
    // in noise. One dead lead scores ~4.6 (snr floor 0.01); three leads at snr 0.5 score 2.1.
    double noise_burden = 0;
    // LA/RA reversal evidence, from average beats: correlation of I, II and III with the left
    // lateral chest direction V5 + V6 - V1. Normal: I follows it and II more than III. LA/RA
    // swapped (I -> -I, II <-> III): the reverse. Checked only when I, II, III and V5 or V6
    // have average beats.
    bool reversal_checked = false;
    double corr_i_lateral = 0;
    double corr_ii_lateral = 0;
    double corr_iii_lateral = 0;
    // The same correlations over the P wave ([-0.2, -0.06] s around the beat) and the T wave
    // ([+0.1, +0.4] s); rows I, II, III, columns P, T. The whole beat is mostly QRS; the P and T
    // axes differ from the QRS axis, so they still show a swap when the QRS in I is nearly
    // isoelectric (a vertical heart), where the whole-beat correlations say little.
    double wave_corr[3][2] = {};
};

// Thresholds `judge` applies. The first four are the learned ones: `countylinkctl ecg-eval
// --folds` re-fits the burden and the swing limit on training folds only, and holds the SNR
// floor and the beat rate off (0); the rest are fixed technical or physiological limits.
struct QualityParams {
    // Defaults: the fit on all of ../shared/ecg-quality (docs/ecg-quality.md). A single noisy
    // lead alone does not fail a record there (raters accepted one bad chest lead), so the
    // per-lead floor fits to 0 and the burden over leads carries the decision.
    double min_beat_snr = 0;         // one lead whose beats drown in noise
    double max_noise_burden = 8.25;  // several noisy leads together
    // Consensus beats per minute: fewer means leads disagree. Fits to 0 (off) since the swing
    // rule below: the records it caught are caught by that rule or the burden.
    double min_beat_rate = 0;
    // A lead whose 0.5-40 Hz signal stays beyond this for 1 % of the time: a motion artefact
    // that runs the trace off its row of the printout (7.5 mV = 7.5 cm at 10 mm/mV).
    double max_swing_uv = 7500;
    // Fixed.
    double max_rail_fraction = 0.01;  // 1 % of the record stuck at the amplifier's limit
    double max_artefact_uv = 80000;   // 99.9th percentile |x| of the 0.5-40 Hz signal
    double max_wander_uv = 15000;     // baseline swing: off a 10 mm/mV strip
    double min_heart_rate = 30;
    double max_heart_rate = 220;
    double min_range_uv = 100;        // flat below 0.1 mV
    double max_stuck_fraction = 0.5;  // lead off: constant half the time
    double max_hf_ratio = 2.0;        // noise above 40 Hz twice the QRS size
    // Muscle noise above that is a note beside the verdict by default: the raters passed two of
    // the three records where it was the only fault, and noise that hides the beats is failed by
    // the noise burden anyway. A site that wants a redo for it sets this.
    bool hf_is_unacceptable = false;
    double max_mains_uv = 300;    // a 50 or 60 Hz line this strong ...
    double min_mains_ratio = 10;  // ... standing this far above its neighbourhood
    double min_duration_s = 2.5;
    double min_sample_rate_hz = 100;  // below this the QRS shape is lost
    // LA/RA reversal is flagged when either (whole beat) I points away from the lateral chest
    // leads and III follows them more than II does, or (per wave) I points away from them in at
    // least two of P, whole beat, T and, summed over these three, III follows them more than II.
    double max_reversal_corr_i = -0.5;       // "points away": correlation below this
    double max_reversal_ii_minus_iii = 0.0;  // whole beat: corr(II) - corr(III) below this
    int min_reversal_waves = 2;              // per wave: waves where I points away
    bool reversal_is_unacceptable = false;   // reported as a note; routing may act on it
};

// Measures every index. Never throws for content (empty, constant, short records are fine).
QualityIndices measure(const Waveform& waveform);

// The verdict and per-lead reasons for `indices` under `params`.
QualityReport judge(const QualityIndices& indices, const QualityParams& params);

// Runs every check. Never throws for bad content: an unusable record is `unacceptable` with a
// reason. Both 50 Hz and 60 Hz mains are checked.
QualityReport assess(const Waveform& waveform);

}  // namespace countylink::codecs::ecg
