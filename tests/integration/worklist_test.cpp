// The worklist as county readers use it: studies from two townships land in the right queues
// with the right priorities, readers claim and report them over the JSON API.
#include <gtest/gtest.h>

#include <poll.h>
#include <boost/json.hpp>
#include <chrono>
#include <future>

#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Two townships, stable after 1 s, ECGs of Xiping STAT, and 50 reader tokens.
std::string worklist_config() {
    std::string toml =
        "[dicom]\naccept_unregistered = false\n"
        "[routing]\nstable_after_s = 1\n"
        "[[routing.rules]]\nsop_classes = [\"1.2.840.10008.5.1.4.1.1.9.1.1\"]\n"
        "townships = [\"Xiping\"]\npriority = \"stat\"\nqueues = [\"ecg\"]\n"
        "[[routing.rules]]\nmodalities = [\"CT\", \"DX\"]\nqueues = [\"imaging\"]\n"
        "[[townships]]\nname = \"Dongshan\"\nae_titles = [\"DONGSHAN_CT\"]\n"
        "[[townships]]\nname = \"Xiping\"\nae_titles = [\"XIPING_ECG\"]\n";
    for (int i = 0; i < 50; ++i) {
        toml += "[[api.tokens]]\nname = \"reader" + std::to_string(i) +
                "\"\ntoken = \"reader-token-0000-" + std::to_string(1000 + i) + "\"\n";
    }
    return toml;
}

std::string token(int reader) {
    return "reader-token-0000-" + std::to_string(1000 + reader);
}

json::value get_json(const Gateway& gw, const std::string& target, int reader = 0) {
    const auto res = http_get(gw.http_port(), target, token(reader));
    EXPECT_EQ(res.status, 200) << target << ": " << res.body;
    return json::parse(res.body);
}

// Waits (bounded) until the queue lists `count` items: studies become items after the
// stable time, on the server's once-a-second tick.
json::array wait_for_items(const Gateway& gw, const std::string& queue, std::size_t count) {
    json::array items;
    eventually(
        [&] {
            items = get_json(gw, "/api/v1/queues/" + queue + "/items").at("items").as_array();
            return items.size() >= count;
        },
        20s);
    return items;
}

