// The service as ops meet it: configuration checks, metrics a real promtool accepts, health,
// timeouts that reclaim idle associations.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <fstream>

#include "gateway/dicom/pdu.hpp"
#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

using namespace std::chrono_literals;

std::string countylinkd() {
    return (bin_dir() / "countylinkd").string();
}

TEST(Service, ExampleConfigsPassCheckConfig) {
    for (const char* name : {"default.toml", "production.toml"}) {
        const auto file = source_dir() / "config" / "examples" / name;
        const auto r = run(countylinkd() + " --check-config '" + file.string() + "'");
        EXPECT_EQ(r.exit_code, 0) << name << ": " << r.output;
        EXPECT_NE(r.output.find("OK"), std::string::npos) << r.output;
    }
}

TEST(Service, WrongKeyIsNamedAndRefused) {
    TempDir tmp;
    const fs::path file = tmp.path() / "bad.toml";
    std::ofstream(file) << "[dicom]\nprot = 104\n";
    const auto r = run(countylinkd() + " --check-config '" + file.string() + "'");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("dicom.prot"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("port"), std::string::npos) << "allowed keys listed: " << r.output;
    // The same file given to a starting server stops it before it listens.
    const auto start = run(countylinkd() + " --config '" + file.string() + "'");
    EXPECT_EQ(start.exit_code, 2) << start.output;
}

TEST(Service, MetricsAfterTrafficPassPromtoolAndCountWhatHappened) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const std::string args = " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " ";
    ASSERT_EQ(run("storescu" + args + "'" +
                  (shared_dir() / "corpus" / "dicom" / "MR_small.dcm").string() + "'")
                  .exit_code,
              0);
    run("dcmsend" + args + "'" + (shared_dir() / "corpus" / "dicom-bad" / "GH1146.dcm").string() +
        "'");
    const auto metrics = gw.get("/metrics");
    ASSERT_EQ(metrics.status, 200);
    const fs::path file = tmp.path() / "metrics.txt";
    std::ofstream(file) << metrics.body;
    const auto check = run("promtool check metrics < '" + file.string() + "'");
    EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << metrics.body;
    for (const char* expected :
         {R"(countylink_objects_total{outcome="stored",township="unregistered",modality="MR"} 1)",
          R"(countylink_objects_total{outcome="refused",township="unregistered")",
          R"(countylink_associations_total{outcome="released"} 2)",
          R"(countylink_stage_latency_seconds_count{stage="store"} 1)",
          R"(countylink_stage_latency_seconds_count{stage="validate"} 2)",
          R"(countylink_stage_latency_seconds_count{stage="receive"} 2)",
          "countylink_bytes_stored_total{township=\"unregistered\"}"}) {
        EXPECT_NE(metrics.body.find(expected), std::string::npos) << expected << "\n"
                                                                  << metrics.body;
    }
}

// A second countylinkd on a data directory in use (systemd's and a hand-started one) must not
// start: its recovery would delete the first one's objects in flight as leftovers.
TEST(Service, SecondGatewayOnTheSameDataDirectoryRefusesToStart) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const std::string args = " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " ";
    const fs::path mr = shared_dir() / "corpus" / "dicom" / "MR_small.dcm";
    ASSERT_EQ(run("storescu" + args + "'" + mr.string() + "'").exit_code, 0);

    // `timeout`: were the lock missing, the second one would run, and this must fail, not hang.
    const auto second = run("timeout 20 " + countylinkd() + " --data-dir '" +
                            (tmp.path() / "data").string() + "' --dicom-port 0 --http-port 0");
    EXPECT_EQ(second.exit_code, 1) << second.output;
    EXPECT_NE(second.output.find("is in use by countylinkd (pid " + std::to_string(gw.pid()) + ")"),
              std::string::npos)
        << second.output;
    EXPECT_NE(second.output.find("stop it first"), std::string::npos) << second.output;

    // The first one never noticed: it still answers, and what it stored is still there.
    EXPECT_EQ(run("echoscu" + args).exit_code, 0);
    const std::string uid = dicom_value(mr, "0008,0018");
    EXPECT_EQ(gw.get("/api/v1/instances/" + uid).status, 200);
    ASSERT_EQ(run("storescu" + args + "'" + mr.string() + "'").exit_code, 0);
}

TEST(Service, HealthAndReadiness) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    EXPECT_EQ(gw.get("/healthz").status, 200);
    EXPECT_EQ(gw.get("/readyz").status, 200);
    EXPECT_EQ(gw.get("/no/such/thing").status, 404);
    EXPECT_EQ(gw.get("/api/v1/instances/1.2.3.4").status, 404);
}

