// The ECG quality gate on synthetic tracings with one known fault each (flat lead, rails, 50 and
// 60 Hz mains, wander, muscle noise, missing samples, noise, LA/RA reversal), at several sample
// rates, and on degenerate input it must survive; plus real records of the shared set.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "codecs/ecg/quality.hpp"
#include "codecs/ecg/read.hpp"
#include "tests/support/shared_data.hpp"

namespace fs = std::filesystem;
using namespace countylink::codecs::ecg;

namespace {

// One wave of the heart's dipole: a Gaussian at `at` seconds from the R peak, `width` s wide,
// with mV components along left (x), inferior (y) and anterior (z).
struct Wave {
    double at, width, x, y, z;
};
constexpr Wave kBeat[] = {
    {-0.16, 0.025, 0.08, 0.12, 0.02},   // P
    {-0.03, 0.008, -0.10, -0.10, 0.0},  // Q
    {0.0, 0.012, 1.0, 1.2, -0.6},       // R
    {0.035, 0.010, -0.2, -0.1, -0.3},   // S
    {0.25, 0.050, 0.25, 0.30, -0.10},   // T
};

// A ventricular ectopic beat: no P, a wide QRS along another axis, T opposite to it.
constexpr Wave kEctopic[] = {
    {0.0, 0.030, -1.2, 0.6, 0.9},
    {0.28, 0.060, 0.35, -0.25, -0.3},
};

// A 12-lead ECG (standard names and order) from the dipole above: Einthoven/Goldberger limb
// leads and chest leads from V1 (120 degrees) to V6 (0 degrees) in the horizontal plane, plus
// 10 µV of white noise. Deterministic. With `every_other`, beats alternate with that shape
// (bigeminy).
Waveform synth(double fs, double seconds = 10, double bpm = 72,
               std::span<const Wave> every_other = {}) {
    const auto n = static_cast<std::size_t>(fs * seconds);
    std::vector<double> x(n), y(n), z(n);
    const double rr = 60.0 / bpm;
    bool odd = false;
    for (double r = 0.3; r < seconds + 0.5; r += rr, odd = !odd) {
        for (const auto& w : odd && !every_other.empty() ? every_other : std::span(kBeat)) {
            for (std::size_t i = 0; i < n; ++i) {
                const double t = static_cast<double>(i) / fs - (r + w.at);
                if (std::fabs(t) > 5 * w.width) continue;
                const double g = std::exp(-t * t / (2 * w.width * w.width));
                x[i] += w.x * g;
                y[i] += w.y * g;
                z[i] += w.z * g;
            }
        }
    }
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0, 10);
    Waveform wf;
    wf.sample_rate_hz = fs;
    auto add = [&](std::string name, auto f) {
        Lead l;
        l.name = std::move(name);
        for (std::size_t i = 0; i < n; ++i)
            l.microvolts.push_back(static_cast<float>(1000 * f(i) + noise(rng)));
        wf.leads.push_back(std::move(l));
    };
    auto lead_i = [&](std::size_t i) { return x[i]; };
    auto lead_ii = [&](std::size_t i) { return 0.5 * x[i] + 0.866 * y[i]; };
    add("I", lead_i);
    add("II", lead_ii);
    add("III", [&](std::size_t i) { return lead_ii(i) - lead_i(i); });
    add("aVR", [&](std::size_t i) { return -(lead_i(i) + lead_ii(i)) / 2; });
    add("aVL", [&](std::size_t i) { return lead_i(i) - lead_ii(i) / 2; });
    add("aVF", [&](std::size_t i) { return lead_ii(i) - lead_i(i) / 2; });
    const double angles[] = {120, 100, 80, 60, 30, 0};
    for (int k = 0; k < 6; ++k) {
        const double a = angles[k] * std::numbers::pi / 180;
        add("V" + std::to_string(k + 1),
            [&](std::size_t i) { return std::cos(a) * x[i] - std::sin(a) * z[i]; });
    }
    return wf;
}

Lead& lead(Waveform& w, const std::string& name) {
    for (auto& l : w.leads)
        if (l.name == name) return l;
    throw std::runtime_error("no lead " + name);
}

void add_sine(Lead& l, double fs, double hz, double amplitude_uv) {
    for (std::size_t i = 0; i < l.microvolts.size(); ++i)
        l.microvolts[i] += static_cast<float>(
            amplitude_uv * std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / fs));
}