std::string send(const Gateway& gw, const std::string& ae, const fs::path& dir) {
    const auto r = run("storescu -aet " + ae + " -aec COUNTYLINK 127.0.0.1 " +
                       std::to_string(gw.dicom_port()) + " +sd '" + dir.string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output;
}

TEST(Worklist, StudiesLandInTheRightQueuesAndReadersReportThem) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data", worklist_config());
    send(gw, "DONGSHAN_CT", synth(tmp.path() / "ct", "ct", 5, 1));
    send(gw, "DONGSHAN_CT", synth(tmp.path() / "dx", "dx", 1, 2));
    send(gw, "XIPING_ECG", synth(tmp.path() / "ecg", "ecg", 1, 3));

    // The ECG is an item at once, STAT by Xiping's rule.
    auto ecg = get_json(gw, "/api/v1/queues/ecg/items").at("items").as_array();
    ASSERT_EQ(ecg.size(), 1u);
    EXPECT_EQ(ecg[0].at("priority"), "stat");
    EXPECT_EQ(ecg[0].at("township"), "Xiping");
    EXPECT_EQ(ecg[0].at("state"), "pending");

    // The CT series (one study of 5 instances) and the DX become two items once stable.
    auto imaging = wait_for_items(gw, "imaging", 2);
    ASSERT_EQ(imaging.size(), 2u);
    std::set<int64_t> counts;
    for (const auto& i : imaging) {
        EXPECT_EQ(i.at("township"), "Dongshan");
        EXPECT_EQ(i.at("priority"), "routine");
        counts.insert(i.at("instance_count").as_int64());
    }
    EXPECT_EQ(counts, (std::set<int64_t>{1, 5}));

    // Queue summary.
    const auto queues = get_json(gw, "/api/v1/queues").at("queues").as_array();
    ASSERT_EQ(queues.size(), 2u);

    // Item details carry series, instances and retrieve links that work.
    const int64_t ct_id = imaging[0].at("instance_count").as_int64() == 5
                              ? imaging[0].at("id").as_int64()
                              : imaging[1].at("id").as_int64();
    const auto details = get_json(gw, "/api/v1/items/" + std::to_string(ct_id));
    const auto& series = details.at("series").as_array();
    ASSERT_EQ(series.size(), 1u);
    const auto& instances = series[0].at("instances").as_array();
    ASSERT_EQ(instances.size(), 5u);
    const auto link = std::string(instances[0].at("retrieve").as_string());
    EXPECT_EQ(http_get(gw.http_port(), link, token(3)).status, 200);

    // Claim, renew, release, claim by another, complete.
    const std::string item = "/api/v1/items/" + std::to_string(ct_id);
    EXPECT_EQ(gw.post(item + "/claim", token(1)).status, 200);
    const auto conflict = gw.post(item + "/claim", token(2));
    EXPECT_EQ(conflict.status, 409);
    EXPECT_EQ(json::parse(conflict.body).at("claimed_by"), "reader1");
    EXPECT_EQ(gw.post(item + "/renew", token(1)).status, 200);
    EXPECT_EQ(gw.post(item + "/complete", token(2), R"({"text":"x"})").status, 409);
    EXPECT_EQ(gw.post(item + "/release", token(1)).status, 200);
    EXPECT_EQ(gw.post(item + "/claim", token(2)).status, 200);
    const auto done =
        gw.post(item + "/complete", token(2), R"({"text":"No acute findings.","code":"NORMAL"})");
    ASSERT_EQ(done.status, 200) << done.body;
    const auto reported = json::parse(done.body);
    EXPECT_EQ(reported.at("state"), "reported");
    EXPECT_EQ(reported.at("result").at("code"), "NORMAL");

    // Reported items leave the default listing; ?state=reported shows them.
    EXPECT_EQ(get_json(gw, "/api/v1/queues/imaging/items").at("items").as_array().size(), 1u);
    EXPECT_EQ(
        get_json(gw, "/api/v1/queues/imaging/items?state=reported").at("items").as_array().size(),
        1u);

    // Turnaround is measured.
    const auto metrics = http_get(gw.http_port(), "/metrics").body;
    EXPECT_NE(
        metrics.find(
            R"(countylink_turnaround_seconds_count{queue="imaging",priority="routine",span="received_to_reported"} 1)"),
        std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find(R"(countylink_queue_depth{queue="ecg",priority="stat"} 1)"),
              std::string::npos)
        << metrics;
}

TEST(Worklist, FiftyConcurrentClaimersOneWins) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data", worklist_config());
    send(gw, "XIPING_ECG", synth(tmp.path() / "ecg", "ecg", 1, 4));
    const auto items = get_json(gw, "/api/v1/queues/ecg/items").at("items").as_array();
    ASSERT_EQ(items.size(), 1u);
    const std::string claim =
        "/api/v1/items/" + std::to_string(items[0].at("id").as_int64()) + "/claim";
    std::vector<std::future<int>> claimers;
    for (int i = 0; i < 50; ++i) {
        claimers.push_back(
            std::async(std::launch::async, [&, i] { return gw.post(claim, token(i)).status; }));
    }
    int ok = 0, conflict = 0;
    for (auto& c : claimers) {
        const int status = c.get();
        ok += status == 200;
        conflict += status == 409;
    }
    EXPECT_EQ(ok, 1);
    EXPECT_EQ(conflict, 49);
}

TEST(Worklist, ApiNeedsATokenButHealthAndMetricsDoNot) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");  // embedded default: a generated admin token
    EXPECT_FALSE(gw.token().empty());
    EXPECT_EQ(fs::status(tmp.path() / "data" / "admin.token").permissions() &
                  (fs::perms::group_all | fs::perms::others_all),
              fs::perms::none);
    EXPECT_NE(gw.log().find("admin token written"), std::string::npos) << gw.log();
    EXPECT_EQ(http_get(gw.http_port(), "/api/v1/queues").status, 401);
    EXPECT_EQ(http_get(gw.http_port(), "/api/v1/queues", "wrong-token-123456").status, 401);
    EXPECT_EQ(gw.get("/api/v1/queues").status, 200);
    EXPECT_EQ(http_get(gw.http_port(), "/healthz").status, 200);
    EXPECT_EQ(http_get(gw.http_port(), "/metrics").status, 200);
}

}  // namespace
}  // namespace countylink::testing
