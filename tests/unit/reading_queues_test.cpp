// Reading queues over SQLite: items appear with their instances, become pending when stable,
// and the claim cycle holds under contention. Time is passed in, so no test waits for it.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gateway/store/sqlite/sqlite_index.hpp"
#include "gateway/store/sqlite/sqlite_queues.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink::store {
namespace {

using countylink::testing::TempDir;
using queue::Change;

constexpr int64_t kT0 = 1'800'000'000'000;  // some Unix time in ms
constexpr int64_t kStable = 60'000;
constexpr int64_t kLease = 900'000;

InstanceRecord instance(const std::string& study, const std::string& sop, int64_t at,
                        std::vector<std::string> queues = {"imaging"}, int priority = 2,
                        bool immediate = false) {
    InstanceRecord r;
    r.sop_instance_uid = sop;
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    r.study_instance_uid = study;
    r.series_instance_uid = study + ".1";
    r.patient_id = "P1";
    r.modality = "CT";
    r.township = "Dongshan";
    r.received_at_ms = at;
    r.stored_at_ms = at;
    r.sha256 = "sha-" + sop;
    r.queues = std::move(queues);
    r.priority = priority;
    r.immediate = immediate;
    return r;
}

class ReadingQueuesTest : public ::testing::Test {
  protected:
    void store(const InstanceRecord& r) { index_.record_instances(std::span(&r, 1)); }
    int64_t only_item_id(const std::string& queue, const std::string& state) {
        queue::ItemFilter f;
        f.queue = queue;
        f.state = state;
        const auto page = queues_.items(f);
        EXPECT_EQ(page.items.size(), 1u);
        return page.items.empty() ? 0 : page.items[0].id;
    }