TEST(Service, IdleAssociationIsAbortedAfterIdleTimeout) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data", "[dicom]\nidle_timeout_s = 1\n");
    RawClient client(gw.dicom_port());
    client.send(dicom::encode(verification_rq("IDLER")));
    const auto start = std::chrono::steady_clock::now();
    const auto reply = client.read_until_closed(20s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    ASSERT_GE(reply.size(), 10u);
    EXPECT_EQ(reply[0], std::byte{0x02}) << "A-ASSOCIATE-AC first";
    const std::vector<std::byte> tail(reply.end() - 10, reply.end());
    EXPECT_EQ(tail, dicom::encode(dicom::Abort{2, 0})) << "then A-ABORT when idle";
    EXPECT_EQ(run("echoscu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port())).exit_code,
              0);
}

TEST(Service, AssociationLimitRejectsTransiently) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data", "[dicom]\nmax_associations = 1\n");
    RawClient holder(gw.dicom_port());
    holder.send(dicom::encode(verification_rq("HOLDER")));  // holds the only slot
    const auto r = run("echoscu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("Local Limit Exceeded"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace countylink::testing

namespace countylink::testing {
namespace {

// dciodvfy (dicom3tools) is the oracle for our synthetic data: every kind must be a valid IOD,
// and what the gateway stores must still be one when it comes back.
TEST(Service, SyntheticObjectsAreValidIodsAndStayValidThroughTheGateway) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    for (const std::string kind : {"ct", "dx", "us", "ecg"}) {
        const fs::path dir = tmp.path() / kind;
        const auto synth = run((bin_dir() / "countylink-synth").string() + " --out '" +
                               dir.string() + "' --kind " + kind + " --count 1 --seed 5");
        ASSERT_EQ(synth.exit_code, 0) << synth.output;
        fs::path file;
        for (const auto& e : fs::directory_iterator(dir)) file = e.path();
        const auto verdict = run("dciodvfy -new '" + file.string() + "'");
        EXPECT_EQ(verdict.output.find("Error"), std::string::npos) << kind << "\n"
                                                                   << verdict.output;
        ASSERT_EQ(run("storescu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) +
                      " '" + file.string() + "'")
                      .exit_code,
                  0);
        const auto uid_line = run("dcmdump -q -Un +P 0008,0018 '" + file.string() + "'").output;
        const auto uid =
            uid_line.substr(uid_line.find('[') + 1, uid_line.find(']') - uid_line.find('[') - 1);
        const auto back = gw.get("/api/v1/instances/" + uid);
        ASSERT_EQ(back.status, 200) << kind;
        const fs::path stored = tmp.path() / (kind + "-back.dcm");
        std::ofstream(stored, std::ios::binary) << back.body;
        const auto again = run("dciodvfy -new '" + stored.string() + "'");
        EXPECT_EQ(again.output.find("Error"), std::string::npos) << kind << "\n" << again.output;
    }
}

}  // namespace
}  // namespace countylink::testing

namespace countylink::testing {
namespace {

// The load generator in smoke mode: a few objects over several associations, all stored.
TEST(Service, LoadGeneratorSmoke) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const fs::path dir = tmp.path() / "dx";
    ASSERT_EQ(run((bin_dir() / "countylink-synth").string() + " --out '" + dir.string() +
                  "' --kind dx --count 12 --seed 9")
                  .exit_code,
              0);
    const auto r =
        run((bin_dir() / "countylink-load").string() + " --dir '" + dir.string() + "' --port " +
            std::to_string(gw.dicom_port()) + " -n 4 --per-association 2 --json");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto summary = boost::json::parse(r.output.substr(r.output.rfind("{\"objects\"")));
    EXPECT_EQ(summary.at("objects").as_int64(), 12);
    EXPECT_GT(summary.at("latency_ms").at("p50").as_double(), 0.0);
    const auto metrics = gw.get("/metrics").body;
    EXPECT_NE(metrics.find(R"(countylink_associations_total{outcome="released"} 6)"),
              std::string::npos)
        << metrics;
}

// Open loop on a generated mix: exactly rate x duration objects, never sent ahead of their
// time, and every kind of the mix arrives.
TEST(Service, LoadGeneratorOpenLoopOnASynthesizedMix) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto r = run((bin_dir() / "countylink-load").string() +
                       " --synth dx:4,ct:3,ecg:3 --rate 40 --duration 0.5 -n 3 --per-association 4"
                       " --port " +
                       std::to_string(gw.dicom_port()) + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto summary = boost::json::parse(r.output.substr(r.output.rfind("{\"objects\"")));
    EXPECT_EQ(summary.at("objects").as_int64(), 20);
    // The last object is due at 19/40 s: an open loop cannot finish before it.
    EXPECT_GE(summary.at("seconds").as_double(), 19.0 / 40);
    const auto metrics = gw.get("/metrics").body;
    for (const char* modality : {"CT", "DX", "ECG"}) {
        EXPECT_NE(metrics.find(std::string("modality=\"") + modality + "\""), std::string::npos)
            << modality << " missing from the mix:\n"
            << metrics;
    }
    const auto bad = run((bin_dir() / "countylink-load").string() + " --synth nope:3 --port " +
                         std::to_string(gw.dicom_port()));
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.output.find("is not KIND:COUNT"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace countylink::testing
