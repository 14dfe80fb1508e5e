#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace countylink::synth {

// One SplitMix64 step: a well-mixed 64-bit value for any input; used to derive seeds and UIDs.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31U);
}

// Hashes a list of keys into one 64-bit value; equal keys in equal order give equal hashes.
template <typename... Keys>
constexpr std::uint64_t mix_keys(std::uint64_t first, Keys... rest) {
    std::uint64_t h = splitmix64(first);
    ((h = splitmix64(h ^ static_cast<std::uint64_t>(rest))), ...);
    return h;
}

// xoshiro256** generator: fast and reproducible for a given seed; not cryptographic.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) {
        for (auto& word : state_) {
            seed = splitmix64(seed);
            word = seed;
        }
    }

    // Next raw 64-bit value.
    std::uint64_t next() {
        const std::uint64_t result = rotl(state_[1] * 5U, 7) * 9U;
        const std::uint64_t t = state_[1] << 17U;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // Uniform double in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }

    // Uniform double in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

    // Uniform integer in [lo, hi] (hi >= lo); the modulo bias is irrelevant for synthetic data.
    std::uint32_t between(std::uint32_t lo, std::uint32_t hi) {
        return lo + static_cast<std::uint32_t>(next() % (std::uint64_t{hi} - lo + 1U));
    }

    // Standard normal deviate (Box-Muller).
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double u1 = 1.0 - uniform();  // (0, 1]: log() stays finite
        const double u2 = uniform();
        const double radius = std::sqrt(-2.0 * std::log(u1));
        spare_ = radius * std::sin(2.0 * std::numbers::pi * u2);
        has_spare_ = true;
        return radius * std::cos(2.0 * std::numbers::pi * u2);
    }

    // Cheap, roughly normal deviate (sum of four 16-bit uniforms, unit variance) for bulk noise.
    double rough_normal() {
        const std::uint64_t r = next();
        const auto sum = static_cast<double>((r & 0xffffU) + ((r >> 16U) & 0xffffU) +
                                             ((r >> 32U) & 0xffffU) + (r >> 48U));
        constexpr double kMean = 4.0 * 65535.0 / 2.0;
        constexpr double kSd = 37837.23;  // sqrt(4 * (65536^2 - 1) / 12)
        return (sum - kMean) / kSd;
    }

  private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
    }

    std::array<std::uint64_t, 4> state_{};
    double spare_ = 0.0;
    bool has_spare_ = false;
};

}  // namespace countylink::synth