// LA/RA swapped: I -> -I, II <-> III, aVR <-> aVL.
Waveform arms_swapped(Waveform w) {
    for (auto& v : lead(w, "I").microvolts) v = -v;
    std::swap(lead(w, "II").microvolts, lead(w, "III").microvolts);
    std::swap(lead(w, "aVR").microvolts, lead(w, "aVL").microvolts);
    return w;
}

const QualityFinding* find(const QualityReport& r, const std::string& code,
                           const std::string& lead_name = "") {
    for (const auto& f : r.findings)
        if (f.code == code && (lead_name.empty() || f.lead == lead_name)) return &f;
    return nullptr;
}

std::string all(const QualityReport& r) {
    std::string out = std::string(verdict_name(r.verdict)) + ":";
    for (const auto& f : r.findings) out += " [" + f.code + " " + f.lead + ": " + f.reason + "]";
    return out;
}

}  // namespace

TEST(EcgQuality, CleanTracingIsAcceptableAtEverySampleRate) {
    for (double fs : {100.0, 250.0, 500.0, 1000.0}) {
        const auto r = assess(synth(fs));
        EXPECT_EQ(r.verdict, Verdict::acceptable) << fs << " Hz " << all(r);
        EXPECT_TRUE(r.findings.empty()) << fs << " Hz " << all(r);
        EXPECT_NEAR(r.heart_rate_bpm, 72, 2) << fs << " Hz";
    }
    const auto fast = assess(synth(500, 10, 150));
    EXPECT_EQ(fast.verdict, Verdict::acceptable) << all(fast);
    EXPECT_NEAR(fast.heart_rate_bpm, 150, 4);
}

TEST(EcgQuality, FlatLeadIsNamed) {
    auto w = synth(500);
    std::fill(lead(w, "V3").microvolts.begin(), lead(w, "V3").microvolts.end(), 0.0f);
    const auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::unacceptable);
    const auto* f = find(r, "flat_lead", "V3");
    ASSERT_NE(f, nullptr) << all(r);
    EXPECT_EQ(f->reason, "V3 flat: check electrode");
    EXPECT_EQ(find(r, "flat_lead", "V2"), nullptr) << all(r);
}

TEST(EcgQuality, LeadStuckAtTheRailIsSaturation) {
    auto w = synth(500);
    auto& v2 = lead(w, "V2").microvolts;
    std::fill(v2.begin() + 1000, v2.begin() + 2500, 10000.0f);  // 3 s at +10 mV
    const auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::unacceptable);
    const auto* f = find(r, "saturation", "V2");
    ASSERT_NE(f, nullptr) << all(r);
    EXPECT_NE(f->reason.find("amplifier limit"), std::string::npos);
}

TEST(EcgQuality, MainsAt50And60HzAreBothFoundAndTold) {
    for (double fs : {250.0, 500.0, 1000.0}) {
        for (double hz : {50.0, 60.0}) {
            auto w = synth(fs);
            add_sine(lead(w, "V4"), fs, hz, 500);
            const auto r = assess(w);
            EXPECT_EQ(r.verdict, Verdict::unacceptable) << fs << " " << hz << " " << all(r);
            const auto* f = find(r, "mains_noise", "V4");
            ASSERT_NE(f, nullptr) << fs << " " << hz << " " << all(r);
            EXPECT_NE(f->reason.find(std::to_string(static_cast<int>(hz)) + " Hz"),
                      std::string::npos)
                << f->reason;
            EXPECT_EQ(find(r, "mains_noise", "V3"), nullptr);
        }
    }
}

TEST(EcgQuality, SmallMainsHumIsTolerated) {
    auto w = synth(500);
    for (auto& l : w.leads) add_sine(l, 500, 50, 30);  // 30 µV: visible, still readable
    const auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::acceptable) << all(r);
}

TEST(EcgQuality, BaselineWander) {
    auto w = synth(500);
    add_sine(lead(w, "V5"), 500, 0.3, 15000);  // 30 mV peak to peak
    auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::unacceptable);
    ASSERT_NE(find(r, "baseline_wander", "V5"), nullptr) << all(r);

    // Breathing-sized wander (1 mV) is normal and passes.
    auto calm = synth(500);
    for (auto& l : calm.leads) add_sine(l, 500, 0.25, 500);
    r = assess(calm);
    EXPECT_EQ(r.verdict, Verdict::acceptable) << all(r);
}

