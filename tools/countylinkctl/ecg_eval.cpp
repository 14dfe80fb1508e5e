#include "tools/countylinkctl/ecg_eval.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>

#include "codecs/ecg/quality.hpp"
#include "codecs/ecg/read.hpp"

namespace countylink::ctl {
namespace {

namespace fs = std::filesystem;
using codecs::ecg::QualityIndices;
using codecs::ecg::QualityParams;
using codecs::ecg::Verdict;

constexpr const char* kUsage =
    "usage: countylinkctl ecg-eval DIR LABELS.csv [--folds K] [--seed N] [--reversal] "
    "[--dump FILE]\n"
    "  LABELS.csv: record,label,source; records are DIR/<record>.hea\n";

struct Sample {
    std::string record;
    bool unacceptable = false;              // the label; positive class
    std::optional<QualityIndices> indices;  // nullopt: the gate could not read it
    std::string error;
};

struct Counts {
    std::size_t tp = 0, fn = 0, fp = 0, tn = 0;
    void add(bool truth, bool flagged) {
        if (truth) {
            ++(flagged ? tp : fn);
        } else {
            ++(flagged ? fp : tn);
        }
    }
    std::size_t n() const { return tp + fn + fp + tn; }
    double accuracy() const { return n() ? static_cast<double>(tp + tn) / n() : 0; }
    double sensitivity() const { return tp + fn ? static_cast<double>(tp) / (tp + fn) : 0; }
    double specificity() const { return tn + fp ? static_cast<double>(tn) / (tn + fp) : 0; }
};

std::string fixed3(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

// Wilson score interval (95 %) for a proportion.
std::pair<double, double> wilson(double p, std::size_t n) {
    if (n == 0) return {0, 0};
    const double z = 1.959964, nn = static_cast<double>(n);
    const double denom = 1 + z * z / nn;
    const double centre = (p + z * z / (2 * nn)) / denom;
    const double half = z / denom * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn));
    return {centre - half, centre + half};
}

// A record the gate cannot read is scored wrong, whatever its label.
bool flagged(const Sample& s, const QualityParams& p) {
    if (!s.indices) return !s.unacceptable;
    return codecs::ecg::judge(*s.indices, p).verdict == Verdict::unacceptable;
}

void print_figures(const Counts& c, const std::string& title) {
    const auto [lo, hi] = wilson(c.accuracy(), c.n());
    std::cout << title << "\n"
              << "confusion (unacceptable = positive): TP=" << c.tp << " FN=" << c.fn
              << " FP=" << c.fp << " TN=" << c.tn << "\n"
              << "sensitivity=" << fixed3(c.sensitivity())
              << " specificity=" << fixed3(c.specificity()) << "\n"
              << "balanced_accuracy=" << fixed3((c.sensitivity() + c.specificity()) / 2) << "\n"
              << "accuracy_95ci_wilson=[" << fixed3(lo) << ", " << fixed3(hi) << "]\n"
              << "accuracy=" << fixed3(c.accuracy()) << "\n";
}

// The fitted thresholds, in the order of `kTunableNames` and `grids()`.
constexpr const char* kTunableNames[] = {"min_beat_snr", "max_noise_burden", "min_beat_rate",
                                         "max_swing_uv"};

std::vector<double*> tunables(QualityParams& p) {
    return {&p.min_beat_snr, &p.max_noise_burden, &p.min_beat_rate, &p.max_swing_uv};
}

constexpr double kOff = 1e18;  // an upper limit that never fires

// Candidate values for each tunable: a fixed grid, so folds differ only in the data. The last
// burden value disables that rule; the swing grid starts with "off" and runs from lenient to
// strict, so a tie keeps the more lenient limit. The per-lead SNR floor and the beat rate are
// held off (0): on this set they fitted to off on all records and in most folds, and the folds
// that turned the rate on lost caught records (docs/ecg-quality.md); a site can still set them.
std::vector<std::vector<double>> grids() {
    std::vector<std::vector<double>> g(4);
    g[0].push_back(0);
    for (int i = 1; i <= 40; ++i) g[1].push_back(0.25 * i);
    g[1].push_back(kOff);
    g[2].push_back(0);
    g[3].push_back(kOff);
    for (int i = 40; i >= 6; --i) g[3].push_back(500.0 * i);
    return g;
}

// Every tunable rule disabled: what remains are the fixed ones. Also where fitting starts, so
// no threshold chosen on the whole set leaks into a cross-validation fold.
QualityParams tunable_rules_off() {
    QualityParams off;
    off.min_beat_snr = -1;
    off.max_noise_burden = kOff;
    off.min_beat_rate = -1;
    off.max_swing_uv = kOff;
    return off;
}

// What the fitted rules look at in one record, so fitting need not re-run `judge`: the verdict
// is the OR of the fixed rules and one comparison per tunable (checked against `judge` below).
struct Summary {
    bool unreadable = false;
    bool fixed_rules = false;  // a fixed rule fires (flat, rails, missing, HR, mains ...)
    double min_snr = 1e9, burden = 0, beat_rate = 0, max_swing = 0;
    std::size_t rate_step = 0;  // first index of the rate grid whose limit flags this record
    bool unacceptable = false;  // the label
};

Summary summarise(const Sample& s) {
    Summary m;
    m.unacceptable = s.unacceptable;
    if (!s.indices) {
        m.unreadable = true;
        return m;
    }
    const auto& q = *s.indices;
    m.fixed_rules = codecs::ecg::judge(q, tunable_rules_off()).verdict == Verdict::unacceptable;
    for (const auto& l : q.leads) {
        m.min_snr = std::min(m.min_snr, l.beat_snr);
        m.max_swing = std::max(m.max_swing, l.swing_uv);
    }
    m.burden = q.noise_burden;
    m.beat_rate = q.beat_rate;
    const auto rates = grids()[2];
    while (m.rate_step < rates.size() && !(m.beat_rate < rates[m.rate_step])) ++m.rate_step;
    return m;
}

// Flagged by a rule other than the beat rate.
bool flagged_but_rate(const Summary& m, const QualityParams& p) {
    return m.fixed_rules || m.min_snr < p.min_beat_snr || m.burden > p.max_noise_burden ||
           m.max_swing > p.max_swing_uv;
}

bool flagged(const Summary& m, const QualityParams& p) {
    if (m.unreadable) return !m.unacceptable;  // scored wrong
    return flagged_but_rate(m, p) || m.beat_rate < p.min_beat_rate;
}

std::size_t right(const std::vector<const Summary*>& train, const QualityParams& p) {
    std::size_t n = 0;
    for (const auto* m : train) n += flagged(*m, p) == m->unacceptable;
    return n;
}

// The burden limits that score as well as `best` form a run of the grid around it: the gap
// between the nearest records on either side. The limit goes to the middle of that gap, not to
// its strict end, so a record just beyond the training records is not flagged by chance.
QualityParams centre_burden(const std::vector<const Summary*>& train, QualityParams best,
                            std::size_t top) {
    const auto g = grids()[1];
    const auto at = std::find(g.begin(), g.end(), best.max_noise_burden);
    if (at == g.end()) return best;
    auto scores_top = [&](double burden) {
        QualityParams p = best;
        p.max_noise_burden = burden;
        return right(train, p) == top;
    };
    auto first = at, last = at;
    while (first != g.begin() && scores_top(*(first - 1))) --first;
    while (last + 1 != g.end() && scores_top(*(last + 1))) ++last;
    best.max_noise_burden = *(first + (last - first) / 2);
    return best;
}

// Maximises accuracy on `train` by exhaustive search of the grids, from the tunable rules all
// off. Ties keep the first best in the order burden, snr, swing, rate (grid order): the
// strictest burden with the most lenient per-lead, swing and beat-rate limits. The rate grid is
// scored in one pass per combination of the others (records not yet flagged, counted by the
// first rate step that flags them), which keeps the four-way search to a second. The burden
// then moves to the middle of the limits that score the same (`centre_burden`).
QualityParams fit(const std::vector<const Summary*>& train) {
    QualityParams p = tunable_rules_off(), best = p;
    const auto g = grids();
    const std::size_t steps = g[2].size();
    std::size_t top = 0;
    std::vector<std::size_t> pos(steps + 1), neg(steps + 1);
    for (double burden : g[1]) {
        p.max_noise_burden = burden;
        for (double snr : g[0]) {
            p.min_beat_snr = snr;
            for (double swing : g[3]) {
                p.max_swing_uv = swing;
                std::fill(pos.begin(), pos.end(), 0);
                std::fill(neg.begin(), neg.end(), 0);
                std::size_t right_flagged = 0;  // flagged whatever the rate limit, and right
                for (const auto* m : train) {
                    if (m->unreadable) continue;  // scored wrong whatever the limits
                    if (flagged_but_rate(*m, p)) {
                        right_flagged += m->unacceptable;
                    } else {
                        ++(m->unacceptable ? pos : neg)[m->rate_step];
                    }
                }
                // With the rate limit at step k, a waiting record is flagged iff its step <= k.
                std::size_t neg_passed = 0;
                for (std::size_t k = 0; k <= steps; ++k) neg_passed += neg[k];
                std::size_t pos_flagged = 0;
                for (std::size_t k = 0; k < steps; ++k) {
                    pos_flagged += pos[k];
                    neg_passed -= neg[k];
                    const auto n = right_flagged + pos_flagged + neg_passed;
                    if (n > top) {
                        top = n;
                        best = p;
                        best.min_beat_rate = g[2][k];
                    }
                }
            }
        }
    }
    return centre_burden(train, best, top);
}

std::string describe(QualityParams p) {
    std::string out;
    auto t = tunables(p);
    for (std::size_t k = 0; k < t.size(); ++k) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%s=%g", k ? " " : "", kTunableNames[k], *t[k]);
        out += buf;
    }
    return out;
}

