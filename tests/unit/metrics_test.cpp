// Prometheus text exposition (format 0.0.4): what ops dashboards and alerts scrape. The expected
// lines are written from the format's specification, and the whole output must pass
// `promtool check metrics` (the Prometheus project's own parser and linter).
#include "gateway/metrics/registry.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/metrics/gateway_metrics.hpp"

namespace countylink::metrics {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

bool contains_line(const std::string& text, const std::string& line) {
    for (const auto& l : lines_of(text)) {
        if (l == line) return true;
    }
    return false;
}

// Checks that `expected` appears as consecutive lines of `text`.
void expect_block(const std::string& text, const std::vector<std::string>& expected) {
    const auto lines = lines_of(text);
    for (std::size_t start = 0; start + expected.size() <= lines.size(); ++start) {
        bool match = true;
        for (std::size_t i = 0; i < expected.size() && match; ++i) {
            match = lines[start + i] == expected[i];
        }
        if (match) return;
    }
    std::string want;
    for (const auto& l : expected) want += l + "\n";
    ADD_FAILURE() << "exposition:\n" << text << "\nlacks the lines:\n" << want;
}

TEST(MetricsExposition, CounterWithLabels) {
    Registry registry;
    auto& received =
        registry.counter("countylink_objects_received_total",
                         "Objects received, by protocol and township.", {"protocol", "township"});
    received.with({"dimse", "Dongxiang"}).inc(3);
    received.with({"stow", "Xiying"}).inc();
    received.with({"dimse", "Dongxiang"}).inc(2);

    const std::string text = registry.expose();
    expect_block(
        text,
        {
            "# HELP countylink_objects_received_total Objects received, by protocol and township.",
            "# TYPE countylink_objects_received_total counter",
        });
    EXPECT_TRUE(contains_line(
        text, R"(countylink_objects_received_total{protocol="dimse",township="Dongxiang"} 5)"))
        << text;
    EXPECT_TRUE(contains_line(
        text, R"(countylink_objects_received_total{protocol="stow",township="Xiying"} 1)"))
        << text;
    EXPECT_EQ(received.with({"dimse", "Dongxiang"}).value(), 5u);
}

TEST(MetricsExposition, GaugeWithAndWithoutLabels) {
    Registry registry;
    registry.gauge("countylink_associations_active", "Open DICOM associations.", {})
        .with({})
        .set(7);
    auto& depth =
        registry.gauge("countylink_queue_depth", "Items waiting per reading queue.", {"queue"});
    depth.with({"ct"}).inc(4);
    depth.with({"ct"}).dec();
    depth.with({"ecg"}).set(-1);

    const std::string text = registry.expose();
    expect_block(text, {
                           "# HELP countylink_associations_active Open DICOM associations.",
                           "# TYPE countylink_associations_active gauge",
                           "countylink_associations_active 7",
                       });
    EXPECT_TRUE(contains_line(text, R"(countylink_queue_depth{queue="ct"} 3)")) << text;
    EXPECT_TRUE(contains_line(text, R"(countylink_queue_depth{queue="ecg"} -1)")) << text;
}

// Buckets are cumulative, an observation equal to a bound counts in that bound's bucket
// (le = less or equal), +Inf holds everything, _count equals the +Inf bucket.
TEST(MetricsExposition, HistogramBucketsSumAndCount) {
    Registry registry;
    auto& latency = registry.histogram("countylink_store_seconds", "Time to store an object.",
                                       {"township"}, {0.5, 1, 2.5});
    auto& h = latency.with({"Dongxiang"});
    for (double v : {0.25, 0.5, 0.75, 3.0}) h.observe(v);

    const std::string text = registry.expose();
    expect_block(text, {
                           "# HELP countylink_store_seconds Time to store an object.",
                           "# TYPE countylink_store_seconds histogram",
                           R"(countylink_store_seconds_bucket{township="Dongxiang",le="0.5"} 2)",
                           R"(countylink_store_seconds_bucket{township="Dongxiang",le="1"} 3)",
                           R"(countylink_store_seconds_bucket{township="Dongxiang",le="2.5"} 3)",
                           R"(countylink_store_seconds_bucket{township="Dongxiang",le="+Inf"} 4)",
                           R"(countylink_store_seconds_sum{township="Dongxiang"} 4.5)",
                           R"(countylink_store_seconds_count{township="Dongxiang"} 4)",
                       });

    // Without labels, only le.
    auto& plain = registry.histogram("countylink_fsync_seconds", "fsync time.", {}, {0.5, 1});
    plain.with({}).observe(2);
    expect_block(registry.expose(), {
                                        R"(countylink_fsync_seconds_bucket{le="0.5"} 0)",
                                        R"(countylink_fsync_seconds_bucket{le="1"} 0)",
                                        R"(countylink_fsync_seconds_bucket{le="+Inf"} 1)",
                                        "countylink_fsync_seconds_sum 2",
                                        "countylink_fsync_seconds_count 1",
                                    });
}

// Alert rules and dashboards select buckets by their le label text (le="0.1"); Prometheus 2.x
// compares it as a string, so bounds must be written in their shortest form, as the official
// client libraries do, not as 0.10000000000000001.
TEST(MetricsExposition, BucketBoundsWrittenInShortestForm) {
    Registry registry;
    registry.histogram("countylink_stage_seconds", "Stage latency.", {}, latency_buckets())
        .with({})
        .observe(0.05);
    const std::string text = registry.expose();
    std::string missing;
    for (const char* le : {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                           "0.5", "1", "2.5", "5", "10", "30", "60", "120"}) {
        if (text.find(std::string("countylink_stage_seconds_bucket{le=\"") + le + "\"}") ==
            std::string::npos) {
            missing += std::string(missing.empty() ? "" : ", ") + le;
        }
    }
    EXPECT_TRUE(missing.empty()) << "no bucket written as le=\"X\" for X in: " << missing
                                 << "\nexposition:\n"
                                 << text;
}

// Label values: backslash, double quote and line feed are escaped as \\, \" and \n.
TEST(MetricsExposition, LabelValuesEscaped) {
    Registry registry;
    registry.counter("countylink_rejections_total", "Refused objects.", {"reason"})
        .with({"bad \"UID\" in C:\\spool\nline 2"})
        .inc();
    const std::string text = registry.expose();
    EXPECT_TRUE(contains_line(
        text, R"(countylink_rejections_total{reason="bad \"UID\" in C:\\spool\nline 2"} 1)"))
        << text;
}

// HELP text: backslash and line feed are escaped as \\ and \n (format 0.0.4).
TEST(MetricsExposition, HelpTextEscaped) {
    Registry registry;
    registry.counter("countylink_spool_files_total", "Files under C:\\spool.\nSecond line.", {})
        .with({})
        .inc();
    const std::string text = registry.expose();
    EXPECT_TRUE(contains_line(
        text, R"(# HELP countylink_spool_files_total Files under C:\\spool.\nSecond line.)"))
        << text;
}

// ---- promtool -------------------------------------------------------------------------------

std::string find_on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    if (!path) return {};
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        const fs::path candidate = fs::path(dir) / program;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
}

