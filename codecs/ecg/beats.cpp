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

BeatShape beat_shape(std::span<const double> filtered, std::span<const std::size_t> beats,
                     double fs) {
    BeatShape shape;
    const auto before = static_cast<std::size_t>(0.2 * fs);
    const auto after = static_cast<std::size_t>(0.4 * fs);
    const std::size_t width = before + after;
    std::vector<std::vector<double>> segments;
    for (auto b : beats) {
        if (b < before || b + after > filtered.size() || width == 0) continue;
        std::vector<double> s(filtered.begin() + static_cast<std::ptrdiff_t>(b - before),
                              filtered.begin() + static_cast<std::ptrdiff_t>(b + after));
        double mean = 0;
        for (double v : s) mean += v;
        mean /= static_cast<double>(width);
        for (double& v : s) v -= mean;
        segments.push_back(std::move(s));
    }
    if (segments.size() < 3) return shape;
    shape.average.resize(width);
    std::vector<double> column(segments.size());
    for (std::size_t t = 0; t < width; ++t) {
        for (std::size_t k = 0; k < segments.size(); ++k) column[k] = segments[k][t];
        shape.average[t] = quantile_in_place(column, 0.5);  // column is rebuilt each time
    }
    std::vector<double> corrs;
    double residual = 0;
    for (const auto& s : segments) {
        corrs.push_back(correlation(s, shape.average));
        for (std::size_t t = 0; t < width; ++t) {
            const double d = s[t] - shape.average[t];
            residual += d * d;
        }
    }
    residual = std::sqrt(residual / static_cast<double>(segments.size() * width));
    const auto [lo, hi] = std::minmax_element(shape.average.begin(), shape.average.end());
    shape.size = *hi - *lo;
    shape.median_corr = quantile(corrs, 0.5);
    // Noise averaged into the median beat keeps some size but not its likeness to each beat:
    // scaling by the median correlation takes pure noise to ~0. 5 µV: a typical cart's step.
    shape.snr = shape.size * std::max(shape.median_corr, 0.0) / (residual + 5.0);
    return shape;
}

}  // namespace countylink::codecs::ecg