TEST(EcgQuality, MotionSwingOffThePrintoutIsNamed) {
    // A 0.6 s movement of 15 mV in V2: too short and too fast for the wander limit, but it
    // runs the trace off its row for longer than 1 % of the record.
    auto bump = [](Waveform& w, const std::string& name, double mv) {
        auto& v = lead(w, name).microvolts;
        for (std::size_t i = 0; i < 300; ++i)
            v[2000 + i] += static_cast<float>(
                1000 * mv * std::sin(std::numbers::pi * static_cast<double>(i) / 300));
    };
    auto w = synth(500);
    bump(w, "V2", 15);
    auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::unacceptable) << all(r);
    const auto* f = find(r, "large_swing", "V2");
    ASSERT_NE(f, nullptr) << all(r);
    EXPECT_NE(f->reason.find("V2 swings beyond"), std::string::npos) << f->reason;
    EXPECT_EQ(find(r, "baseline_wander"), nullptr) << all(r);
    EXPECT_EQ(find(r, "large_swing", "V1"), nullptr) << all(r);

    // A 2 mV movement stays on the strip and passes.
    auto small = synth(500);
    bump(small, "V2", 2);
    r = assess(small);
    EXPECT_EQ(r.verdict, Verdict::acceptable) << all(r);
    EXPECT_LT(measure(small).leads[7].swing_uv, QualityParams{}.max_swing_uv);
}

TEST(EcgQuality, MuscleNoiseAbove40Hz) {
    auto w = synth(500);
    for (double hz : {80.0, 110.0, 150.0}) add_sine(lead(w, "V1"), 500, hz, 1500);
    // By default a note beside the verdict: the technician still reads the reason.
    auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::acceptable) << all(r);
    const auto* note = find(r, "hf_noise", "V1");
    ASSERT_NE(note, nullptr) << all(r);
    EXPECT_NE(note->reason.find("muscle"), std::string::npos) << note->reason;
    EXPECT_TRUE(note->note);
    EXPECT_EQ(find(r, "mains_noise"), nullptr) << all(r);
    EXPECT_EQ(r.findings.size(), 1u) << all(r);

    // A site that wants a redo for it says so.
    QualityParams strict;
    strict.hf_is_unacceptable = true;
    r = judge(measure(w), strict);
    EXPECT_EQ(r.verdict, Verdict::unacceptable);
    ASSERT_NE(find(r, "hf_noise", "V1"), nullptr) << all(r);
    EXPECT_FALSE(find(r, "hf_noise", "V1")->note);
}

TEST(EcgQuality, MuscleNoiseNoteDoesNotHideMains) {
    auto w = synth(500);
    for (double hz : {80.0, 110.0, 150.0}) add_sine(lead(w, "V1"), 500, hz, 1500);
    add_sine(lead(w, "V1"), 500, 50, 800);
    const auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::unacceptable) << all(r);
    const auto* f = find(r, "mains_noise", "V1");
    ASSERT_NE(f, nullptr) << all(r);
    EXPECT_NE(f->reason.find("50 Hz"), std::string::npos) << f->reason;
}

TEST(EcgQuality, MissingSamples) {
    auto w = synth(500);
    lead(w, "V6").microvolts.resize(3000);  // 6 of 10 s
    const auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::unacceptable);
    ASSERT_NE(find(r, "missing_samples", "V6"), nullptr) << all(r);
}

TEST(EcgQuality, NoiseBuryingBeatsInSeveralLeadsIsNamed) {
    // Motion-like noise inside the ECG band (3-23 Hz), several times the QRS, on six leads.
    auto w = synth(500);
    const std::vector<std::string> noisy = {"V1", "V2", "V3", "V4", "I", "aVL"};
    double phase = 0;
    for (const auto& name : noisy) {
        for (double hz : {3.1, 7.3, 11.9, 17.3, 23.1}) {
            auto& l = lead(w, name);
            for (std::size_t i = 0; i < l.microvolts.size(); ++i)
                l.microvolts[i] += static_cast<float>(
                    2500 *
                    std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / 500 + phase));
            phase += 1.3;
        }
    }
    const auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::unacceptable) << all(r);
    const auto* f = find(r, "noisy_leads");
    ASSERT_NE(f, nullptr) << all(r);
    for (const auto& name : noisy) EXPECT_NE(f->reason.find(name), std::string::npos) << f->reason;
    EXPECT_EQ(f->reason.find("V6"), std::string::npos) << f->reason;
}