struct RunResult {
    int exit_code = -1;
    std::string output;
};

// Runs `promtool check metrics` on `exposition` (given on stdin from a file), capturing output.
RunResult promtool_check(const std::string& promtool, const std::string& exposition) {
    std::random_device rd;
    const fs::path file =
        fs::temp_directory_path() /
        ("countylink-metrics-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + ".txt");
    {
        std::ofstream out(file, std::ios::binary);
        out << exposition;
    }
    RunResult result;
    const std::string command = "'" + promtool + "' check metrics < '" + file.string() + "' 2>&1";
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
            result.output.append(buffer, n);
        }
        const int status = ::pclose(pipe);
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::error_code ec;
    fs::remove(file, ec);
    return result;
}

// A registry like the gateway's: every metric type, labels needing escapes, latency buckets.
Registry& populated(Registry& registry) {
    auto& received =
        registry.counter("countylink_objects_received_total",
                         "Objects received, by protocol and township.", {"protocol", "township"});
    received.with({"dimse", "Dongxiang"}).inc(12);
    received.with({"stow", "Xi\"ying\\\nnorth"}).inc();
    registry.counter("countylink_restarts_total", "Process starts.", {}).with({}).inc();
    registry.gauge("countylink_associations_active", "Open DICOM associations.", {})
        .with({})
        .set(3);
    registry.gauge("countylink_queue_depth", "Items waiting per reading queue.", {"queue"})
        .with({"ct"})
        .set(0);
    auto& latency = registry.histogram("countylink_store_duration_seconds",
                                       "Time from receipt to durable storage.", {"township"},
                                       latency_buckets());
    for (double v : {0.0004, 0.003, 0.1, 0.7, 200.0}) latency.with({"Dongxiang"}).observe(v);
    latency.with({"Xiying"}).observe(0.02);
    registry.histogram("countylink_empty_seconds", "A histogram never observed.", {"queue"},
                       {0.1, 1});
    return registry;
}

TEST(MetricsPromtool, ExpositionPassesPromtoolCheck) {
    const std::string promtool = find_on_path("promtool");
    ASSERT_FALSE(promtool.empty())
        << "promtool is not on PATH: run scripts/setup.sh (it installs the Debian package "
           "'prometheus', which provides promtool) so the exposition can be validated";

    Registry registry;
    const std::string text = populated(registry).expose();
    const RunResult result = promtool_check(promtool, text);
    EXPECT_EQ(result.exit_code, 0) << "promtool check metrics says:\n"
                                   << result.output << "\nfor the exposition:\n"
                                   << text;
}

// The gateway's own metric families, as main registers them, after some traffic.
TEST(MetricsPromtool, GatewayMetricsPassPromtoolCheck) {
    const std::string promtool = find_on_path("promtool");
    ASSERT_FALSE(promtool.empty()) << "promtool is not on PATH: run scripts/setup.sh";

    Registry registry;
    GatewayMetrics m(registry);
    m.associations_active.set(2);
    m.associations_total.with({"released"}).inc();
    m.objects_total.with({"stored", "Dongxiang", "CT"}).inc(40);
    m.findings_total.with({"odd_length"}).inc();
    m.bytes_raw_total.with({"Dongxiang"}).inc(5u << 20);
    m.bytes_stored_total.with({"Dongxiang"}).inc(3u << 20);
    m.refusals_total.with({"called_ae_not_recognized"}).inc();
    m.stage_latency.with({"store"}).observe(0.012);
    const std::string text = registry.expose();
    const RunResult result = promtool_check(promtool, text);
    EXPECT_EQ(result.exit_code, 0) << "promtool check metrics says:\n"
                                   << result.output << "\nfor the exposition:\n"
                                   << text;
}

// The check itself must be able to fail: promtool rejects a malformed exposition.
TEST(MetricsPromtool, PromtoolRejectsBrokenExposition) {
    const std::string promtool = find_on_path("promtool");
    ASSERT_FALSE(promtool.empty()) << "promtool is not on PATH: run scripts/setup.sh";
    const RunResult result = promtool_check(
        promtool, "# TYPE countylink_x_total counter\ncountylink_x_total{a=\"unterminated} 1\n");
    EXPECT_NE(result.exit_code, 0) << result.output;
}

}  // namespace
}  // namespace countylink::metrics
