// The few filters the quality gate needs, for any sample rate: zero-phase Butterworth band
// limits, a centred moving average, a single-frequency amplitude (Goertzel) and a percentile.
#pragma once

#include <span>
#include <vector>

namespace countylink::codecs::ecg {

// `x` with content below `low_hz` and above `high_hz` removed (2nd-order Butterworth each side,
// run forwards and backwards so peaks stay in place; edges padded by odd reflection). A limit of
// 0, or a high limit at or above 0.45 * fs, is skipped.
std::vector<double> band_limit(std::span<const float> x, double fs, double low_hz, double high_hz);

// band_limit of each series in `xs`, the same values, computed side by side: the recursions of
// different leads are independent, so the processor overlaps them instead of waiting on one.
std::vector<std::vector<double>> band_limit_each(std::span<const std::span<const float>> xs,
                                                 double fs, double low_hz, double high_hz);

// Centred moving average over `width` samples (>= 1); the window shrinks at the edges.
std::vector<double> moving_average(std::span<const double> x, std::size_t width);

// Amplitude (same units as x) of a sinusoid at each of `hz` in `x`, mean removed (Goertzel);
// 0 for empty x. One pass for all of them (the gate asks for seven per mains line: one pass
// each was a quarter of its time), with the same values as one call per frequency.
std::vector<double> tone_amplitudes(std::span<const double> x, double fs,
                                    std::span<const double> hz);

// The q-quantile (0..1) of `values` (copied; nearest rank). 0 for empty input.
double quantile(std::vector<double> values, double q);
// The same, reordering `values` in place instead of copying (for scratch buffers in loops).
double quantile_in_place(std::span<double> values, double q);

}  // namespace countylink::codecs::ecg