// LA/RA swapped: I -> -I, II <-> III, aVR <-> aVL (aVF and the chest leads unchanged).
codecs::ecg::Waveform swap_arms(codecs::ecg::Waveform w) {
    auto find = [&](std::string_view name) -> codecs::ecg::Lead* {
        for (auto& l : w.leads)
            if (l.name == name) return &l;
        return nullptr;
    };
    if (auto* i = find("I"))
        for (auto& v : i->microvolts) v = -v;
    auto *ii = find("II"), *iii = find("III"), *avr = find("aVR"), *avl = find("aVL");
    if (ii && iii) std::swap(ii->microvolts, iii->microvolts);
    if (avr && avl) std::swap(avr->microvolts, avl->microvolts);
    return w;
}

bool has_reversal(const codecs::ecg::QualityReport& r) {
    return std::any_of(r.findings.begin(), r.findings.end(),
                       [](const auto& f) { return f.code == "limb_lead_reversal"; });
}

std::vector<std::pair<std::string, bool>> read_labels(const fs::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open labels " + path.string());
    std::vector<std::pair<std::string, bool>> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto c1 = line.find(',');
        if (c1 == std::string::npos) continue;
        const auto c2 = line.find(',', c1 + 1);
        const std::string record = line.substr(0, c1);
        const std::string label = line.substr(c1 + 1, c2 == std::string::npos ? c2 : c2 - c1 - 1);
        if (label == "acceptable" || label == "unacceptable") {
            out.emplace_back(record, label == "unacceptable");
        } else if (record != "record") {
            throw std::runtime_error("labels line '" + line +
                                     "': label must be acceptable or unacceptable");
        }
    }
    return out;
}

