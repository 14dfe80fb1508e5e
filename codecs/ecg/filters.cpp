#include "codecs/ecg/filters.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

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

void forward_backward(const Biquad& q, std::vector<double>& x) {
    q.run(x.data(), x.size(), false);
    q.run(x.data(), x.size(), true);
}

}  // namespace

std::vector<double> band_limit(std::span<const float> x, double fs, double low_hz, double high_hz) {
    const std::size_t n = x.size();
    if (n == 0 || fs <= 0) return {};
    // Odd reflection at both ends: the filters start on a continuation of the signal, not a step.
    const std::size_t pad = std::min(n - 1, static_cast<std::size_t>(fs));
    std::vector<double> y(n + 2 * pad);
    double* out = y.data();
    const float* in = x.data();
    for (std::size_t i = 0; i < pad; ++i) out[i] = 2.0 * in[0] - in[pad - i];
    for (std::size_t i = 0; i < n; ++i) out[pad + i] = in[i];
    for (std::size_t i = 1; i <= pad; ++i) out[pad + n - 1 + i] = 2.0 * in[n - 1] - in[n - 1 - i];
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
    const double* v = x.data();
    const std::size_t n = x.size();
    double mean = 0;
    for (std::size_t i = 0; i < n; ++i) mean += v[i];
    mean /= static_cast<double>(n);
    const double coeff = 2 * std::cos(2 * std::numbers::pi * hz / fs);
    double s1 = 0, s2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double s = (v[i] - mean) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    return 2 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(n);
}

double quantile(std::vector<double> values, double q) {
    if (values.empty()) return 0;
    const auto k =
        static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return values[k];
}

}  // namespace countylink::codecs::ecg