TEST(EcgQuality, BigeminyIsNotNoise) {
    // Every other beat ectopic: one average beat matches neither shape, and a clean lead would
    // look as if its beats drowned in noise. Each beat is compared with its own shape instead.
    const auto q = measure(synth(500, 10, 72, kEctopic));
    EXPECT_TRUE(q.two_beat_shapes);
    for (const auto& l : q.leads) EXPECT_GT(l.beat_snr, 3) << l.name;
    EXPECT_EQ(q.noise_burden, 0);
    const auto r = judge(q, QualityParams{});
    EXPECT_EQ(r.verdict, Verdict::acceptable) << all(r);
    EXPECT_NEAR(r.heart_rate_bpm, 72, 2);
}

TEST(EcgQuality, NoiseIsNotTakenForTwoBeatShapes) {
    // Noise burying the beats of six leads: split into two groups, the beats are not explained
    // much better than by one average, so the noise still counts.
    auto w = synth(500);
    std::mt19937 rng(3);
    std::normal_distribution<double> noise(0, 3000);
    for (const auto& name : {"V1", "V2", "V3", "V4", "I", "aVL"})
        for (auto& v : lead(w, name).microvolts) v += static_cast<float>(noise(rng));
    const auto q = measure(w);
    EXPECT_FALSE(q.two_beat_shapes);
    EXPECT_LT(q.leads[0].beat_snr, 1);
    EXPECT_GT(q.noise_burden, 1);
}

TEST(EcgQuality, NoiseWithoutBeatsIsUnacceptable) {
    auto w = synth(500);
    std::mt19937 rng(5);
    std::normal_distribution<double> noise(0, 500);
    for (auto& l : w.leads)
        for (auto& v : l.microvolts) v = static_cast<float>(noise(rng));
    const auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::unacceptable) << all(r);
}

TEST(EcgQuality, LaRaReversalIsItsOwnFinding) {
    const auto normal = synth(500);
    const auto swapped = arms_swapped(normal);

    EXPECT_EQ(find(assess(normal), "limb_lead_reversal"), nullptr);
    const auto r = assess(swapped);
    const auto* f = find(r, "limb_lead_reversal");
    ASSERT_NE(f, nullptr) << all(r);
    EXPECT_NE(f->reason.find("swapped"), std::string::npos);
    // By default a note beside the verdict; a site can make it a redo.
    EXPECT_EQ(r.verdict, Verdict::acceptable);
    QualityParams strict;
    strict.reversal_is_unacceptable = true;
    EXPECT_EQ(judge(measure(swapped), strict).verdict, Verdict::unacceptable);
    EXPECT_EQ(judge(measure(normal), strict).verdict, Verdict::acceptable);
}

TEST(EcgQuality, PAndTWavesOfLeadIAreMeasuredAgainstTheLateralLeads) {
    const auto normal = synth(500);
    const auto swapped = arms_swapped(normal);
    const auto n = measure(normal), s = measure(swapped);
    ASSERT_TRUE(n.reversal_checked);
    ASSERT_TRUE(s.reversal_checked);
    for (std::size_t wave = 0; wave < 2; ++wave) {  // P, T
        EXPECT_GT(n.wave_corr[0][wave], 0.5) << wave;
        EXPECT_LT(s.wave_corr[0][wave], -0.5) << wave;
        // II and III trade places, so do their correlations.
        EXPECT_NEAR(s.wave_corr[1][wave], n.wave_corr[2][wave], 1e-6) << wave;
        EXPECT_NEAR(s.wave_corr[2][wave], n.wave_corr[1][wave], 1e-6) << wave;
    }
}

TEST(EcgQuality, LaRaReversalIsFoundByPAndTWhenTheQrsSaysLittle) {
    // A vertical heart: the whole beat in I barely points away (-0.3) and II, III look alike,
    // but P and T in I are clearly inverted against V5/V6 and III follows them more than II.
    auto q = measure(synth(500));  // a clean record, its reversal evidence replaced
    ASSERT_TRUE(q.reversal_checked);
    q.corr_i_lateral = -0.3;
    q.corr_ii_lateral = 0.8;
    q.corr_iii_lateral = 0.8;
    q.wave_corr[0][0] = -0.9;  // P in I
    q.wave_corr[0][1] = -0.8;  // T in I
    q.wave_corr[1][0] = 0.2;   // P in II
    q.wave_corr[2][0] = 0.7;   // P in III
    q.wave_corr[1][1] = 0.6;
    q.wave_corr[2][1] = 0.6;
    const QualityParams p;
    EXPECT_NE(find(judge(q, p), "limb_lead_reversal"), nullptr) << all(judge(q, p));
    // One inverted wave is not enough ...
    auto one = q;
    one.wave_corr[0][1] = 0.4;
    EXPECT_EQ(find(judge(one, p), "limb_lead_reversal"), nullptr) << all(judge(one, p));
    // ... nor are inverted waves in I when II follows the lateral leads more than III.
    auto ordered = q;
    ordered.wave_corr[1][0] = 0.9;
    ordered.wave_corr[2][0] = 0.1;
    EXPECT_EQ(find(judge(ordered, p), "limb_lead_reversal"), nullptr) << all(judge(ordered, p));
    // The whole-beat rule alone (as before the P/T vote) misses it.
    QualityParams whole_beat_only;
    whole_beat_only.min_reversal_waves = 4;
    EXPECT_EQ(find(judge(q, whole_beat_only), "limb_lead_reversal"), nullptr);
}