void dump(const std::vector<Sample>& samples, const fs::path& file) {
    std::ofstream out(file);
    out << "record,unacceptable,lead,range_uv,stuck,rail,artefact_uv,wander_uv,hf_ratio,m50,m50r,"
           "m60,m60r,beats,agreement,corr,snr,qrs_uv,consensus,hr,burden,rev_checked,corr_i_lat,"
           "corr_ii_lat,corr_iii_lat,swing_uv,two_shapes\n";
    for (const auto& s : samples) {
        if (!s.indices) continue;
        const auto& q = *s.indices;
        for (const auto& l : q.leads) {
            out << s.record << "," << s.unacceptable << "," << l.name << "," << l.range_uv << ","
                << l.stuck_fraction << "," << l.rail_fraction << "," << l.artefact_uv << ","
                << l.wander_uv << "," << l.hf_ratio << "," << l.mains50_uv << "," << l.mains50_ratio
                << "," << l.mains60_uv << "," << l.mains60_ratio << "," << l.beats << ","
                << l.beat_agreement << "," << l.beat_corr << "," << l.beat_snr << "," << l.qrs_uv
                << "," << q.consensus_beats << "," << q.heart_rate_bpm << "," << q.noise_burden
                << "," << q.reversal_checked << "," << q.corr_i_lateral << "," << q.corr_ii_lateral
                << "," << q.corr_iii_lateral << "," << l.swing_uv << "," << q.two_beat_shapes
                << "\n";
        }
    }
}

}  // namespace

