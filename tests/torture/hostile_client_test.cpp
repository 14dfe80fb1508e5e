// Hostile clients: 2,000 idle connections, a slowloris A-ASSOCIATE-RQ, an association that
// never releases, a P-DATA whose announced length never arrives. Short timeouts reclaim them
// all, memory stays bounded, every refusal is counted, and a normal storescu is served
// throughout at its usual speed.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <future>
#include <memory>

#include "tests/torture/torture.hpp"

namespace countylink::testing::torture {
namespace {

// 2,000 idle connections take ~32 MiB in a Release build. AddressSanitizer adds red zones to
// every allocation and holds freed memory in quarantine (256 MiB by default), ~257 MiB here.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kPeakRssLimit = 512ull << 20;
#else
constexpr uint64_t kPeakRssLimit = 128ull << 20;
#endif

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kIdle = 2000;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// Sends `bytes` one byte a second until the server answers (its A-ABORT) and closes; returns
// how long the connection lasted.
double slowloris(uint16_t port, const std::vector<std::byte>& bytes) {
    RawClient client(port);
    const auto start = Clock::now();
    for (const std::byte b : bytes) {
        client.send(std::vector<std::byte>{b});
        if (!client.read_until_closed(1s).empty()) break;
    }
    return seconds_since(start);
}

TEST(Hostile, IdleSlowAndStuckClientsAreReclaimedWhileNormalTrafficFlows) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data", "[dicom]\nartim_timeout_s = 2\nidle_timeout_s = 3\n");
    const auto file = shared_dir() / "corpus" / "dicom" / "CT_small.dcm";
    const std::string store = "storescu -aec COUNTYLINK 127.0.0.1 " +
                              std::to_string(gw.dicom_port()) + " '" + file.string() + "'";
    auto timed_store = [&] {
        const auto start = Clock::now();
        const auto r = run(store);
        EXPECT_EQ(r.exit_code, 0) << r.output;
        return seconds_since(start);
    };
    const double usual = timed_store();

    // 2,000 connections that never say anything.
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < kIdle; ++i) idle.push_back(std::make_unique<RawClient>(gw.dicom_port()));

    // Alongside: a slowloris A-ASSOCIATE-RQ, an association that is never released, and a
    // P-DATA announcing the largest PDU we take, then stopping after 100 bytes.
    auto slow = std::async(std::launch::async, [&] {
        return slowloris(gw.dicom_port(), dicom::encode(verification_rq("SLOWLORIS")));
    });
    RawClient stuck(gw.dicom_port());
    stuck.send(dicom::encode(verification_rq("NEVERRELEASE")));
    RawClient truncated(gw.dicom_port());
    truncated.send(dicom::encode(verification_rq("TRUNCATED")));
    // Type 04, length 0x00040000 (262144, big endian), then 100 bytes. Built in place: GCC 12
    // -O3 warns (array-bounds, wrongly) about growing a vector made from a 6-byte list.
    std::vector<std::byte> pdata(106, std::byte{0});
    pdata[0] = std::byte{0x04};
    pdata[3] = std::byte{0x04};
    truncated.send(pdata);

    // A normal sender is served meanwhile, about as fast as before.
    for (int i = 0; i < 3; ++i) {
        const double took = timed_store();
        EXPECT_LT(took, usual + 1.0) << "usual " << usual << " s";
    }

    // Everything hostile is closed by the server, within its timeouts (plus slack).
    const auto start = Clock::now();
    for (auto& c : idle) c->read_until_closed(20s);
    EXPECT_LT(seconds_since(start), 10.0);
    const auto stuck_reply = stuck.read_until_closed(20s);
    ASSERT_GE(stuck_reply.size(), 10u);
    EXPECT_EQ(stuck_reply[0], std::byte{0x02}) << "A-ASSOCIATE-AC first";
    EXPECT_EQ(stuck_reply[stuck_reply.size() - 10], std::byte{0x07}) << "then an A-ABORT";
    const auto truncated_reply = truncated.read_until_closed(20s);
    ASSERT_GE(truncated_reply.size(), 10u);
    EXPECT_EQ(truncated_reply[truncated_reply.size() - 10], std::byte{0x07});
    EXPECT_LT(slow.get(), 10.0) << "slowloris kept its connection beyond the ARTIM timeout";

    // Memory stayed bounded; the refusals are counted; the server still answers.
    const uint64_t peak = gw.peak_rss_bytes();
    EXPECT_LT(peak, kPeakRssLimit) << "peak RSS " << (peak >> 20) << " MiB";
    std::cout << "hostile: " << kIdle << " idle connections, peak RSS " << (peak >> 20)
              << " MiB, storescu " << usual << " s before\n";
    EXPECT_TRUE(eventually([&] { return metric(gw, "countylink_associations_active") == 0; }, 20s));
    EXPECT_GE(metric(gw, R"(countylink_protocol_refusals_total{reason="timeout"})"), kIdle + 3.0);
    EXPECT_EQ(run("echoscu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port())).exit_code,
              0);
}

}  // namespace
}  // namespace countylink::testing::torture
