// The gate's filters computed many at a time must give exactly what one at a time gives: the
// batched forms exist only for speed, and the gate's thresholds were fitted on the single ones.
#include "codecs/ecg/filters.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <span>
#include <vector>

namespace countylink::codecs::ecg {
namespace {

std::vector<float> noisy_sine(std::size_t n, double fs, double hz, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0, 40);
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i)
        x[i] = static_cast<float>(800 * std::sin(2 * std::numbers::pi * hz * i / fs)) + noise(rng);
    return x;
}

TEST(EcgFilters, BandLimitEachEqualsBandLimitBitForBit) {
    const double fs = 500;
    // Thirteen leads: three groups of four of one length, one of another length, one short,
    // one empty (a missing lead), so every path of the batching is taken.
    std::vector<std::vector<float>> leads;
    for (unsigned i = 0; i < 12; ++i) leads.push_back(noisy_sine(5000, fs, 1 + i, i));
    leads.push_back(noisy_sine(4000, fs, 7, 99));
    leads.push_back(noisy_sine(2, fs, 7, 98));
    leads.push_back({});
    std::vector<std::span<const float>> inputs(leads.begin(), leads.end());
    for (const auto& [low, high] : {std::pair{0.5, 40.0}, {0.0, 0.7}, {5.0, 20.0}, {0.0, 0.0}}) {
        const auto together = band_limit_each(inputs, fs, low, high);
        ASSERT_EQ(together.size(), leads.size());
        for (std::size_t i = 0; i < leads.size(); ++i) {
            const auto alone = band_limit(leads[i], fs, low, high);
            EXPECT_EQ(together[i], alone) << "lead " << i << ", band " << low << "-" << high;
        }
    }
}

TEST(EcgFilters, ToneAmplitudesEqualOneCallPerFrequency) {
    const double fs = 500;
    const auto x32 = noisy_sine(5000, fs, 50, 3);
    const std::vector<double> x(x32.begin(), x32.end());
    const std::vector<double> hz{49.8, 50, 50.2, 46, 48, 52, 54, 59.8, 60, 60.2};  // > one batch
    const auto together = tone_amplitudes(x, fs, hz);
    ASSERT_EQ(together.size(), hz.size());
    for (std::size_t k = 0; k < hz.size(); ++k)
        EXPECT_EQ(together[k], tone_amplitudes(x, fs, std::span(&hz[k], 1))[0]) << hz[k] << " Hz";
    EXPECT_NEAR(together[1], 800, 10) << "the 50 Hz line's amplitude";
    EXPECT_LT(together[3], 20) << "nothing at 46 Hz";
}

}  // namespace
}  // namespace countylink::codecs::ecg

namespace countylink::codecs::ecg {
namespace {

// The nearest-rank quantile, by sorting: what quantile() must give, by whatever route.
double sorted_quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

TEST(EcgFilters, QuantileIsTheNearestRankWhateverTheRoute) {
    std::mt19937 rng(7);
    std::normal_distribution<double> d(0, 100);
    for (const std::size_t n : {1u, 2u, 15u, 16u, 17u, 1000u, 6001u}) {
        std::vector<double> v(n);
        for (auto& x : v) x = std::round(d(rng));  // ties, as in quantised samples
        for (const double q : {0.0, 0.02, 0.5, 0.9, 0.98, 0.99, 0.999, 1.0})
            EXPECT_EQ(quantile(v, q), sorted_quantile(v, q)) << "n " << n << ", q " << q;
    }
}

}  // namespace
}  // namespace countylink::codecs::ecg
