// Prometheus metrics: counters, gauges and histograms with labels, exposed in the text format
// (version 0.0.4). Debian 12 has no prometheus-cpp package, so this is our own small,
// lock-free-on-update implementation; `promtool check metrics` validates its output in tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace countylink::metrics {

class Counter {
  public:
    void inc(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
    uint64_t value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> value_{0};
};

class Gauge {
  public:
    void inc(int64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
    void dec(int64_t by = 1) { value_.fetch_sub(by, std::memory_order_relaxed); }
    void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
    int64_t value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<int64_t> value_{0};
};

class Histogram {
  public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value);
    const std::vector<double>& bounds() const { return bounds_; }
    // Cumulative counts per bound, then +Inf; sum of observations.
    std::vector<uint64_t> cumulative_counts() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // one per bound, plus +Inf
    std::atomic<double> sum_{0};
};

// A metric name with label names; children are created on first use of a label-value tuple.
template <typename Metric>
class Family {
  public:
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           std::vector<double> bounds = {})
        : name_(std::move(name)),
          help_(std::move(help)),
          label_names_(std::move(label_names)),
          bounds_(std::move(bounds)) {}

    // The child for these label values (as many as label names); stable reference.
    Metric& with(const std::vector<std::string>& label_values);

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const std::vector<std::string>& label_names() const { return label_names_; }
    template <typename Fn>
    void for_each(Fn fn) const {
        std::lock_guard lock(mutex_);
        for (const auto& [labels, metric] : children_) fn(labels, *metric);
    }

  private:
    std::string name_, help_;
    std::vector<std::string> label_names_;
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

// Every metric of the process; owned by main and passed to the stages that count.
class Registry {
  public:
    Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels);
    Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels);
    Family<Histogram>& histogram(std::string name, std::string help,
                                 std::vector<std::string> labels, std::vector<double> bounds);
    // The text exposition of all families: counters, then gauges, then histograms, each in
    // registration order.
    std::string expose() const;

  private:
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Family<Counter>>> counters_;
    std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
    std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
};

// Latency buckets in seconds, 1 ms to 2 min.
std::vector<double> latency_buckets();

// Turnaround buckets in seconds, 1 s to 7 days.
std::vector<double> turnaround_buckets();

}  // namespace countylink::metrics