int ecg_eval(const std::vector<std::string>& args) {
    std::vector<std::string> positional;
    std::size_t folds = 0;
    unsigned seed = 2011;
    bool reversal = false;
    std::string dump_file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) return std::nullopt;
            return args[++i];
        };
        try {
            if (a == "--folds") {
                auto v = value();
                if (!v) throw std::invalid_argument("--folds");
                folds = std::stoul(*v);
            } else if (a == "--seed") {
                auto v = value();
                if (!v) throw std::invalid_argument("--seed");
                seed = static_cast<unsigned>(std::stoul(*v));
            } else if (a == "--reversal") {
                reversal = true;
            } else if (a == "--dump") {
                auto v = value();
                if (!v) throw std::invalid_argument("--dump");
                dump_file = *v;
            } else if (a.starts_with("--")) {
                throw std::invalid_argument(a);
            } else {
                positional.push_back(a);
            }
        } catch (const std::logic_error&) {
            std::cerr << "countylinkctl ecg-eval: bad option " << a << "\n" << kUsage;
            return 2;
        }
    }
    if (positional.size() != 2 || folds == 1) {
        std::cerr << kUsage;
        return 2;
    }
    const fs::path dir = positional[0];
    const auto labels = read_labels(positional[1]);

    std::vector<Sample> samples;
    std::size_t reversal_n = 0, reversal_hit = 0, reversal_false = 0;
    std::ofstream reversal_dump;
    if (reversal && !dump_file.empty()) {
        reversal_dump.open(dump_file + ".reversal.csv");
        reversal_dump << "record,swapped,corr_i,corr_ii,corr_iii";
        for (const char* l : {"i", "ii", "iii"})
            for (const char* w : {"p", "t"}) reversal_dump << "," << w << "_" << l;
        reversal_dump << "\n";
    }
    auto dump_reversal = [&](const std::string& record, bool swapped, const QualityIndices& q) {
        if (!reversal_dump.is_open()) return;
        reversal_dump << record << "," << swapped << "," << q.corr_i_lateral << ","
                      << q.corr_ii_lateral << "," << q.corr_iii_lateral;
        for (const auto& row : q.wave_corr)
            for (double v : row) reversal_dump << "," << v;
        reversal_dump << "\n";
    };
    for (const auto& [record, unacceptable] : labels) {
        Sample s;
        s.record = record;
        s.unacceptable = unacceptable;
        auto parsed = codecs::ecg::read_wfdb(dir / (record + ".hea"));
        if (parsed.ok()) {
            s.indices = codecs::ecg::measure(*parsed.waveform);
            if (reversal && !unacceptable) {
                ++reversal_n;
                reversal_false += has_reversal(codecs::ecg::judge(*s.indices, QualityParams{}));
                const auto swapped = codecs::ecg::measure(swap_arms(*parsed.waveform));
                reversal_hit += has_reversal(codecs::ecg::judge(swapped, QualityParams{}));
                dump_reversal(record, false, *s.indices);
                dump_reversal(record, true, swapped);
            }
        } else {
            s.error = parsed.error.reason;
            std::cerr << "ecg-eval: " << record << ": " << s.error << " (scored as wrong)\n";
        }
        samples.push_back(std::move(s));
        if (samples.size() % 100 == 0 || samples.size() == labels.size())
            std::cerr << "ecg-eval: " << samples.size() << "/" << labels.size() << " records\n";
    }
    if (!dump_file.empty()) dump(samples, dump_file);
    const std::size_t failed =
        std::count_if(samples.begin(), samples.end(), [](const auto& s) { return !s.indices; });
    std::cout << "records=" << samples.size() << " unreadable=" << failed << "\n";

    if (reversal) {
        const double n = static_cast<double>(std::max<std::size_t>(reversal_n, 1));
        std::cout << "reversal on " << reversal_n << " acceptable records (LA/RA swapped): "
                  << "detected=" << fixed3(reversal_hit / n)
                  << " false_alarms=" << fixed3(reversal_false / n) << "\n";
    }

    Counts fitted;
    for (const auto& s : samples) fitted.add(s.unacceptable, flagged(s, QualityParams{}));
    if (folds == 0) {
        print_figures(
            fitted, "shipped thresholds (" + describe(QualityParams{}) + "), fitted on this set:");
        return 0;
    }
    // Stratified folds: each label's records shuffled with a fixed seed, dealt round-robin.
    std::vector<std::size_t> fold_of(samples.size());
    std::mt19937 rng(seed);
    for (bool label : {true, false}) {
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < samples.size(); ++i)
            if (samples[i].unacceptable == label) idx.push_back(i);
        std::shuffle(idx.begin(), idx.end(), rng);
        for (std::size_t k = 0; k < idx.size(); ++k) fold_of[idx[k]] = k % folds;
    }
    std::vector<Summary> summaries;
    for (const auto& s : samples) summaries.push_back(summarise(s));
    Counts oof;
    for (std::size_t f = 0; f < folds; ++f) {
        std::vector<const Summary*> train;
        for (std::size_t i = 0; i < samples.size(); ++i)
            if (fold_of[i] != f) train.push_back(&summaries[i]);
        const auto p = fit(train);
        std::cerr << "ecg-eval: fold " << f + 1 << "/" << folds << ": " << describe(p) << "\n";
        for (std::size_t i = 0; i < samples.size(); ++i)
            if (fold_of[i] == f) oof.add(samples[i].unacceptable, flagged(samples[i], p));
    }
    std::vector<const Summary*> all;
    for (const auto& m : summaries) all.push_back(&m);
    const auto refit = fit(all);
    Counts refitted;
    std::size_t mismatches = 0;  // the fast path must agree with the gate itself
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const bool by_gate = flagged(samples[i], refit);
        mismatches += by_gate != flagged(summaries[i], refit);
        refitted.add(samples[i].unacceptable, by_gate);
    }
    if (mismatches) {
        std::cerr << "ecg-eval: internal error: fitting summary disagrees with the gate on "
                  << mismatches << " records\n";
        return 1;
    }
    std::cout << "shipped thresholds: accuracy=" << fixed3(fitted.accuracy())
              << " sensitivity=" << fixed3(fitted.sensitivity())
              << " specificity=" << fixed3(fitted.specificity()) << "\n";
    std::cout << "re-fitted on all records (" << describe(refit)
              << "): accuracy=" << fixed3(refitted.accuracy())
              << " sensitivity=" << fixed3(refitted.sensitivity())
              << " specificity=" << fixed3(refitted.specificity()) << "\n";
    print_figures(oof, std::to_string(folds) + "-fold stratified cross-validation (seed " +
                           std::to_string(seed) + "), out-of-fold:");
    return 0;
}

}  // namespace countylink::ctl
