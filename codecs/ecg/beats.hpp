// Finding heartbeats for the quality gate: a per-lead QRS detector, the beats most leads agree
// on, and how well each lead's beats repeat around that consensus.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace countylink::codecs::ecg {

// Sample indices of QRS complexes in one lead, given limited to 5-20 Hz (band_limit or
// band_limit_each): squared slope, 120 ms integration, threshold at 0.3 x its 98th
// percentile, 250 ms refractory. Empty for a flat lead.
std::vector<std::size_t> detect_qrs_in_band(std::span<const double> band, double fs);

// Beats that at least `min_leads` leads detected within 100 ms of each other (their median).
std::vector<std::size_t> consensus_beats(const std::vector<std::vector<std::size_t>>& per_lead,
                                         double fs, std::size_t min_leads);

// F1 of `beats` against `reference` (matches within 100 ms); 0 when either is empty.
double beat_agreement(std::span<const std::size_t> beats, std::span<const std::size_t> reference,
                      double fs);

// How one lead's beats repeat: its average (median) beat over [-0.2 s, +0.4 s] around each
// consensus beat, the median correlation of each beat with it, and its size over the residual.
struct BeatShape {
    std::vector<double> average;  // empty when fewer than 3 whole beats fit in the record
    double median_corr = 0;
    double snr = 0;       // peak-to-peak of `average` / rms(beat - average)
    double size = 0;      // peak-to-peak of `average`, same units as the signal
    double residual = 0;  // rms(beat - average), same units
};

// `filtered` is the lead after baseline and high-frequency removal. With `groups` (one entry per
// beat, from beat_groups), each beat is compared with the average of its own group instead of
// the average of all beats; `average` and `size` stay those of all beats.
BeatShape beat_shape(std::span<const double> filtered, std::span<const std::size_t> beats,
                     double fs, std::span<const unsigned char> groups = {});

// Beats of two shapes (bigeminy, frequent ectopic beats): a median beat of both shapes matches
// neither, and the residual of a clean lead looks like noise. Splits the beats (over all leads,
// each scaled by its spread) into two groups by 2-means, from the beat farthest from the median
// and the beat farthest from that one. Returns 0 or 1 per beat, or empty when the beats do not
// split into two groups of at least 3 whole beats.
std::vector<unsigned char> beat_groups(std::span<const std::vector<double>> filtered,
                                       std::span<const std::size_t> beats, double fs);

// Pearson correlation of two equally long sequences; 0 when either is constant or empty.
double correlation(std::span<const double> a, std::span<const double> b);

}  // namespace countylink::codecs::ecg