TEST(EcgQuality, LeadOrderDoesNotMatter) {
    auto w = synth(500);
    std::fill(lead(w, "aVL").microvolts.begin(), lead(w, "aVL").microvolts.end(), 0.0f);
    auto shuffled = w;
    std::reverse(shuffled.leads.begin(), shuffled.leads.end());
    const auto a = assess(w), b = assess(shuffled);
    EXPECT_EQ(a.verdict, b.verdict);
    EXPECT_NE(find(b, "flat_lead", "aVL"), nullptr) << all(b);
    EXPECT_EQ(find(b, "limb_lead_reversal"), nullptr) << all(b);
}

TEST(EcgQuality, FewLeadsAreJudgedToo) {
    auto w = synth(500);
    std::erase_if(w.leads, [](const Lead& l) { return l.name != "II" && l.name != "V5"; });
    const auto r = assess(w);
    EXPECT_EQ(r.verdict, Verdict::acceptable) << all(r);
    EXPECT_NEAR(r.heart_rate_bpm, 72, 2);
}

TEST(EcgQuality, DegenerateInputNeverThrows) {
    std::vector<Waveform> cases;
    cases.emplace_back();  // nothing at all
    Waveform no_rate = synth(500);
    no_rate.sample_rate_hz = 0;
    cases.push_back(no_rate);
    Waveform empty_leads;
    empty_leads.sample_rate_hz = 500;
    empty_leads.leads.resize(12);
    cases.push_back(empty_leads);
    Waveform one_sample = empty_leads;
    for (auto& l : one_sample.leads) l.microvolts = {1.0f};
    cases.push_back(one_sample);
    Waveform constant = synth(500);
    for (auto& l : constant.leads) std::fill(l.microvolts.begin(), l.microvolts.end(), 0.0f);
    cases.push_back(constant);
    cases.push_back(synth(500, 1.0));   // one second
    cases.push_back(synth(50, 10.0));   // too coarse to read
    cases.push_back(synth(4000, 2.0));  // very high rate, short
    for (const auto& w : cases) {
        QualityReport r;
        ASSERT_NO_THROW(r = assess(w));
        EXPECT_EQ(r.verdict, Verdict::unacceptable) << all(r);
        EXPECT_FALSE(r.findings.empty());
    }
}

TEST(EcgQuality, CoarseSampleRateIsTold) {
    const auto r = assess(synth(50));
    EXPECT_EQ(r.verdict, Verdict::unacceptable);
    ASSERT_NE(find(r, "low_sample_rate"), nullptr) << all(r);
}

TEST(EcgQuality, SharedRecordsWithRailsAndAFlatLead) {
    const auto dir = countylink::testing::shared_path("ecg-quality/set-a");
    ASSERT_TRUE(fs::is_directory(dir)) << dir << " missing: is ../shared there?";
    // 1002603: I and II sit at -16000 adu (-80 mV) throughout, per its header.
    auto parsed = read_wfdb(dir / "1002603.hea");
    ASSERT_TRUE(parsed.ok()) << parsed.error.reason;
    auto r = assess(*parsed.waveform);
    EXPECT_EQ(r.verdict, Verdict::unacceptable);
    EXPECT_NE(find(r, "saturation", "I"), nullptr) << all(r);
    // 2080991: V1 holds one value for all 10 s (peak-to-peak 0).
    parsed = read_wfdb(dir / "2080991.hea");
    ASSERT_TRUE(parsed.ok()) << parsed.error.reason;
    r = assess(*parsed.waveform);
    const auto* f = find(r, "flat_lead", "V1");
    ASSERT_NE(f, nullptr) << all(r);
    EXPECT_EQ(f->reason, "V1 flat: check electrode");
}