    TempDir dir_;
    SqliteIndex index_{dir_.path() / "index.sqlite"};
    SqliteReadingQueues queues_{dir_.path() / "index.sqlite"};
};

TEST_F(ReadingQueuesTest, StudyBecomesOneItemOnceStable) {
    store(instance("1.9.1", "1.9.1.1", kT0));
    store(instance("1.9.1", "1.9.1.2", kT0 + 1000));
    store(instance("1.9.1", "1.9.1.3", kT0 + 2000));
    // Not yet stable: nothing pending.
    EXPECT_TRUE(queues_.tick(kT0 + 2000 + kStable - 1, kStable).queued.empty());
    queue::ItemFilter pending;
    pending.queue = "imaging";
    EXPECT_TRUE(queues_.items(pending).items.empty());
    // Stable: one item with three instances.
    const auto tick = queues_.tick(kT0 + 2000 + kStable, kStable);
    ASSERT_EQ(tick.queued.size(), 1u);
    EXPECT_EQ(tick.queued[0].instance_count, 3);
    EXPECT_EQ(tick.queued[0].state, "pending");
    EXPECT_EQ(queues_.instances(tick.queued[0].id).size(), 3u);
}

TEST_F(ReadingQueuesTest, EcgIsPendingAtOnceAndLateInstanceMarksUpdated) {
    store(instance("1.9.2", "1.9.2.1", kT0, {"ecg"}, 0, true));
    const int64_t id = only_item_id("ecg", "pending");
    EXPECT_FALSE(queues_.item(id)->updated);
    store(instance("1.9.2", "1.9.2.2", kT0 + 5000, {"ecg"}, 2, true));
    const auto item = queues_.item(id);
    EXPECT_TRUE(item->updated);
    EXPECT_EQ(item->instance_count, 2);
    EXPECT_EQ(item->priority, 0) << "the most urgent priority of its instances stays";
}

TEST_F(ReadingQueuesTest, ResentInstanceIsNotCountedTwice) {
    auto r = instance("1.9.3", "1.9.3.1", kT0, {"ecg"}, 2, true);
    store(r);
    r.sha256 = "other-bytes";  // a new version of the same instance
    store(r);
    EXPECT_EQ(queues_.item(only_item_id("ecg", "pending"))->instance_count, 1);
}

TEST_F(ReadingQueuesTest, StatFirstThenOldestWithPaging) {
    store(instance("1.9.10", "1.9.10.1", kT0, {"q"}, 2, true));
    store(instance("1.9.11", "1.9.11.1", kT0 + 1, {"q"}, 0, true));
    store(instance("1.9.12", "1.9.12.1", kT0 + 2, {"q"}, 1, true));
    store(instance("1.9.13", "1.9.13.1", kT0 + 3, {"q"}, 0, true));
    queue::ItemFilter f;
    f.queue = "q";
    f.limit = 3;
    const auto first = queues_.items(f);
    ASSERT_EQ(first.items.size(), 3u);
    EXPECT_EQ(first.items[0].study_instance_uid, "1.9.11");
    EXPECT_EQ(first.items[1].study_instance_uid, "1.9.13");
    EXPECT_EQ(first.items[2].study_instance_uid, "1.9.12");
    ASSERT_FALSE(first.next_cursor.empty());
    f.cursor = first.next_cursor;
    const auto second = queues_.items(f);
    ASSERT_EQ(second.items.size(), 1u);
    EXPECT_EQ(second.items[0].study_instance_uid, "1.9.10");
    EXPECT_TRUE(second.next_cursor.empty());
}

TEST_F(ReadingQueuesTest, ClaimCycleAndOwnership) {
    store(instance("1.9.4", "1.9.4.1", kT0, {"ecg"}, 2, true));
    const int64_t id = only_item_id("ecg", "pending");
    EXPECT_EQ(queues_.claim(id, "dr_li", kT0, kLease).change, Change::done);
    const auto taken = queues_.claim(id, "dr_wang", kT0 + 1, kLease);
    EXPECT_EQ(taken.change, Change::taken);
    EXPECT_EQ(taken.item->claimed_by, "dr_li");
    EXPECT_EQ(queues_.renew(id, "dr_wang", kT0 + 2, kLease).change, Change::taken);
    EXPECT_EQ(queues_.complete(id, "dr_wang", kT0 + 2, "x", "y").change, Change::taken);
    EXPECT_EQ(queues_.renew(id, "dr_li", kT0 + 3, kLease).change, Change::done);
    EXPECT_EQ(queues_.release(id, "dr_li").change, Change::done);
    EXPECT_EQ(queues_.claim(id, "dr_wang", kT0 + 4, kLease).change, Change::done);
    const auto done = queues_.complete(id, "dr_wang", kT0 + 5, "sinus rhythm", "NORMAL");
    ASSERT_EQ(done.change, Change::done);
    EXPECT_EQ(done.item->state, "reported");
    EXPECT_EQ(done.item->result_text, "sinus rhythm");
    EXPECT_EQ(queues_.claim(id, "dr_li", kT0 + 6, kLease).change, Change::not_claimable);
    EXPECT_EQ(queues_.claim(999999, "dr_li", kT0, kLease).change, Change::not_found);
}

TEST_F(ReadingQueuesTest, ExpiredLeaseReturnsTheItem) {
    store(instance("1.9.5", "1.9.5.1", kT0, {"ecg"}, 2, true));
    const int64_t id = only_item_id("ecg", "pending");
    ASSERT_EQ(queues_.claim(id, "dr_li", kT0, kLease).change, Change::done);
    EXPECT_EQ(queues_.tick(kT0 + kLease - 1, kStable).leases_expired, 0u);
    EXPECT_EQ(queues_.tick(kT0 + kLease + 1, kStable).leases_expired, 1u);
    EXPECT_EQ(queues_.item(id)->state, "pending");
    EXPECT_EQ(queues_.claim(id, "dr_wang", kT0 + kLease + 2, kLease).change, Change::done);
    // The first reader's lease is gone: it cannot complete any more.
    EXPECT_EQ(queues_.complete(id, "dr_li", kT0 + kLease + 3, "", "").change, Change::taken);
}

// 50 readers race for one item, each through its own connection: exactly one wins.
TEST_F(ReadingQueuesTest, FiftyConcurrentClaimersOneWinner) {
    store(instance("1.9.6", "1.9.6.1", kT0, {"ecg"}, 2, true));
    const int64_t id = only_item_id("ecg", "pending");
    std::atomic<int> won{0}, lost{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 50; ++i) {
        readers.emplace_back([&, i] {
            SqliteReadingQueues own(dir_.path() / "index.sqlite");
            const auto r = own.claim(id, "reader" + std::to_string(i), kT0, kLease);
            (r.change == Change::done ? won : lost)++;
        });
    }
    for (auto& t : readers) t.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(lost.load(), 49);
}

TEST_F(ReadingQueuesTest, SummariesCountDepthPerPriority) {
    store(instance("1.9.7", "1.9.7.1", kT0, {"ecg"}, 0, true));
    store(instance("1.9.8", "1.9.8.1", kT0 + 10, {"ecg"}, 2, true));
    store(instance("1.9.9", "1.9.9.1", kT0 + 20, {"ecg"}, 2, true));
    const auto s = queues_.summaries();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].name, "ecg");
    ASSERT_EQ(s[0].priorities.size(), 2u);
    EXPECT_EQ(s[0].priorities[0].priority, 0);
    EXPECT_EQ(s[0].priorities[0].depth, 1u);
    EXPECT_EQ(s[0].priorities[1].depth, 2u);
    EXPECT_EQ(s[0].priorities[1].oldest_queued_ms, kT0 + 10);
}

}  // namespace
}  // namespace countylink::store
