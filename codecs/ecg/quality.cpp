#include "codecs/ecg/quality.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "codecs/ecg/beats.hpp"
#include "codecs/ecg/filters.hpp"

namespace countylink::codecs::ecg {
namespace {

// Runs of one repeated value lasting >= 40 ms: a disconnected lead or a clipped amplifier.
// Returns all stuck samples and those stuck at the lead's extreme at least `rail_uv` out.
std::pair<std::size_t, std::size_t> stuck_samples(std::span<const float> x, double fs,
                                                  double rail_uv) {
    const auto min_run = std::max<std::size_t>(3, static_cast<std::size_t>(0.04 * fs));
    const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
    std::size_t stuck = 0, rail = 0;
    for (std::size_t i = 0; i < x.size();) {
        std::size_t j = i + 1;
        while (j < x.size() && x[j] == x[i]) ++j;
        if (j - i >= min_run) {
            stuck += j - i;
            const bool at_extreme = x[i] == *lo || x[i] == *hi;
            if (at_extreme && std::fabs(x[i]) >= rail_uv) rail += j - i;
        }
        i = j;
    }
    return {stuck, rail};
}

// The strongest line within +-0.2 Hz of `hz` and how far it stands above its neighbourhood.
std::pair<double, double> mains_line(std::span<const double> x, double fs, double hz) {
    if (fs < 2.4 * hz) return {0, 0};
    const std::array<double, 7> at{hz - 0.2, hz, hz + 0.2, hz - 4, hz - 2, hz + 2, hz + 4};
    const auto a = tone_amplitudes(x, fs, at);
    const double line = std::max({0.0, a[0], a[1], a[2]});
    const double around = (a[3] + a[4] + a[5] + a[6]) / 4;
    return {line, line / (around + 0.5)};
}

// LA/RA reversal (QualityParams says the rule): the whole beat, or P, whole beat and T voting,
// so a vertical heart whose QRS in I is nearly isoelectric is still judged by its P and T.
bool limbs_swapped(const QualityIndices& q, const QualityParams& p) {
    if (q.corr_i_lateral < p.max_reversal_corr_i &&
        q.corr_ii_lateral - q.corr_iii_lateral < p.max_reversal_ii_minus_iii)
        return true;
    int away = q.corr_i_lateral < p.max_reversal_corr_i;
    double ii_minus_iii = q.corr_ii_lateral - q.corr_iii_lateral;
    for (std::size_t w = 0; w < 2; ++w) {
        away += q.wave_corr[0][w] < p.max_reversal_corr_i;
        ii_minus_iii += q.wave_corr[1][w] - q.wave_corr[2][w];
    }
    return away >= p.min_reversal_waves && ii_minus_iii < p.max_reversal_ii_minus_iii;
}

std::string one_decimal(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

}  // namespace

std::string_view verdict_name(Verdict verdict) {
    return verdict == Verdict::acceptable ? "acceptable" : "unacceptable";
}

QualityIndices measure(const Waveform& waveform) {
    QualityIndices q;
    const double fs = waveform.sample_rate_hz;
    q.sample_rate_hz = fs;
    q.duration_s = waveform.duration_s();
    if (!(fs > 0)) return q;
    // Every lead through each band at once (band_limit_each: same values, several times faster).
    std::vector<std::span<const float>> inputs;
    for (const auto& lead : waveform.leads) inputs.emplace_back(lead.microvolts);
    std::vector<std::vector<double>> filtered = band_limit_each(inputs, fs, 0.5, 40);
    const auto baselines = band_limit_each(inputs, fs, 0, 0.7);
    const auto qrs_bands = band_limit_each(inputs, fs, 5, 20);
    const auto smoothed = band_limit_each(inputs, fs, 0, 40);
    std::vector<std::vector<std::size_t>> detected(waveform.leads.size());
    std::size_t live = 0;
    for (std::size_t i = 0; i < waveform.leads.size(); ++i) {
        const auto& x = waveform.leads[i].microvolts;
        LeadIndices li;
        li.name = waveform.leads[i].name;
        li.samples = x.size();
        if (!x.empty()) {
            const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
            li.range_uv = static_cast<double>(*hi) - *lo;
            const auto [stuck, rail] = stuck_samples(x, fs, 5000);
            li.stuck_fraction = static_cast<double>(stuck) / static_cast<double>(x.size());
            li.rail_fraction = static_cast<double>(rail) / static_cast<double>(x.size());
            std::vector<double> magnitude(filtered[i].size());
            for (std::size_t t = 0; t < magnitude.size(); ++t)
                magnitude[t] = std::fabs(filtered[i][t]);
            li.artefact_uv = quantile_in_place(magnitude, 0.999);  // order is free: a scratch copy
            li.swing_uv = quantile_in_place(magnitude, 0.99);
            const auto& baseline = baselines[i];
            const auto [blo, bhi] = std::minmax_element(baseline.begin(), baseline.end());
            li.wander_uv = *bhi - *blo;
            const std::vector<double> raw(x.begin(), x.end());  // the mains lines, unfiltered
            std::tie(li.mains50_uv, li.mains50_ratio) = mains_line(raw, fs, 50);
            std::tie(li.mains60_uv, li.mains60_ratio) = mains_line(raw, fs, 60);
            detected[i] = detect_qrs_in_band(qrs_bands[i], fs);
            li.beats = detected[i].size();
            if (li.range_uv > 0) ++live;
        }
        q.leads.push_back(std::move(li));
    }
    // A third of the live leads must see a beat for it to count.
    const auto beats = consensus_beats(detected, fs, std::max<std::size_t>(1, (live + 2) / 3));
    q.consensus_beats = beats.size();
    if (beats.size() >= 2 && beats.back() > beats.front()) {
        q.heart_rate_bpm = 60.0 * fs * static_cast<double>(beats.size() - 1) /
                           static_cast<double>(beats.back() - beats.front());
    }
    std::vector<BeatShape> shapes(waveform.leads.size());
    for (std::size_t i = 0; i < waveform.leads.size(); ++i) {
        auto& li = q.leads[i];
        li.beat_agreement = beat_agreement(detected[i], beats, fs);
        shapes[i] = beat_shape(filtered[i], beats, fs);
        li.beat_corr = shapes[i].median_corr;
        li.beat_snr = shapes[i].snr;
        li.qrs_uv = shapes[i].size;
        if (fs > 90 && li.qrs_uv > 0) {
            const auto& smooth = smoothed[i];
            double hf = 0;
            for (std::size_t t = 0; t < smooth.size(); ++t) {
                const double d = waveform.leads[i].microvolts[t] - smooth[t];
                hf += d * d;
            }
            li.hf_ratio = std::sqrt(hf / static_cast<double>(smooth.size())) / li.qrs_uv;
        }
    }
    // Beats of two shapes: a lead is as clean as its beats are like the others of their shape,
    // when the two groups explain the beats far better than one average (residual halved in
    // most leads), so that splitting noise into two groups does not pass for a second shape.
    // Only looked for when a lead with beats looks noisy: the SNR is used only below 1.
    std::vector<unsigned char> groups;
    if (std::any_of(shapes.begin(), shapes.end(),
                    [](const BeatShape& s) { return s.residual > 0 && s.snr < 1; }))
        groups = beat_groups(filtered, beats, fs);
    if (!groups.empty()) {
        std::vector<BeatShape> grouped(waveform.leads.size());
        std::vector<double> ratios;
        for (std::size_t i = 0; i < waveform.leads.size(); ++i) {
            if (!(shapes[i].residual > 0)) continue;
            grouped[i] = beat_shape(filtered[i], beats, fs, groups);
            ratios.push_back(grouped[i].residual / shapes[i].residual);
        }
        if (!ratios.empty() && quantile(ratios, 0.5) < 0.5) {
            q.two_beat_shapes = true;
            for (std::size_t i = 0; i < waveform.leads.size(); ++i)
                q.leads[i].beat_snr = std::max(q.leads[i].beat_snr, grouped[i].snr);
        }
    }
    for (const auto& li : q.leads)
        if (li.beat_snr < 1) q.noise_burden += std::log(1 / std::max(li.beat_snr, 0.01));
    if (q.duration_s > 0) q.beat_rate = 60.0 * static_cast<double>(beats.size()) / q.duration_s;

    // LA/RA reversal: how I, II and III relate to the left lateral chest direction.
    auto average_of = [&](std::string_view name) -> const std::vector<double>* {
        for (std::size_t i = 0; i < waveform.leads.size(); ++i)
            if (waveform.leads[i].name == name && !shapes[i].average.empty())
                return &shapes[i].average;
        return nullptr;
    };
    const auto *i1 = average_of("I"), *i2 = average_of("II"), *i3 = average_of("III");
    std::vector<double> lateral;
    for (auto [name, sign] : {std::pair{"V5", 1.0}, std::pair{"V6", 1.0}, std::pair{"V1", -1.0}}) {
        const auto* a = average_of(name);
        if (!a) continue;
        if (lateral.empty()) lateral.assign(a->size(), 0.0);
        for (std::size_t t = 0; t < a->size() && t < lateral.size(); ++t)
            lateral[t] += sign * (*a)[t];
    }
    const bool has_left = average_of("V5") || average_of("V6");
    if (i1 && i2 && i3 && has_left) {
        q.reversal_checked = true;
        q.corr_i_lateral = correlation(*i1, lateral);
        q.corr_ii_lateral = correlation(*i2, lateral);
        q.corr_iii_lateral = correlation(*i3, lateral);
        // P and T windows, in seconds from the start of the average beat (0.2 s before it).
        constexpr double kWaves[2][2] = {{0, 0.14}, {0.3, 0.6}};
        const std::vector<double>* limb[3] = {i1, i2, i3};
        for (std::size_t l = 0; l < 3; ++l) {
            const std::size_t n = std::min(lateral.size(), limb[l]->size());
            const std::span<const double> a(limb[l]->data(), n), b(lateral.data(), n);
            for (std::size_t w = 0; w < 2; ++w) {
                const auto from = std::min(n, static_cast<std::size_t>(kWaves[w][0] * fs));
                const auto to = std::min(n, static_cast<std::size_t>(kWaves[w][1] * fs));
                q.wave_corr[l][w] =
                    correlation(a.subspan(from, to - from), b.subspan(from, to - from));
            }
        }
    }
    return q;
}

QualityReport judge(const QualityIndices& q, const QualityParams& p) {
    QualityReport r;
    r.heart_rate_bpm = q.heart_rate_bpm;
    auto fail = [&](std::string code, std::string lead, std::string reason) {
        r.findings.push_back({std::move(code), std::move(lead), std::move(reason)});
    };
    if (q.leads.empty() || q.duration_s <= 0 || q.sample_rate_hz <= 0) {
        fail("too_short", "", "no samples: record again");
        r.verdict = Verdict::unacceptable;
        return r;
    }
    if (q.duration_s < p.min_duration_s) {
        fail("too_short", "",
             "only " + one_decimal(q.duration_s) + " s recorded: record at least 10 s");
    }
    if (q.sample_rate_hz < p.min_sample_rate_hz) {
        fail("low_sample_rate", "",
             "sampled at only " + one_decimal(q.sample_rate_hz) +
                 " Hz: set the cart to 500 Hz (at least " + one_decimal(p.min_sample_rate_hz) +
                 ")");
    }
    std::size_t longest = 0;
    for (const auto& l : q.leads) longest = std::max(longest, l.samples);
    // Per lead, the first problem found is the one reported: it is the one to fix first.
    std::vector<std::string> noisy;
    std::vector<QualityFinding> notes;  // reported beside the verdict, not reasons for it
    for (const auto& l : q.leads) {
        const std::string& n = l.name;
        if (l.beat_snr < 1) noisy.push_back(n);
        const bool muscle = l.hf_ratio > p.max_hf_ratio;
        auto muscle_reason = [&] {
            return n + " high-frequency noise (muscle): patient relaxed and warm";
        };
        if (l.samples + static_cast<std::size_t>(0.1 * q.sample_rate_hz) < longest) {
            fail("missing_samples", n,
                 n + " missing " +
                     one_decimal(static_cast<double>(longest - l.samples) / q.sample_rate_hz) +
                     " s of signal: record again");
        } else if (l.rail_fraction > p.max_rail_fraction) {
            fail("saturation", n,
                 n + " at the amplifier limit " + one_decimal(100 * l.rail_fraction) +
                     "% of the time: check electrode contact and gel");
        } else if (l.range_uv < p.min_range_uv || l.stuck_fraction > p.max_stuck_fraction) {
            fail("flat_lead", n, n + " flat: check electrode");
        } else if (l.artefact_uv > p.max_artefact_uv) {
            fail("implausible_amplitude", n,
                 n + " swings " + one_decimal(l.artefact_uv / 1000) +
                     " mV: check electrode, keep patient still");
        } else if (l.wander_uv > p.max_wander_uv) {
            fail("baseline_wander", n,
                 n + " baseline wanders " + one_decimal(l.wander_uv / 1000) +
                     " mV: check electrode contact, patient still and breathing quietly");
        } else if (l.swing_uv > p.max_swing_uv) {
            fail("large_swing", n,
                 n + " swings beyond " + one_decimal(l.swing_uv / 1000) +
                     " mV: check electrode, keep patient still");
        } else if (l.beat_snr < p.min_beat_snr) {
            fail("noisy_lead", n,
                 n + " noisy, beats not visible: check electrode, keep patient still");
        } else if (muscle && p.hf_is_unacceptable) {
            fail("hf_noise", n, muscle_reason());
        } else if (l.mains50_uv > p.max_mains_uv && l.mains50_ratio > p.min_mains_ratio) {
            fail("mains_noise", n,
                 n + " 50 Hz mains interference: check cable, unplug nearby devices");
        } else if (l.mains60_uv > p.max_mains_uv && l.mains60_ratio > p.min_mains_ratio) {
            fail("mains_noise", n,
                 n + " 60 Hz mains interference: check cable, unplug nearby devices");
        } else if (muscle) {
            notes.push_back({"hf_noise", n, muscle_reason(), true});
        }
    }
    if (q.noise_burden > p.max_noise_burden && !noisy.empty()) {
        std::string list;
        for (const auto& n : noisy) list += (list.empty() ? "" : ", ") + n;
        fail("noisy_leads", "",
             "noise in " + list + ": check these electrodes, keep patient still");
    }
    if (q.consensus_beats < 2) {
        fail("no_beats", "", "no heartbeats found: check all electrodes");
    } else if (q.beat_rate < p.min_beat_rate) {
        fail("beat_disagreement", "",
             "leads disagree on the heartbeats (" + std::to_string(q.consensus_beats) +
                 " found by most leads): check electrodes");
    } else if (q.heart_rate_bpm < p.min_heart_rate || q.heart_rate_bpm > p.max_heart_rate) {
        fail("implausible_heart_rate", "",
             "heart rate " + std::to_string(static_cast<int>(std::lround(q.heart_rate_bpm))) +
                 "/min is implausible: beats are missed or noise is counted, check electrodes");
    }
    if (q.reversal_checked && limbs_swapped(q, p)) {
        QualityFinding reversal{"limb_lead_reversal", "",
                                "lead I inverted, II and III exchanged: left and right arm "
                                "electrodes swapped? Check them"};
        reversal.note = !p.reversal_is_unacceptable;
        (reversal.note ? notes : r.findings).push_back(std::move(reversal));
    }
    r.verdict = r.findings.empty() ? Verdict::acceptable : Verdict::unacceptable;
    r.findings.insert(r.findings.end(), notes.begin(), notes.end());
    return r;
}

QualityReport assess(const Waveform& waveform) {
    return judge(measure(waveform), QualityParams{});
}

}  // namespace countylink::codecs::ecg
