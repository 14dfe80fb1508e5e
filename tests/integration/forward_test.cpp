// The forward outbox against real PACS software: DCMTK storescp and Orthanc. Every stored
// object arrives with identical dataset bytes, also across a dead link and a kill -9.
#include <gtest/gtest.h>

#include <poll.h>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <regex>

#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string forward_config(uint16_t port, const std::string& ae) {
    return "[forward]\nbackoff_initial_s = 1\nbackoff_max_s = 2\n"
           "[[forward.destinations]]\nname = \"pacs\"\nae_title = \"" +
           ae + "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
           "\n[[routing.rules]]\nmodalities = [\"CT\", \"DX\"]\nqueues = [\"imaging\"]\n"
           "forward = [\"pacs\"]\n";
}

void send(const Gateway& gw, const fs::path& dir) {
    const auto r = run("storescu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) +
                       " +sd '" + dir.string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
}

std::string sop_uid(const fs::path& file) {
    return dicom_value(file, "0008,0018");
}

std::vector<std::byte> bytes_of(const std::string& s) {
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

std::size_t file_count(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
    return n;
}

TEST(Forward, EveryObjectReachesStorescpIdentical) {
    TempDir tmp;
    const uint16_t port = free_port();
    const fs::path received = tmp.path() / "pacs";
    fs::create_directories(received);
    Process storescp({"storescp", "+xa", "+B", "-od", received.string(), std::to_string(port)},
                     tmp.path() / "storescp.log");
    wait_for_port(port);
    Gateway gw(tmp.path() / "data", forward_config(port, "PACS"));
    const fs::path dir = synth(tmp.path() / "ct21", "ct", 10, 21);
    send(gw, dir);
    // Delivered means storescp answered each C-STORE, after writing its file (+B writes while
    // receiving, so counting files alone could catch the last one half written); the counter is
    // updated when the batch's association ends, just after that.
    const std::string delivered_10 =
        R"(countylink_forward_attempts_total{destination="pacs",outcome="delivered"} 10)";
    ASSERT_TRUE(eventually([&] {
        return gw.get("/metrics").body.find(delivered_10) != std::string::npos;
    })) << gw.log();
    EXPECT_EQ(file_count(received), 10u);
    for (const auto& e : fs::directory_iterator(received)) {
        const auto uid = sop_uid(e.path());
        const auto stored = gw.get("/api/v1/instances/" + uid);
        ASSERT_EQ(stored.status, 200) << uid;
        EXPECT_TRUE(dataset_bytes(read_file(e.path())) == dataset_bytes(bytes_of(stored.body)))
            << uid;
    }
    // Each delivery is in the audit trail (written by its own thread: waited for, bounded).
    const std::string audit = (bin_dir() / "countylinkctl").string() + " audit --data-dir '" +
                              (tmp.path() / "data").string() + "' --event forward 2>/dev/null";
    std::string delivered;
    EXPECT_TRUE(eventually([&] {
        delivered = run(audit).output;
        return std::count(delivered.begin(), delivered.end(), '\n') == 10;
    })) << delivered;
    EXPECT_EQ(delivered.find("dead-lettered"), std::string::npos) << delivered;
    EXPECT_NE(delivered.find(R"({"UserID":"pacs","UserIsRequestor":false})"), std::string::npos)
        << delivered;
}

TEST(Forward, OrthancGetsEverythingAcrossADeadLinkAndAKillNine) {
    TempDir tmp;
    Orthanc pacs(tmp.path() / "orthanc");
    const fs::path data = tmp.path() / "data";
    const std::string config = forward_config(pacs.dicom_port(), "ORTHANC");
    std::vector<fs::path> sent;
    auto remember = [&](const fs::path& dir) {
        for (const auto& e : fs::directory_iterator(dir)) sent.push_back(e.path());
    };
    {
        // The PACS is down while the first studies arrive: they wait in the outbox.
        Gateway gw(data, config);
        const fs::path first = synth(tmp.path() / "ct31", "ct", 8, 31);
        send(gw, first);
        remember(first);
        ASSERT_TRUE(eventually([&] {
            return gw.get("/metrics")
                       .body.find(
                           R"(countylink_forward_attempts_total{destination="pacs",outcome="failed"})") !=
                   std::string::npos;
        })) << gw.log();
        pacs.start();
        ASSERT_TRUE(eventually([&] { return pacs.instance_count() == 8; })) << gw.log();
        // The PACS goes down mid-run and comes back: what arrived meanwhile follows.
        pacs.stop();
        const fs::path during = synth(tmp.path() / "ct33", "ct", 6, 33);
        send(gw, during);
        remember(during);
        pacs.start();
        ASSERT_TRUE(eventually([&] { return pacs.instance_count() == 14; })) << gw.log();
        // More studies, then the gateway dies at once: whatever was not delivered yet is
        // delivered after the restart.
        const fs::path second = synth(tmp.path() / "dx32", "dx", 12, 32);
        send(gw, second);
        remember(second);
        gw.kill_hard();
    }
    Gateway again(data, config);
    ASSERT_TRUE(eventually([&] { return pacs.instance_count() == 26; })) << again.log();
    for (const auto& file : sent) {
        const auto in_pacs = pacs.file_of(sop_uid(file));
        ASSERT_FALSE(in_pacs.empty()) << file;
        const auto stored = again.get("/api/v1/instances/" + sop_uid(file));
        ASSERT_EQ(stored.status, 200);
        EXPECT_TRUE(dataset_bytes(bytes_of(in_pacs)) == dataset_bytes(bytes_of(stored.body)))
            << file;
    }
    // Each instance is one delivered outbox item; nothing is left pending or dead.
    const std::string ctl = (bin_dir() / "countylinkctl").string() + " --data-dir '" +
                            data.string() + "' forward list pacs";
    // Orthanc has stored the last instance a moment before the gateway reads its answer.
    CommandResult listing;
    EXPECT_TRUE(eventually([&] {
        listing = run(ctl);
        return listing.output.find("pacs: 0 pending, 0 dead") != std::string::npos;
    })) << listing.output;
    std::size_t delivered = 0;
    for (std::size_t at = 0; (at = listing.output.find("\tdelivered\t", at)) != std::string::npos;
         ++at) {
        ++delivered;
    }
    EXPECT_EQ(delivered, sent.size());
}

// STOW-RS to an upstream CountyLink (a prefecture hub): everything arrives, byte for byte.
TEST(Forward, StowRsToASecondCountylink) {
    TempDir tmp;
    const std::string token = "upstream-token-0123456789abcdef";
    Gateway upstream(tmp.path() / "upstream",
                     "[[api.tokens]]\nname = \"county-a\"\ntoken = \"" + token + "\"\n");
    Gateway gw(tmp.path() / "data",
               "[forward]\nbackoff_initial_s = 1\nbackoff_max_s = 2\n"
               "[[forward.destinations]]\nname = \"hub\"\ntype = \"stowrs\"\nurl = "
               "\"http://127.0.0.1:" +
                   std::to_string(upstream.http_port()) + "/dicomweb\"\ntoken = \"" + token +
                   "\"\n[[routing.rules]]\nforward = [\"hub\"]\n");
    const fs::path dir = synth(tmp.path() / "ecg41", "ecg", 5, 41);
    send(gw, dir);
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string uid = sop_uid(e.path());
        HttpResponse there;
        ASSERT_TRUE(eventually([&] {
            there = http_get(upstream.http_port(), "/api/v1/instances/" + uid, token);
            return there.status == 200;
        })) << gw.log();
        const auto here = gw.get("/api/v1/instances/" + uid);
        EXPECT_TRUE(dataset_bytes(bytes_of(there.body)) == dataset_bytes(bytes_of(here.body)));
    }
}

// A destination that refuses an object for good (storescp without +xa takes no JPEG-LS):
// dead-lettered at once, visible in countylinkctl and metrics, and retried on request.
TEST(Forward, PermanentRefusalIsDeadLetteredAndCanBeRetried) {
    TempDir tmp;
    const uint16_t port = free_port();
    const fs::path received = tmp.path() / "pacs";
    fs::create_directories(received);
    Process storescp({"storescp", "-od", received.string(), std::to_string(port)},
                     tmp.path() / "storescp.log");
    wait_for_port(port);
    const fs::path data = tmp.path() / "data";
    Gateway gw(data,
               "[[forward.destinations]]\nname = \"pacs\"\nae_title = \"PACS\"\n"
               "host = \"127.0.0.1\"\nport = " +
                   std::to_string(port) + "\n[[routing.rules]]\nforward = [\"pacs\"]\n");
    const auto file = shared_dir() / "corpus" / "dicom" / "MR_small_jpeg_ls_lossless.dcm";
    ASSERT_EQ(run("dcmsend -dn -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) +
                  " '" + file.string() + "'")
                  .exit_code,
              0);
    const std::string ctl =
        (bin_dir() / "countylinkctl").string() + " --data-dir '" + data.string() + "' forward ";
    ASSERT_TRUE(eventually([&] {
        return run(ctl + "list pacs --state dead").output.find("does not accept") !=
               std::string::npos;
    })) << gw.log();
    EXPECT_EQ(file_count(received), 0u);
    EXPECT_TRUE(eventually([&] {  // counted as the association ends, after the outbox row
        return gw.get("/metrics")
                   .body.find(
                       R"(countylink_forward_attempts_total{destination="pacs",outcome="dead"} 1)") !=
               std::string::npos;
    }));
    const auto retry = run(ctl + "retry pacs");
    EXPECT_NE(retry.output.find("1 dead-lettered objects put back"), std::string::npos)
        << retry.output;
    // Refused again, for the same reason: dead once more, and counted.
    ASSERT_TRUE(eventually([&] {
        return gw.get("/metrics")
                   .body.find(
                       R"(countylink_forward_attempts_total{destination="pacs",outcome="dead"} 2)") !=
               std::string::npos;
    })) << gw.log();
}

}  // namespace
}  // namespace countylink::testing
