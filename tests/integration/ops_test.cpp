// Ops against the real tools: a real Prometheus scrapes a running countylinkd while studies
// arrive and answers rate and quantile queries; every metric the rules use exists live.
#include <gtest/gtest.h>

#include <poll.h>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The countylink_* metric names an ops file refers to (recording rule names excluded).
std::set<std::string> metric_names_in(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    static const std::regex name(R"(countylink_[a-z_]+)");
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), name); it != std::sregex_iterator();
         ++it) {
        std::string n = it->str();
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string sfx = suffix;
            if (n.size() > sfx.size() && n.ends_with(sfx)) n.resize(n.size() - sfx.size());
        }
        out.insert(n);
    }
    return out;
}

TEST(Ops, EveryMetricTheRulesAndDashboardUseExistsLive) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto metrics = gw.get("/metrics").body;
    for (const char* file : {"prometheus/rules.yml", "grafana/countylink.json"}) {
        const auto used = metric_names_in(source_dir() / "ops" / file);
        ASSERT_GT(used.size(), 8u) << file;
        for (const auto& name : used) {
            EXPECT_NE(metrics.find("# TYPE " + name + " "), std::string::npos)
                << name << " is used by ops/" << file << " but not exposed";
        }
    }
}

double query(uint16_t port, const std::string& promql) {
    const auto r = run("curl -s -G --data-urlencode 'query=" + promql +
                       "' http://127.0.0.1:" + std::to_string(port) + "/api/v1/query");
    boost::system::error_code ec;
    const auto v = json::parse(r.output, ec);
    if (ec) return -1;
    const auto& result = v.at("data").at("result").as_array();
    if (result.empty()) return -1;
    return std::stod(std::string(result[0].at("value").as_array()[1].as_string()));
}

TEST(Ops, RealPrometheusScrapesRatesAndQuantiles) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const uint16_t port = free_port();
    const fs::path config = tmp.path() / "prometheus.yml";
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          << "rule_files:\n  - " << (source_dir() / "ops/prometheus/rules.yml")
                          << "\nscrape_configs:\n  - job_name: countylink\n    static_configs:\n"
                          << "      - targets: ['127.0.0.1:" << gw.http_port() << "']\n";
    Process prometheus({"prometheus", "--config.file=" + config.string(),
                        "--storage.tsdb.path=" + (tmp.path() / "tsdb").string(),
                        "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                       tmp.path() / "prometheus.log");
    wait_for_port(port, 60s);

    const fs::path dir = tmp.path() / "dx";
    ASSERT_EQ(run((bin_dir() / "countylink-synth").string() + " --out '" + dir.string() +
                  "' --kind dx --count 30 --seed 12")
                  .exit_code,
              0);
    double rate = -1, p95 = -1;
    const auto deadline = std::chrono::steady_clock::now() + 90s;
    // Keep studies arriving (one small batch per round) until Prometheus has seen them move.
    while (std::chrono::steady_clock::now() < deadline && (rate <= 0 || p95 <= 0)) {
        run("storescu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " +sd '" +
            dir.string() + "'");
        rate =
            query(port, "sum(rate(countylink_objects_total{outcome=~\"stored|duplicate\"}[10s]))");
        p95 = query(port,
                    "histogram_quantile(0.95, sum by (le) "
                    "(rate(countylink_stage_latency_seconds_bucket{stage=\"store\"}[10s])))");
        ::poll(nullptr, 0, 500);
    }
    EXPECT_GT(rate, 0) << "ingest rate from Prometheus";
    EXPECT_GT(p95, 0) << "store latency p95 from Prometheus";
    EXPECT_LT(p95, 30) << "a store of a few hundred KB takes well under 30 s";
    EXPECT_EQ(query(port, "up{job=\"countylink\"}"), 1.0);
    // Every dashboard query is valid PromQL for this Prometheus.
    std::ifstream dashboard_file(source_dir() / "ops" / "grafana" / "countylink.json");
    std::stringstream dashboard_text;
    dashboard_text << dashboard_file.rdbuf();
    const auto dashboard = json::parse(dashboard_text.str());
    for (const auto& panel : dashboard.at("panels").as_array()) {
        for (const auto& target : panel.at("targets").as_array()) {
            const std::string expr(target.at("expr").as_string());
            const auto r = run("curl -s -G --data-urlencode 'query=" + expr +
                               "' http://127.0.0.1:" + std::to_string(port) + "/api/v1/query");
            EXPECT_NE(r.output.find("\"status\":\"success\""), std::string::npos)
                << panel.at("title") << ": " << expr << "\n"
                << r.output;
        }
    }
}

}  // namespace
}  // namespace countylink::testing

namespace countylink::testing {
namespace {

// An online backup taken while the gateway runs is a data directory a new gateway serves.
TEST(Ops, OnlineBackupRestoresAndStatusSummarises) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const auto file = shared_dir() / "corpus" / "dicom" / "CT_small.dcm";
    const std::string ctl = (bin_dir() / "countylinkctl").string();
    {
        Gateway gw(data);
        ASSERT_EQ(run("storescu -aet DONGSHAN_CT -aec COUNTYLINK 127.0.0.1 " +
                      std::to_string(gw.dicom_port()) + " '" + file.string() + "'")
                      .exit_code,
                  0);
        const auto status = run(ctl + " status --data-dir '" + data.string() + "'");
        ASSERT_EQ(status.exit_code, 0) << status.output;
        EXPECT_NE(status.output.find("1 instances"), std::string::npos) << status.output;
        EXPECT_NE(status.output.find("unregistered: 1,"), std::string::npos) << status.output;
        EXPECT_NE(status.output.find("imaging:"), std::string::npos) << status.output;
        const auto backup = run(ctl + " backup '" + (tmp.path() / "copy").string() +
                                "' --data-dir '" + data.string() + "'");
        ASSERT_EQ(backup.exit_code, 0) << backup.output;
        // A second backup into the same place is refused rather than mixed.
        EXPECT_EQ(run(ctl + " backup '" + (tmp.path() / "copy").string() + "' --data-dir '" +
                      data.string() + "'")
                      .exit_code,
                  2);
    }
    Gateway restored(tmp.path() / "copy");
    const auto res = restored.get("/api/v1/instances/" + dicom_value(file, "0008,0018"));
    ASSERT_EQ(res.status, 200);
    std::vector<std::byte> back(res.body.size());
    std::memcpy(back.data(), res.body.data(), res.body.size());
    EXPECT_TRUE(dataset_bytes(back) == storescp_received("storescu", file));
}

}  // namespace
}  // namespace countylink::testing

namespace countylink::testing {
namespace {

// The committed Conformance Statement is what the code generates: it cannot drift.
TEST(Ops, ConformanceStatementMatchesTheCode) {
    const auto generated = run((bin_dir() / "countylinkctl").string() + " conformance");
    ASSERT_EQ(generated.exit_code, 0);
    std::ifstream in(source_dir() / "docs" / "conformance-statement.md");
    std::stringstream committed;
    committed << in.rdbuf();
    EXPECT_EQ(generated.output, committed.str())
        << "regenerate with: build/bin/countylinkctl conformance > docs/conformance-statement.md";
    EXPECT_NE(committed.str().find("1.2.840.10008.5.1.4.1.1.9.1.1"), std::string::npos)
        << "12-lead ECG storage must be listed";
}

}  // namespace
}  // namespace countylink::testing
