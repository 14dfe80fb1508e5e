// Faulty peers: the forward destination (a real storescp) behind a fault-injecting proxy that
// refuses, resets mid-transfer, stalls and trickles. Once it heals, every object has arrived,
// and none twice: the outbox records each confirmed object at once, so a reset resends only
// what the destination had not confirmed.
#include <gtest/gtest.h>

#include "codecs/dicom/part10.hpp"
#include "tests/torture/fault_proxy.hpp"
#include "tests/torture/torture.hpp"

namespace countylink::testing::torture {
namespace {

using namespace std::chrono_literals;
using Mode = FaultProxy::Mode;

TEST(FaultyPeer, EveryObjectArrivesOnceAfterRefusalsResetsStallsAndSlowness) {
    TempDir tmp;
    const Pacs pacs(tmp.path() / "pacs");
    FaultProxy proxy(pacs.port);
    Gateway gw(tmp.path() / "data", forward_config(proxy.port()));
    const auto files = synth_ct(tmp.path() / "objects", 40, 4, 77);
    std::map<std::string, fs::path> sent;
    auto send = [&](std::size_t from, std::size_t to) {
        const std::vector<fs::path> part(files.begin() + static_cast<std::ptrdiff_t>(from),
                                         files.begin() + static_cast<std::ptrdiff_t>(to));
        for (const auto& f : storescu_acknowledged(gw.dicom_port(), part)) sent[sop_uid(f)] = f;
    };
    const std::string failed =
        R"(countylink_forward_attempts_total{destination="pacs",outcome="failed"})";

    // Down: every attempt is refused, nothing arrives, the failures are counted.
    proxy.set(Mode::refuse);
    send(0, 10);
    ASSERT_TRUE(eventually([&] { return metric(gw, failed) >= 10 && proxy.faulted() >= 2; }));
    EXPECT_TRUE(fs::is_empty(pacs.dir));

    // Reset 45 kB into each association: a few objects get through each time.
    const int before_reset = proxy.faulted();
    proxy.set(Mode::reset_after, 45000);
    ASSERT_TRUE(eventually([&] {
        return !received_by_uid(pacs.dir).empty() && proxy.faulted() > before_reset;
    })) << proxy.faulted()
        << " faults\n"
        << gw.log();

    // Hung: the connection is accepted and then silent until the SCU's timeout.
    proxy.set(Mode::stall);
    send(10, 20);
    const int before_stall = proxy.faulted();
    ASSERT_TRUE(eventually([&] { return proxy.faulted() > before_stall; }));

    // Slow, then healthy: everything arrives.
    proxy.set(Mode::slow);
    send(20, 30);
    ASSERT_TRUE(eventually([&] { return received_by_uid(pacs.dir).size() >= 20; }, 90s));
    proxy.set(Mode::pass);
    send(30, 40);
    ASSERT_EQ(sent.size(), files.size());
    ASSERT_TRUE(eventually(
        [&] {
            const auto got = received_by_uid(pacs.dir);
            return !got.contains("") && got.size() == files.size();
        },
        120s))
        << gw.log();
    for (const auto& [uid, n] : received_by_uid(pacs.dir)) {
        EXPECT_TRUE(sent.contains(uid)) << uid;
        EXPECT_EQ(n, 1) << uid << " arrived " << n << " times";
    }
    // The metrics are counted when the batch's association ends, just after the PACS has it all.
    const std::string delivered =
        R"(countylink_forward_attempts_total{destination="pacs",outcome="delivered"})";
    EXPECT_TRUE(eventually([&] {
        return metric(gw, delivered) == static_cast<double>(files.size());
    })) << metric(gw, delivered);
    EXPECT_EQ(run("echoscu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port())).exit_code,
              0);
}

}  // namespace
}  // namespace countylink::testing::torture
