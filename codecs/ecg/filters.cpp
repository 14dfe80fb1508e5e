#include "codecs/ecg/filters.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <numbers>
#include <tuple>
#include <utility>

namespace countylink::codecs::ecg {
namespace {

struct Biquad {
    double b0, b1, b2, a1, a2;

    // In place over x[0..n) forwards (step +1) or backwards (step -1), direct form II
    // transposed, from the steady state of the first value: no start-up transient. Raw
    // pointers: this loop is most of the gate's time, also in unoptimised sanitizer builds.
    void run(double* x, std::size_t n, bool backwards) const {
        if (n == 0) return;
        double* v = backwards ? x + n - 1 : x;
        const std::ptrdiff_t step = backwards ? -1 : 1;
        const double dc_gain = (b0 + b1 + b2) / (1 + a1 + a2);
        const double y0 = *v * dc_gain;
        double z2 = b2 * *v - a2 * y0;
        double z1 = b1 * *v - a1 * y0 + z2;
        for (std::size_t i = 0; i < n; ++i, v += step) {
            const double in = *v;
            const double out = b0 * in + z1;
            z1 = b1 * in - a1 * out + z2;
            z2 = b2 * in - a2 * out;
            *v = out;
        }
    }
};

// RBJ cookbook, Q = 1/sqrt(2): Butterworth.
Biquad butterworth(double fs, double hz, bool high) {
    const double w = 2 * std::numbers::pi * hz / fs;
    const double alpha = std::sin(w) / std::numbers::sqrt2;
    const double c = std::cos(w);
    const double a0 = 1 + alpha;
    Biquad q{};
    if (high) {
        q.b0 = (1 + c) / 2 / a0;
        q.b1 = -(1 + c) / a0;
    } else {
        q.b0 = (1 - c) / 2 / a0;
        q.b1 = (1 - c) / a0;
    }
    q.b2 = q.b0;
    q.a1 = -2 * c / a0;
    q.a2 = (1 - alpha) / a0;
    return q;
}

// Biquad::run over kWays series of one length at once, each with exactly its own operations.
constexpr std::size_t kWays = 4;
void run_together(const Biquad& q, const std::array<double*, kWays>& xs, std::size_t n,
                  bool backwards) {
    if (n == 0) return;
    const std::ptrdiff_t step = backwards ? -1 : 1;
    const double dc_gain = (q.b0 + q.b1 + q.b2) / (1 + q.a1 + q.a2);
    std::array<double*, kWays> v;
    std::array<double, kWays> z1, z2;
    for (std::size_t k = 0; k < kWays; ++k) {
        v[k] = backwards ? xs[k] + n - 1 : xs[k];
        const double y0 = *v[k] * dc_gain;
        z2[k] = q.b2 * *v[k] - q.a2 * y0;
        z1[k] = q.b1 * *v[k] - q.a1 * y0 + z2[k];
    }
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = 0; k < kWays; ++k) {
            const double in = *v[k];
            const double out = q.b0 * in + z1[k];
            z1[k] = q.b1 * in - q.a1 * out + z2[k];
            z2[k] = q.b2 * in - q.a2 * out;
            *v[k] = out;
            v[k] += step;
        }
    }
}

// `x` oddly reflected at both ends: the filters start on a continuation of the signal, not a
// step. Returns the padded series and the pad length.
std::pair<std::vector<double>, std::size_t> padded(std::span<const float> x, double fs) {
    const std::size_t n = x.size();
    const std::size_t pad = std::min(n - 1, static_cast<std::size_t>(fs));
    std::vector<double> y(n + 2 * pad);
    double* out = y.data();
    const float* in = x.data();
    for (std::size_t i = 0; i < pad; ++i) out[i] = 2.0 * in[0] - in[pad - i];
    for (std::size_t i = 0; i < n; ++i) out[pad + i] = in[i];
    for (std::size_t i = 1; i <= pad; ++i) out[pad + n - 1 + i] = 2.0 * in[n - 1] - in[n - 1 - i];
    return {std::move(y), pad};
}

// The stages band_limit runs, in its order.
std::vector<Biquad> stages(double fs, double low_hz, double high_hz) {
    std::vector<Biquad> out;
    if (low_hz > 0 && low_hz < 0.45 * fs) out.push_back(butterworth(fs, low_hz, true));
    if (high_hz > 0 && high_hz < 0.45 * fs) out.push_back(butterworth(fs, high_hz, false));
    return out;
}

std::vector<double> unpadded(const std::vector<double>& y, std::size_t pad, std::size_t n) {
    return {y.begin() + static_cast<std::ptrdiff_t>(pad),
            y.begin() + static_cast<std::ptrdiff_t>(pad + n)};
}

