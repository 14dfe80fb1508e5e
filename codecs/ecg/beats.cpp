#include "codecs/ecg/beats.hpp"

#include <algorithm>
#include <cmath>

#include "codecs/ecg/filters.hpp"

namespace countylink::codecs::ecg {

std::vector<std::size_t> detect_qrs_in_band(std::span<const double> band, double fs) {
    std::vector<std::size_t> peaks;
    if (band.size() < 3 || fs <= 0) return peaks;
    std::vector<double> slope(band.size(), 0.0);
    for (std::size_t i = 1; i < band.size(); ++i) {
        const double d = band[i] - band[i - 1];
        slope[i] = d * d;
    }
    const auto envelope =
        moving_average(slope, std::max<std::size_t>(1, static_cast<std::size_t>(0.12 * fs)));
    const double threshold = 0.3 * quantile(envelope, 0.98);
    if (!(threshold > 0)) return peaks;
    const auto refractory = static_cast<std::size_t>(0.25 * fs);
    for (std::size_t i = 0; i < envelope.size();) {
        if (envelope[i] <= threshold) {
            ++i;
            continue;
        }
        std::size_t top = i;
        for (; i < envelope.size() && envelope[i] > threshold; ++i)
            if (envelope[i] > envelope[top]) top = i;
        if (peaks.empty() || top - peaks.back() > refractory) {
            peaks.push_back(top);
        } else if (envelope[top] > envelope[peaks.back()]) {
            peaks.back() = top;
        }
    }
    return peaks;
}

std::vector<std::size_t> consensus_beats(const std::vector<std::vector<std::size_t>>& per_lead,
                                         double fs, std::size_t min_leads) {
    std::vector<std::size_t> all;
    for (const auto& l : per_lead) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    const auto tolerance = static_cast<std::size_t>(0.1 * fs);
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < all.size();) {
        std::size_t j = i;
        while (j < all.size() && all[j] - all[i] <= tolerance) ++j;
        if (j - i >= std::max<std::size_t>(min_leads, 1)) out.push_back(all[i + (j - i) / 2]);
        i = j;
    }
    return out;
}

double beat_agreement(std::span<const std::size_t> beats, std::span<const std::size_t> reference,
                      double fs) {
    if (beats.empty() || reference.empty()) return 0;
    const auto tolerance = static_cast<std::size_t>(0.1 * fs);
    std::size_t matched = 0, j = 0;
    for (auto t : beats) {
        while (j < reference.size() && reference[j] + tolerance < t) ++j;
        if (j < reference.size() && reference[j] <= t + tolerance) {
            ++matched;
            ++j;
        }
    }
    return 2.0 * static_cast<double>(matched) /
           static_cast<double>(beats.size() + reference.size());
}

double correlation(std::span<const double> a, std::span<const double> b) {
    const std::size_t n = std::min(a.size(), b.size());
    if (n == 0) return 0;
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ma += a[i];
        mb += b[i];
    }
    ma /= static_cast<double>(n);
    mb /= static_cast<double>(n);
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

namespace {

// The whole beats' segments of one lead over [-0.2 s, +0.4 s], each less its mean, and which
// beats they are (those too near the record's ends are skipped).
std::vector<std::vector<double>> segments_of(std::span<const double> filtered,
                                             std::span<const std::size_t> beats, double fs,
                                             std::vector<std::size_t>* which = nullptr) {
    const auto before = static_cast<std::size_t>(0.2 * fs);
    const auto after = static_cast<std::size_t>(0.4 * fs);
    const std::size_t width = before + after;
    std::vector<std::vector<double>> segments;
    for (std::size_t k = 0; k < beats.size(); ++k) {
        const auto b = beats[k];
        if (b < before || b + after > filtered.size() || width == 0) continue;
        std::vector<double> s(filtered.begin() + static_cast<std::ptrdiff_t>(b - before),
                              filtered.begin() + static_cast<std::ptrdiff_t>(b + after));
        double mean = 0;
        for (double v : s) mean += v;
        mean /= static_cast<double>(width);
        for (double& v : s) v -= mean;
        segments.push_back(std::move(s));
        if (which) which->push_back(k);
    }
    return segments;
}

// Sample-by-sample median of `segments` (all of one width), over those `pick` selects.
template <typename Pick>
std::vector<double> median_beat(const std::vector<std::vector<double>>& segments, Pick pick) {
    const std::size_t width = segments.front().size();
    std::vector<double> average(width), column;
    for (std::size_t t = 0; t < width; ++t) {
        column.clear();
        for (std::size_t k = 0; k < segments.size(); ++k)
            if (pick(k)) column.push_back(segments[k][t]);
        average[t] = quantile_in_place(column, 0.5);  // column is rebuilt each time
    }
    return average;
}

}  // namespace

