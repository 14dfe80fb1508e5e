#include "gateway/metrics/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace countylink::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
    const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    counts_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
    std::vector<uint64_t> out(bounds_.size() + 1);
    uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        out[i] = running;
    }
    return out;
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
    std::lock_guard lock(mutex_);
    auto& slot = children_[label_values];
    if (!slot) {
        if constexpr (std::is_same_v<Metric, Histogram>) {
            slot = std::make_unique<Histogram>(bounds_);
        } else {
            slot = std::make_unique<Metric>();
        }
    }
    return *slot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> labels) {
    std::lock_guard lock(mutex_);
    return *counters_.emplace_back(
        std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(labels)));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> labels) {
    std::lock_guard lock(mutex_);
    return *gauges_.emplace_back(
        std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(labels)));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
    std::lock_guard lock(mutex_);
    return *histograms_.emplace_back(std::make_unique<Family<Histogram>>(
        std::move(name), std::move(help), std::move(labels), std::move(bounds)));
}

namespace {

std::string escape_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, const std::string& extra = {}) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
        if (!out.empty()) out += ',';
        out += names[i] + "=\"" + escape_label(values[i]) + "\"";
    }
    if (!extra.empty()) {
        if (!out.empty()) out += ',';
        out += extra;
    }
    return out.empty() ? std::string() : "{" + out + "}";
}

// Shortest round-trip form ("0.0025", not "0.0025000000000000001"): Prometheus matches `le`
// as a string, so rules written as le="0.1" must find exactly that.
std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    return ec == std::errc() ? std::string(buffer, end) : std::string("NaN");
}

std::string escape_help(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

template <typename Metric>
void header(std::ostringstream& out, const Family<Metric>& f, const char* type) {
    out << "# HELP " << f.name() << ' ' << escape_help(f.help()) << '\n';
    out << "# TYPE " << f.name() << ' ' << type << '\n';
}

}  // namespace

std::string Registry::expose() const {
    std::ostringstream out;
    std::lock_guard lock(mutex_);
    for (const auto& f : counters_) {
        header(out, *f, "counter");
        f->for_each([&](const auto& labels, const Counter& c) {
            out << f->name() << label_text(f->label_names(), labels) << ' ' << c.value() << '\n';
        });
    }
    for (const auto& f : gauges_) {
        header(out, *f, "gauge");
        f->for_each([&](const auto& labels, const Gauge& g) {
            out << f->name() << label_text(f->label_names(), labels) << ' ' << g.value() << '\n';
        });
    }
    for (const auto& f : histograms_) {
        header(out, *f, "histogram");
        f->for_each([&](const auto& labels, const Histogram& h) {
            const auto counts = h.cumulative_counts();
            for (std::size_t i = 0; i < counts.size(); ++i) {
                const double le = i < h.bounds().size() ? h.bounds()[i] : INFINITY;
                out << f->name() << "_bucket"
                    << label_text(f->label_names(), labels, "le=\"" + number(le) + "\"") << ' '
                    << counts[i] << '\n';
            }
            out << f->name() << "_sum" << label_text(f->label_names(), labels) << ' '
                << number(h.sum()) << '\n';
            out << f->name() << "_count" << label_text(f->label_names(), labels) << ' '
                << counts.back() << '\n';
        });
    }
    return out.str();
}

std::vector<double> latency_buckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

std::vector<double> turnaround_buckets() {
    return {1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800};
}

}  // namespace countylink::metrics