// band_limit's stages over kWays series of one length, side by side, into out[series[k]].
void filter_together(std::span<const std::span<const float>> xs,
                     std::span<const std::size_t> series, const std::vector<Biquad>& filters,
                     double fs, std::vector<std::vector<double>>& out) {
    std::array<std::vector<double>, kWays> ys;
    std::array<double*, kWays> data;
    std::size_t pad = 0;
    for (std::size_t k = 0; k < kWays; ++k) {
        std::tie(ys[k], pad) = padded(xs[series[k]], fs);
        data[k] = ys[k].data();
    }
    for (const Biquad& q : filters) {
        run_together(q, data, ys[0].size(), false);
        run_together(q, data, ys[0].size(), true);
    }
    for (std::size_t k = 0; k < kWays; ++k)
        out[series[k]] = unpadded(ys[k], pad, xs[series[k]].size());
}

}  // namespace

std::vector<double> band_limit(std::span<const float> x, double fs, double low_hz, double high_hz) {
    if (x.empty() || fs <= 0) return {};
    auto [y, pad] = padded(x, fs);
    for (const Biquad& q : stages(fs, low_hz, high_hz)) {
        q.run(y.data(), y.size(), false);
        q.run(y.data(), y.size(), true);
    }
    return unpadded(y, pad, x.size());
}

std::vector<std::vector<double>> band_limit_each(std::span<const std::span<const float>> xs,
                                                 double fs, double low_hz, double high_hz) {
    std::vector<std::vector<double>> out(xs.size());
    if (fs <= 0) return out;
    const auto filters = stages(fs, low_hz, high_hz);
    // Series of one length go kWays at a time; the rest (a short lead) one by one.
    std::map<std::size_t, std::vector<std::size_t>> by_length;
    for (std::size_t i = 0; i < xs.size(); ++i)
        if (!xs[i].empty()) by_length[xs[i].size()].push_back(i);
    for (const auto& [length, series] : by_length) {
        std::size_t next = 0;
        for (; next + kWays <= series.size(); next += kWays)
            filter_together(xs, std::span(series).subspan(next, kWays), filters, fs, out);
        for (; next < series.size(); ++next)
            out[series[next]] = band_limit(xs[series[next]], fs, low_hz, high_hz);
    }
    return out;
}

std::vector<double> moving_average(std::span<const double> x, std::size_t width) {
    const std::size_t n = x.size();
    std::vector<double> prefix(n + 1, 0.0);
    for (std::size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + x[i];
    std::vector<double> out(n);
    const std::size_t half = std::max<std::size_t>(width, 1) / 2;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t lo = i >= half ? i - half : 0;
        const std::size_t hi = std::min(n, i + half + 1);
        out[i] = (prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo);
    }
    return out;
}

std::vector<double> tone_amplitudes(std::span<const double> x, double fs,
                                    std::span<const double> hz) {
    std::vector<double> out(hz.size(), 0.0);
    if (x.empty() || fs <= 0) return out;
    const double* v = x.data();
    const std::size_t n = x.size();
    double mean = 0;
    for (std::size_t i = 0; i < n; ++i) mean += v[i];
    mean /= static_cast<double>(n);
    // Goertzel, a batch of frequencies at a time: their recursions are independent, so the
    // processor runs them side by side instead of waiting on one chain.
    constexpr std::size_t kBatch = 8;
    for (std::size_t first = 0; first < hz.size(); first += kBatch) {
        const std::size_t m = std::min(kBatch, hz.size() - first);
        double coeff[kBatch] = {}, s1[kBatch] = {}, s2[kBatch] = {};
        for (std::size_t k = 0; k < m; ++k)
            coeff[k] = 2 * std::cos(2 * std::numbers::pi * hz[first + k] / fs);
        for (std::size_t i = 0; i < n; ++i) {
            const double centred = v[i] - mean;
            for (std::size_t k = 0; k < kBatch; ++k) {  // full width: unrolled; unused lanes idle
                const double s = centred + coeff[k] * s1[k] - s2[k];
                s2[k] = s1[k];
                s1[k] = s;
            }
        }
        for (std::size_t k = 0; k < m; ++k) {
            const double power = s1[k] * s1[k] + s2[k] * s2[k] - coeff[k] * s1[k] * s2[k];
            out[first + k] = 2 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(n);
        }
    }
    return out;
}

double quantile(std::vector<double> values, double q) {
    return quantile_in_place(values, q);
}

double quantile_in_place(std::span<double> values, double q) {
    if (values.empty()) return 0;
    const std::size_t n = values.size();
    const auto k = static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1));
    // For the very top (the 99.9th percentile: 5 of 5,000 samples) one pass keeping the largest
    // n - k values in a small heap is cheaper than a selection. From the 99th down the heap is
    // replaced too often (a smooth signal rises into it for many samples running) and
    // nth_element is 2-3x faster, with the same value.
    const std::size_t from_top = n - k;  // the answer is the smallest of the from_top largest
    if (from_top <= n / 256) {
        std::vector<double> top(values.begin(),
                                values.begin() + static_cast<std::ptrdiff_t>(from_top));
        std::make_heap(top.begin(), top.end(), std::greater<>());
        for (std::size_t i = from_top; i < n; ++i) {
            if (values[i] > top.front()) {
                std::pop_heap(top.begin(), top.end(), std::greater<>());
                top.back() = values[i];
                std::push_heap(top.begin(), top.end(), std::greater<>());
            }
        }
        return top.front();
    }
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return values[k];
}

}  // namespace countylink::codecs::ecg
