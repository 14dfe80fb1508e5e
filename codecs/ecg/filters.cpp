#include "codecs/ecg/filters.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace countylink::codecs::ecg {
namespace {

struct Biquad {
    double b0, b1, b2, a1, a2;

    // In place, direct form II transposed, starting from rest at the first value's level.
    void run(std::vector<double>& x) const {
        if (x.empty()) return;
        // Steady state for a constant input x[0]: no start-up transient.
        const double dc_gain = (b0 + b1 + b2) / (1 + a1 + a2);
        const double y0 = x[0] * dc_gain;
        double z2 = b2 * x[0] - a2 * y0;
        double z1 = b1 * x[0] - a1 * y0 + z2;
        for (auto& v : x) {
            const double in = v;
            const double out = b0 * in + z1;
            z1 = b1 * in - a1 * out + z2;
            z2 = b2 * in - a2 * out;
            v = out;
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

void forward_backward(const Biquad& q, std::vector<double>& x) {
    q.run(x);
    std::reverse(x.begin(), x.end());
    q.run(x);
    std::reverse(x.begin(), x.end());
}

}  // namespace

std::vector<double> band_limit(std::span<const float> x, double fs, double low_hz, double high_hz) {
    const std::size_t n = x.size();
    if (n == 0 || fs <= 0) return {};
    // Odd reflection at both ends: the filters start on a continuation of the signal, not a step.
    const std::size_t pad = std::min(n - 1, static_cast<std::size_t>(fs));
    std::vector<double> y;
    y.reserve(n + 2 * pad);
    for (std::size_t i = pad; i >= 1; --i) y.push_back(2.0 * x[0] - x[i]);
    for (float v : x) y.push_back(v);
    for (std::size_t i = 1; i <= pad; ++i) y.push_back(2.0 * x[n - 1] - x[n - 1 - i]);
    if (low_hz > 0 && low_hz < 0.45 * fs) forward_backward(butterworth(fs, low_hz, true), y);
    if (high_hz > 0 && high_hz < 0.45 * fs) forward_backward(butterworth(fs, high_hz, false), y);
    return {y.begin() + static_cast<std::ptrdiff_t>(pad),
            y.begin() + static_cast<std::ptrdiff_t>(pad + n)};
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

double tone_amplitude(std::span<const double> x, double fs, double hz) {
    if (x.empty() || fs <= 0) return 0;
    double mean = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(x.size());
    const double w = 2 * std::numbers::pi * hz / fs;
    const double coeff = 2 * std::cos(w);
    double s1 = 0, s2 = 0;
    for (double v : x) {
        const double s = (v - mean) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    return 2 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(x.size());
}

double quantile(std::vector<double> values, double q) {
    if (values.empty()) return 0;
    const auto k =
        static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return values[k];
}

}  // namespace countylink::codecs::ecg