BeatShape beat_shape(std::span<const double> filtered, std::span<const std::size_t> beats,
                     double fs, std::span<const unsigned char> groups) {
    BeatShape shape;
    std::vector<std::size_t> which;
    const auto segments = segments_of(filtered, beats, fs, &which);
    if (segments.size() < 3) return shape;
    const std::size_t width = segments.front().size();
    shape.average = median_beat(segments, [](std::size_t) { return true; });
    std::vector<double> own[2];  // each group's median beat, when grouped
    const bool grouped = groups.size() == beats.size();
    if (grouped) {
        for (unsigned char g : {0, 1})
            own[g] = median_beat(segments, [&](std::size_t k) { return groups[which[k]] == g; });
    }
    std::vector<double> corrs;
    double residual = 0;
    for (std::size_t k = 0; k < segments.size(); ++k) {
        const auto& s = segments[k];
        const auto& reference = grouped ? own[groups[which[k]] != 0] : shape.average;
        corrs.push_back(correlation(s, reference));
        for (std::size_t t = 0; t < width; ++t) {
            const double d = s[t] - reference[t];
            residual += d * d;
        }
    }
    residual = std::sqrt(residual / static_cast<double>(segments.size() * width));
    const auto [lo, hi] = std::minmax_element(shape.average.begin(), shape.average.end());
    shape.size = *hi - *lo;
    shape.residual = residual;
    shape.median_corr = quantile(corrs, 0.5);
    // Noise averaged into the median beat keeps some size but not its likeness to each beat:
    // scaling by the median correlation takes pure noise to ~0. 5 µV: a typical cart's step.
    shape.snr = shape.size * std::max(shape.median_corr, 0.0) / (residual + 5.0);
    return shape;
}

std::vector<unsigned char> beat_groups(std::span<const std::vector<double>> filtered,
                                       std::span<const std::size_t> beats, double fs) {
    // One vector per whole beat: every live lead's segment over its spread, end to end.
    std::vector<std::size_t> which;
    std::vector<std::vector<double>> beat_vectors;
    const auto stride = std::max<std::size_t>(1, static_cast<std::size_t>(fs / 125));
    for (const auto& lead : filtered) {
        std::vector<std::size_t> lead_which;
        const auto segments = segments_of(lead, beats, fs, &lead_which);
        if (segments.size() < 6 || (!beat_vectors.empty() && lead_which != which)) continue;
        double spread = 0;
        for (const auto& s : segments)
            for (double v : s) spread += v * v;
        spread = std::sqrt(spread / static_cast<double>(segments.size() * segments[0].size()));
        if (!(spread > 0)) continue;  // a flat lead says nothing about shape
        if (beat_vectors.empty()) {
            which = lead_which;
            beat_vectors.resize(segments.size());
        }
        // Every stride-th sample: shapes differ over tens of ms, and the search is 4x cheaper.
        for (std::size_t k = 0; k < segments.size(); ++k)
            for (std::size_t t = 0; t < segments[k].size(); t += stride)
                beat_vectors[k].push_back(segments[k][t] / spread);
    }
    const std::size_t n = beat_vectors.size();
    if (n < 6) return {};
    auto distance = [](const std::vector<double>& a, const std::vector<double>& b) {
        double d = 0;
        for (std::size_t t = 0; t < a.size(); ++t) d += (a[t] - b[t]) * (a[t] - b[t]);
        return d;
    };
    auto farthest_from = [&](const std::vector<double>& c) {
        std::size_t best = 0;
        double top = -1;
        for (std::size_t k = 0; k < n; ++k) {
            const double d = distance(beat_vectors[k], c);
            if (d > top) top = d, best = k;
        }
        return best;
    };
    const auto all = median_beat(beat_vectors, [](std::size_t) { return true; });
    std::vector<double> centre[2];
    centre[0] = beat_vectors[farthest_from(all)];
    centre[1] = beat_vectors[farthest_from(centre[0])];
    std::vector<unsigned char> group(n, 2);  // 2: not yet assigned
    for (int round = 0; round < 10; ++round) {
        bool moved = false;
        std::size_t count[2] = {0, 0};
        for (std::size_t k = 0; k < n; ++k) {
            const unsigned char g =
                distance(beat_vectors[k], centre[1]) < distance(beat_vectors[k], centre[0]);
            moved |= g != group[k];
            group[k] = g;
            ++count[g];
        }
        if (count[0] < 3 || count[1] < 3) return {};
        if (!moved) break;
        // Mean centres: cheap, and the groups' medians are taken by beat_shape afterwards.
        for (unsigned char g : {0, 1}) {
            std::fill(centre[g].begin(), centre[g].end(), 0.0);
            for (std::size_t k = 0; k < n; ++k)
                if (group[k] == g)
                    for (std::size_t t = 0; t < centre[g].size(); ++t)
                        centre[g][t] += beat_vectors[k][t] / static_cast<double>(count[g]);
        }
    }
    std::vector<unsigned char> out(beats.size(), 0);
    for (std::size_t k = 0; k < n; ++k) out[which[k]] = group[k];
    return out;
}

}  // namespace countylink::codecs::ecg
