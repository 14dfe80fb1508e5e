// The embedded SQLite index and group commit: an acknowledged instance is recorded exactly once,
// re-sends are idempotent, changed re-sends become flagged new versions, everything survives a
// restart, and concurrent commits share transactions.
#include "gateway/store/sqlite/sqlite_index.hpp"
#include "tests/support/temp_dir.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/io/file.hpp"
#include "gateway/store/blob_store.hpp"
#include "gateway/store/group_commit.hpp"
#include "gateway/store/sqlite/sqlite_outbox.hpp"
#include "gateway/store/sqlite/sqlite_queues.hpp"

namespace countylink::store {
namespace {

namespace fs = std::filesystem;

using countylink::testing::TempDir;

InstanceRecord record(const std::string& uid, const std::string& sha256) {
    InstanceRecord r;
    r.sop_instance_uid = uid;
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    r.study_instance_uid = "1.2.826.0.1.3680043.2.1125.10";
    r.series_instance_uid = "1.2.826.0.1.3680043.2.1125.11";
    r.patient_id = "TS0001";
    r.patient_name = "WANG^XIAOMING";
    r.modality = "CT";
    r.study_date = "20240611";
    r.accession_number = "ACC42";
    r.transfer_syntax_uid = "1.2.840.10008.1.2.4.70";
    r.township = "Dongxiang";
    r.calling_ae = "CT_TOWN01";
    r.received_at_ms = 1718000000123;
    r.stored_at_ms = 1718000000456;
    r.raw_size = 5u << 20;
    r.stored_size = 3u << 20;
    r.sha256 = sha256;
    r.study_time = "093012.5";
    r.study_description = "CHEST PA";
    r.body_part = "CHEST";
    r.study_id = "S42";
    r.patient_birth_date = "19580302";
    r.patient_sex = "M";
    r.series_number = "3";
    r.series_description = "Lung 1.25 mm";
    r.instance_number = "117";
    return r;
}

// What ingest publishes beside a commit, for a blob already named: its directory's fsync.
std::function<void()> sync_of(const fs::path& dir) {
    return [dir] { io::sync_directory(dir); };
}

std::string sha(char c) {
    return std::string(64, c);
}

void expect_same_record(const InstanceRecord& got, const InstanceRecord& want) {
    EXPECT_EQ(got.sop_instance_uid, want.sop_instance_uid);
    EXPECT_EQ(got.sop_class_uid, want.sop_class_uid);
    EXPECT_EQ(got.study_instance_uid, want.study_instance_uid);
    EXPECT_EQ(got.series_instance_uid, want.series_instance_uid);
    EXPECT_EQ(got.patient_id, want.patient_id);
    EXPECT_EQ(got.patient_name, want.patient_name);
    EXPECT_EQ(got.modality, want.modality);
    EXPECT_EQ(got.study_date, want.study_date);
    EXPECT_EQ(got.accession_number, want.accession_number);
    EXPECT_EQ(got.transfer_syntax_uid, want.transfer_syntax_uid);
    EXPECT_EQ(got.township, want.township);
    EXPECT_EQ(got.calling_ae, want.calling_ae);
    EXPECT_EQ(got.received_at_ms, want.received_at_ms);
    EXPECT_EQ(got.stored_at_ms, want.stored_at_ms);
    EXPECT_EQ(got.raw_size, want.raw_size);
    EXPECT_EQ(got.stored_size, want.stored_size);
    EXPECT_EQ(got.sha256, want.sha256);
    EXPECT_EQ(got.flags, want.flags);
    EXPECT_EQ(got.study_time, want.study_time);
    EXPECT_EQ(got.study_description, want.study_description);
    EXPECT_EQ(got.body_part, want.body_part);
    EXPECT_EQ(got.study_id, want.study_id);
    EXPECT_EQ(got.patient_birth_date, want.patient_birth_date);
    EXPECT_EQ(got.patient_sex, want.patient_sex);
    EXPECT_EQ(got.series_number, want.series_number);
    EXPECT_EQ(got.series_description, want.series_description);
    EXPECT_EQ(got.instance_number, want.instance_number);
}

RecordOutcome record_one(Index& index, const InstanceRecord& r) {
    const auto outcomes = index.record_instances(std::span<const InstanceRecord>(&r, 1));
    EXPECT_EQ(outcomes.size(), 1u);
    return outcomes.empty() ? RecordOutcome::stored : outcomes[0];
}

bool has_flag(const std::string& flags, const std::string& flag) {
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = flags.find(',', start);
        if (flags.substr(start, comma - start) == flag) return true;
        if (comma == std::string::npos) return false;
        start = comma + 1;
    }
}

TEST(SqliteIndex, StoredDuplicateAndNewVersion) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    const std::string uid = "1.2.826.0.1.3680043.2.1125.1.1";

    EXPECT_EQ(record_one(index, record(uid, sha('a'))), RecordOutcome::stored);
    EXPECT_EQ(record_one(index, record(uid, sha('a'))), RecordOutcome::duplicate);
    EXPECT_EQ(index.instance_count(), 1u) << "a re-send of the same bytes adds nothing";

    EXPECT_EQ(record_one(index, record(uid, sha('b'))), RecordOutcome::new_version);
    EXPECT_EQ(index.instance_count(), 2u);

    const auto latest = index.latest_instance(uid);
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->version, 2);
    EXPECT_EQ(latest->record.sha256, sha('b'));
    EXPECT_TRUE(has_flag(latest->record.flags, "new_version")) << latest->record.flags;

    // Re-sending the first version's bytes makes them the latest again (a third version that
    // shares the first one's blob): retrieval returns what was sent last.
    EXPECT_EQ(record_one(index, record(uid, sha('a'))), RecordOutcome::new_version);
    EXPECT_EQ(index.latest_instance(uid)->version, 3);
    EXPECT_EQ(index.latest_instance(uid)->record.sha256, sha('a'));

    EXPECT_EQ(record_one(index, record(uid, sha('c'))), RecordOutcome::new_version);
    EXPECT_EQ(index.latest_instance(uid)->version, 4);
    EXPECT_EQ(index.latest_instance(uid)->record.sha256, sha('c'));
}

TEST(SqliteIndex, NewVersionKeepsExistingFlags) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    InstanceRecord first = record("1.2.3", sha('a'));
    first.flags = "odd_length";
    EXPECT_EQ(record_one(index, first), RecordOutcome::stored);
    EXPECT_EQ(index.latest_instance("1.2.3")->record.flags, "odd_length");

    InstanceRecord second = record("1.2.3", sha('b'));
    second.flags = "odd_length";
    EXPECT_EQ(record_one(index, second), RecordOutcome::new_version);
    const std::string flags = index.latest_instance("1.2.3")->record.flags;
    EXPECT_TRUE(has_flag(flags, "odd_length")) << flags;
    EXPECT_TRUE(has_flag(flags, "new_version")) << flags;
}

TEST(SqliteIndex, BatchOutcomesInOrder) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    const std::vector<InstanceRecord> batch{record("1.1", sha('a')), record("1.2", sha('b')),
                                            record("1.1", sha('a')), record("1.1", sha('c'))};
    EXPECT_EQ(index.record_instances(batch),
              (std::vector<RecordOutcome>{RecordOutcome::stored, RecordOutcome::stored,
                                          RecordOutcome::duplicate, RecordOutcome::new_version}));
    EXPECT_EQ(index.instance_count(), 3u);
    EXPECT_EQ(index.latest_instance("1.1")->version, 2);
    EXPECT_EQ(index.latest_instance("1.2")->version, 1);
}

TEST(SqliteIndex, LatestInstanceOfUnknownUidIsEmpty) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    EXPECT_FALSE(index.latest_instance("1.2.3.4").has_value());
    record_one(index, record("1.2.3.4", sha('a')));
    EXPECT_FALSE(index.latest_instance("1.2.3").has_value()) << "no prefix matching";
}

TEST(SqliteIndex, DataSurvivesReopening) {
    TempDir dir;
    const fs::path file = dir.path() / "index.sqlite";
    InstanceRecord v1 = record("1.2.840.99.1", sha('1'));
    InstanceRecord v2 = record("1.2.840.99.1", sha('2'));
    QuarantineRecord q;
    q.file = "quarantine/2024/06/11/x.dcm";
    q.sop_instance_uid = "1.2.840.99.2";
    q.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    q.township = "Xiying";
    q.calling_ae = "US_TOWN02";
    q.received_at_ms = 1718000000999;
    q.status = 0xA900;
    q.finding = "uid_mismatch";
    q.reason = "Affected SOP Instance UID differs from the dataset's";
    q.size = 1234;
    {
        SqliteIndex index(file);
        record_one(index, v1);
        record_one(index, v2);
        index.record_quarantine(q);
    }
    SqliteIndex reopened(file);
    EXPECT_EQ(reopened.instance_count(), 2u);
    const auto latest = reopened.latest_instance("1.2.840.99.1");
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->version, 2);
    v2.flags = "new_version";
    expect_same_record(latest->record, v2);

    const auto rows = reopened.quarantine(10);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].record.file, q.file);
    EXPECT_EQ(rows[0].record.sop_instance_uid, q.sop_instance_uid);
    EXPECT_EQ(rows[0].record.sop_class_uid, q.sop_class_uid);
    EXPECT_EQ(rows[0].record.township, q.township);
    EXPECT_EQ(rows[0].record.calling_ae, q.calling_ae);
    EXPECT_EQ(rows[0].record.received_at_ms, q.received_at_ms);
    EXPECT_EQ(rows[0].record.status, 0xA900);
    EXPECT_EQ(rows[0].record.finding, q.finding);
    EXPECT_EQ(rows[0].record.reason, q.reason);
    EXPECT_EQ(rows[0].record.size, 1234u);

    // Re-sends after a restart are still recognised.
    EXPECT_EQ(record_one(reopened, record("1.2.840.99.1", sha('2'))), RecordOutcome::duplicate);
}

TEST(SqliteIndex, QuarantineNewestFirst) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    for (int i = 0; i < 5; ++i) {
        QuarantineRecord q;
        q.file = "quarantine/" + std::to_string(i) + ".dcm";
        q.sop_instance_uid = "1.2.3." + std::to_string(i);
        q.finding = "missing_uid";
        q.reason = "no SOP Instance UID";
        q.status = 0xC000;
        index.record_quarantine(q);
    }
    const auto all = index.quarantine(100);
    ASSERT_EQ(all.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(all[std::size_t(i)].record.sop_instance_uid, "1.2.3." + std::to_string(4 - i));
    }
    const auto two = index.quarantine(2);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0].record.file, "quarantine/4.dcm");
    EXPECT_EQ(two[1].record.file, "quarantine/3.dcm");
    EXPECT_GT(two[0].id, two[1].id);
}

TEST(SqliteIndex, ReferencedBlobsAreEveryStoredSha) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    record_one(index, record("1.1", sha('a')));
    record_one(index, record("1.1", sha('b')));
    record_one(index, record("1.2", sha('a')));  // same bytes under another UID
    const auto blobs = index.referenced_blobs();
    EXPECT_EQ(std::multiset<std::string>(blobs.begin(), blobs.end()),
              (std::multiset<std::string>{sha('a'), sha('b')}));
}

TEST(GroupCommit, ConcurrentCommitsRecordedOnceAndBatched) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    const fs::path blob_dir = dir.path() / "blobs" / "ab";
    fs::create_directories(blob_dir);

    constexpr int kThreads = 8;
    constexpr int kPerThread = 50;
    std::vector<std::vector<RecordOutcome>> outcomes(kThreads);
    {
        GroupCommit group(index);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    const std::string uid = "2.25." + std::to_string(t) + "." + std::to_string(i);
                    outcomes[std::size_t(t)].push_back(
                        group.commit(record(uid, sha(char('a' + t))), sync_of(blob_dir)));
                }
            });
        }
        for (auto& thread : threads) thread.join();

        // Why batching must have happened: commit() blocks its caller until the transaction
        // holding its record has committed, and each transaction costs a directory fsync plus
        // a WAL fsync (synchronous=FULL) and an SQLite write transaction, while enqueueing is a
        // mutex push of microseconds. With 8 threads blocked in commit(), the records of the
        // other 7 queue up while one transaction runs, so the committer's next swap of the queue
        // takes several at once. 400 transactions would need every one of 400 swaps to find
        // exactly one record, i.e. 7 threads failing to enqueue during every single commit.
        ::testing::Test::RecordProperty("transactions", std::to_string(group.transactions()));
        EXPECT_LT(group.transactions(), uint64_t(kThreads * kPerThread));
        EXPECT_GE(group.transactions(), 1u);
    }

    for (const auto& per_thread : outcomes) {
        ASSERT_EQ(per_thread.size(), std::size_t(kPerThread));
        for (RecordOutcome o : per_thread) EXPECT_EQ(o, RecordOutcome::stored);
    }
    EXPECT_EQ(index.instance_count(), uint64_t(kThreads * kPerThread));
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kPerThread; ++i) {
            const std::string uid = "2.25." + std::to_string(t) + "." + std::to_string(i);
            const auto row = index.latest_instance(uid);
            ASSERT_TRUE(row.has_value()) << uid;
            EXPECT_EQ(row->version, 1) << uid;
            EXPECT_EQ(row->record.sha256, sha(char('a' + t))) << uid;
        }
    }
}

TEST(GroupCommit, CommitThrowsWhenBlobDirectoryMissing) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    GroupCommit group(index);
    EXPECT_THROW(group.commit(record("1.2.3", sha('a')), sync_of(dir.path() / "no-such-dir")),
                 std::system_error);
    EXPECT_FALSE(index.latest_instance("1.2.3").has_value())
        << "a record whose blob is not durable must not be indexed";
    EXPECT_EQ(index.instance_count(), 0u);

    // The committer survives the failure.
    EXPECT_EQ(group.commit(record("1.2.3", sha('a')), sync_of(dir.path())), RecordOutcome::stored);
    EXPECT_EQ(index.instance_count(), 1u);
    EXPECT_EQ(group.transactions(), 2u);  // the failed one was recorded, then taken back
}

// The blob is published while its row commits; when publishing fails the row comes out again
// with everything it brought (forward copy, worklist item), and an older version stays latest.
TEST(GroupCommit, FailedPublishTakesTheRecordBack) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    SqliteOutbox outbox(dir.path() / "index.sqlite");
    SqliteReadingQueues queues(dir.path() / "index.sqlite");
    GroupCommit group(index);
    const auto fail = [] { throw std::system_error(EIO, std::generic_category(), "fsync"); };
    InstanceRecord r = record("1.2.3", sha('a'));
    r.forward = {"pacs"};
    r.queues = {"ct"};
    r.immediate = true;
    EXPECT_THROW(group.commit(r, fail), std::system_error);
    EXPECT_FALSE(index.latest_instance("1.2.3"));
    EXPECT_TRUE(outbox.due("pacs", r.stored_at_ms + 1, 10).empty());
    queue::ItemFilter ct;
    ct.queue = "ct";
    EXPECT_TRUE(queues.items(ct).items.empty()) << "no worklist item for an instance not kept";

    EXPECT_EQ(group.commit(r, [] {}), RecordOutcome::stored);
    ASSERT_EQ(queues.items(ct).items.size(), 1u);
    EXPECT_EQ(outbox.due("pacs", r.stored_at_ms + 1, 10).size(), 1u);
    InstanceRecord newer = r;
    newer.sha256 = sha('b');
    EXPECT_THROW(group.commit(newer, fail), std::system_error);
    ASSERT_TRUE(index.latest_instance("1.2.3"));
    EXPECT_EQ(index.latest_instance("1.2.3")->record.sha256, sha('a'));
    EXPECT_EQ(outbox.due("pacs", r.stored_at_ms + 1, 10).size(), 1u);
    const auto items = queues.items(ct).items;
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(queues.instances(items[0].id).size(), 1u);
    // A duplicate whose publish fails takes nothing back: the row was already there.
    EXPECT_THROW(group.commit(r, fail), std::system_error);
    EXPECT_EQ(index.instance_count(), 1u);
}

// Recovery: rows naming a blob that never became durable go, with what named only them; a
// reader's claimed item, other instances and other versions stay.
TEST(SqliteIndex, ForgetBlobsTakesOutRowsAndWhatOnlyTheyBrought) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    SqliteOutbox outbox(dir.path() / "index.sqlite");
    SqliteReadingQueues queues(dir.path() / "index.sqlite");
    constexpr int64_t t0 = 1718000000000;
    auto in_study = [&](const std::string& uid, const std::string& study, char blob) {
        InstanceRecord r = record(uid, sha(blob));
        r.study_instance_uid = study;
        r.stored_at_ms = t0;
        r.forward = {"pacs"};
        r.queues = {"ct"};
        r.immediate = true;
        return r;
    };
    index.record_instances(std::vector{in_study("1.1", "9.1", 'a'), in_study("1.2", "9.2", 'b'),
                                       in_study("1.3", "9.2", 'c')});
    index.record_instances(std::vector{in_study("1.1", "9.1", 'd')});  // a second version
    EXPECT_EQ(index.forget_blobs({sha('d'), sha('b'), sha('f')}), 2u);
    ASSERT_TRUE(index.latest_instance("1.1"));
    EXPECT_EQ(index.latest_instance("1.1")->record.sha256, sha('a'));
    EXPECT_FALSE(index.latest_instance("1.2"));
    EXPECT_TRUE(index.latest_instance("1.3"));
    std::set<std::string> forwarded;
    for (const auto& item : outbox.due("pacs", t0 + 1, 10)) forwarded.insert(item.sha256);
    EXPECT_EQ(forwarded, (std::set<std::string>{sha('a'), sha('c')}));
    queue::ItemFilter ct;
    ct.queue = "ct";
    for (const auto& item : queues.items(ct).items) {
        EXPECT_EQ(queues.instances(item.id).size(), 1u) << item.study_instance_uid;
    }
    // An item left empty goes unless a reader has it.
    ASSERT_EQ(queues.items(ct).items.size(), 2u);
    for (const auto& item : queues.items(ct).items) {
        if (item.study_instance_uid == "9.1") {
            ASSERT_EQ(queues.claim(item.id, "reader1", t0 + 1, 60'000).change, queue::Change::done);
        }
    }
    EXPECT_EQ(index.forget_blobs({sha('a'), sha('c')}), 2u);
    const auto left = queues.items(ct).items;
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].study_instance_uid, "9.1");
    EXPECT_TRUE(queues.instances(left[0].id).empty());
    EXPECT_EQ(index.instance_count(), 0u);
}

// The race an online purge opens: a put finds its bytes already stored, a purge (between two
// batches) removes that blob, then the put commits. The commit must fail (the sender resends,
// and the put writes the blob again), not index a missing blob.
TEST(GroupCommit, CommitFailsWhenAPurgeRemovedItsBlob) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    BlobStore blobs(dir.path() / "blobs", 1);
    GroupCommit group(index,
                      [&blobs](const InstanceRecord& r) { return blobs.contains(r.sha256); });
    const fs::path object = dir.path() / "object.dcm";
    {
        std::ofstream out(object, std::ios::binary);
        out << std::string(4096, 'x');
    }
    const BlobRef first = blobs.put(object);
    const BlobRef again = blobs.put(object);  // "same bytes already stored"
    ASSERT_EQ(again.sha256, first.sha256);
    bool purged = false;
    group.exclusive([&] { purged = blobs.remove(first.sha256) > 0; });
    ASSERT_TRUE(purged);
    EXPECT_THROW(group.commit(record("1.2.3", again.sha256), sync_of(again.directory)),
                 std::runtime_error);
    EXPECT_FALSE(index.latest_instance("1.2.3").has_value());

    // Sent again: the put stores the bytes afresh and the commit goes through.
    const BlobRef fresh = blobs.put(object);
    EXPECT_EQ(group.commit(record("1.2.3", fresh.sha256), sync_of(fresh.directory)),
              RecordOutcome::stored);
    EXPECT_TRUE(blobs.contains(fresh.sha256));
}

TEST(GroupCommit, DuplicateThroughGroupCommit) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    GroupCommit group(index);
    EXPECT_EQ(group.commit(record("1.2.3", sha('a')), sync_of(dir.path())), RecordOutcome::stored);
    EXPECT_EQ(group.commit(record("1.2.3", sha('a')), sync_of(dir.path())),
              RecordOutcome::duplicate);
    EXPECT_EQ(group.commit(record("1.2.3", sha('b')), sync_of(dir.path())),
              RecordOutcome::new_version);
}

// Purge takes a study only when the county is done with all of it: every version stored
// before the cutoff, every forward copy delivered (a dead letter is not), and it deletes the
// blobs only no other row still names.
TEST(SqliteIndex, PurgeTakesOnlyStudiesDoneWithAndKeepsSharedBlobs) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    SqliteOutbox outbox(dir.path() / "index.sqlite");
    constexpr int64_t day = 86'400'000, t0 = 1718000000000;
    auto in_study = [&](const std::string& uid, const std::string& study, char blob,
                        int64_t stored_at, std::vector<std::string> forward = {}) {
        InstanceRecord r = record(uid, sha(blob));
        r.study_instance_uid = study;
        r.stored_at_ms = stored_at;
        r.forward = std::move(forward);
        return r;
    };
    const std::vector<InstanceRecord> batch = {
        in_study("1.1", "9.1", 'a', t0, {"pacs"}),  // forwarded: delivered below
        in_study("1.2", "9.2", 'b', t0, {"pacs"}),  // forwarded: dead-lettered below
        in_study("1.3", "9.3", 'c', t0),            // a new version arrives later
        in_study("1.4", "9.4", 'd', t0),            // its bytes also stored under 9.5
        in_study("1.5", "9.5", 'd', t0 + 20 * day),
    };
    index.record_instances(batch);
    index.record_instances(std::vector{in_study("1.3", "9.3", 'e', t0 + 10 * day)});
    for (const auto& item : outbox.due("pacs", t0 + day, 10)) {
        if (item.sop_instance_uid == "1.1") outbox.delivered(item.id, t0 + day);
        if (item.sop_instance_uid == "1.2") outbox.dead(item.id, "association rejected");
    }

    const int64_t cutoff = t0 + 5 * day;
    std::set<std::string> listed;
    for (const auto& c : index.purgeable_studies(cutoff)) listed.insert(c.study_instance_uid);
    EXPECT_EQ(listed, (std::set<std::string>{"9.1", "9.4"}));
    const PurgeHolds holds = index.purge_holds(cutoff);
    EXPECT_EQ(holds.undelivered, 1u);  // 9.2; 9.3 and 9.5 are not old enough to be counted
    EXPECT_EQ(holds.unread, 0u);

    EXPECT_EQ(index.purge_study("9.2", cutoff), std::nullopt);  // the dead letter keeps it
    EXPECT_EQ(index.purge_study("9.3", cutoff), std::nullopt);  // its newer version keeps it
    EXPECT_TRUE(index.latest_instance("1.2"));
    EXPECT_EQ(index.purge_study("9.1", cutoff), std::vector<std::string>{sha('a')});
    EXPECT_EQ(index.purge_study("9.4", cutoff), std::vector<std::string>{});  // 9.5 names 'd'
    EXPECT_FALSE(index.latest_instance("1.1"));
    EXPECT_FALSE(index.latest_instance("1.4"));
    EXPECT_TRUE(index.latest_instance("1.5"));
    EXPECT_TRUE(outbox.list("pacs", "delivered", 10).empty());  // its history went with it
    EXPECT_EQ(outbox.list("pacs", "dead", 10).size(), 1u);
    EXPECT_EQ(index.purge_study("9.1", cutoff), std::nullopt);  // gone: nothing to purge twice
    EXPECT_EQ(index.instance_count(), 4u);                      // 1.2, 1.3 (two), 1.5
}

// A reader's report stays when its study goes; instances that arrived after the report keep
// the study (nobody has read them), and so does an object stored under two studies.
TEST(SqliteIndex, PurgeKeepsReportsAndHoldsLateInstancesAndSharedObjects) {
    TempDir dir;
    SqliteIndex index(dir.path() / "index.sqlite");
    SqliteReadingQueues queues(dir.path() / "index.sqlite");
    constexpr int64_t day = 86'400'000, t0 = 1718000000000;
    auto ecg = [&](const std::string& uid, const std::string& study, char blob, int64_t at) {
        InstanceRecord r = record(uid, sha(blob));
        r.study_instance_uid = study;
        r.stored_at_ms = at;
        r.queues = {"ecg"};
        r.immediate = true;  // a worklist item at once
        return r;
    };
    index.record_instances(std::vector{ecg("2.1", "8.1", 'a', t0), ecg("2.2", "8.2", 'b', t0),
                                       ecg("2.3", "8.3", 'c', t0)});
    // The same object (UID) stored again under another study: a second version elsewhere.
    InstanceRecord moved = record("2.3", sha('d'));
    moved.study_instance_uid = "8.4";
    moved.stored_at_ms = t0;
    index.record_instances(std::vector{moved});
    queue::ItemFilter pending;
    pending.queue = "ecg";
    for (const auto& item : queues.items(pending).items) {
        ASSERT_EQ(queues.claim(item.id, "reader1", t0 + 1, 60'000).change, queue::Change::done);
        ASSERT_EQ(queues.complete(item.id, "reader1", t0 + 2, "Sinus rhythm.", "NORMAL").change,
                  queue::Change::done);
    }
    // An instance for 8.2 after its report.
    index.record_instances(std::vector{ecg("2.5", "8.2", 'e', t0 + 3)});

    const int64_t cutoff = t0 + 5 * day;
    std::set<std::string> listed;
    for (const auto& c : index.purgeable_studies(cutoff)) listed.insert(c.study_instance_uid);
    EXPECT_EQ(listed, (std::set<std::string>{"8.1"}));
    const PurgeHolds holds = index.purge_holds(cutoff);
    EXPECT_EQ(holds.unread, 1u);  // 8.2
    EXPECT_EQ(holds.shared, 2u);  // 8.3 and 8.4
    EXPECT_EQ(index.purge_study("8.2", cutoff), std::nullopt);
    EXPECT_EQ(index.purge_study("8.4", cutoff), std::nullopt);

    queue::ItemFilter reported;
    reported.queue = "ecg";
    reported.state = "reported";
    const auto before = queues.items(reported).items;
    ASSERT_EQ(index.purge_study("8.1", cutoff), std::vector<std::string>{sha('a')});
    const auto after = queues.items(reported).items;
    EXPECT_EQ(after.size(), before.size());  // the report is still there
    for (const auto& item : after) {
        EXPECT_EQ(item.result_text, "Sinus rhythm.");
        if (item.study_instance_uid == "8.1") {
            EXPECT_TRUE(queues.instances(item.id).empty());
        }
    }
}

// An index written before the viewers' columns (schema 0: what sessions 1-8 wrote).
void write_schema_0_index(const fs::path& file) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    const char* sql = R"sql(
CREATE TABLE instances (
    id INTEGER PRIMARY KEY, sop_instance_uid TEXT NOT NULL, version INTEGER NOT NULL,
    sop_class_uid TEXT NOT NULL, study_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL, patient_id TEXT NOT NULL, patient_name TEXT NOT NULL,
    modality TEXT NOT NULL, study_date TEXT NOT NULL, accession_number TEXT NOT NULL,
    transfer_syntax_uid TEXT NOT NULL, township TEXT NOT NULL, calling_ae TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL, stored_at_ms INTEGER NOT NULL, raw_size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL, sha256 TEXT NOT NULL, flags TEXT NOT NULL,
    UNIQUE (sop_instance_uid, version));
INSERT INTO instances VALUES (1, '1.2.3.4', 1, '1.2.840.10008.5.1.4.1.1.2', '1.2.3', '1.2.3.1',
    'P1', 'OLD^ROW', 'CT', '20250101', 'A1', '1.2.840.10008.1.2.1', 'Dongxiang', 'CT1',
    1, 2, 3, 4, 'aaaa', '');
)sql";
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
}

int64_t user_version(const fs::path& file) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
    const int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

TEST(SqliteIndexSchema, AnOlderIndexIsUpgradedInPlaceAndKeepsItsRows) {
    TempDir dir;
    const fs::path file = dir.path() / "index.sqlite";
    write_schema_0_index(file);
    {
        SqliteIndex index(file);
        const auto old = index.latest_instance("1.2.3.4");
        ASSERT_TRUE(old.has_value());
        EXPECT_EQ(old->record.patient_name, "OLD^ROW");
        EXPECT_EQ(old->record.study_description, "") << "unknown before the upgrade";
        const InstanceRecord r = record("1.2.3.5", sha('b'));
        EXPECT_EQ(record_one(index, r), RecordOutcome::stored);
        expect_same_record(index.latest_instance("1.2.3.5")->record, r);

        // The older row is the one a backfill reads again; filled, it answers like a new one.
        auto missing = index.rows_without_viewer_attributes();
        ASSERT_EQ(missing.size(), 1u);
        EXPECT_EQ(missing[0].record.sop_instance_uid, "1.2.3.4");
        missing[0].record.study_description = "HEAD";
        missing[0].record.instance_number = "7";
        index.set_viewer_attributes(missing);
        EXPECT_EQ(index.latest_instance("1.2.3.4")->record.study_description, "HEAD");
        EXPECT_EQ(index.latest_instance("1.2.3.4")->record.instance_number, "7");
        EXPECT_EQ(index.latest_instance("1.2.3.4")->record.patient_name, "OLD^ROW");
        EXPECT_TRUE(index.rows_without_viewer_attributes().empty());
    }
    const int64_t upgraded = user_version(file);
    EXPECT_GE(upgraded, 1);
    SqliteIndex again(file);  // opening an upgraded index changes nothing
    EXPECT_EQ(user_version(file), upgraded);
    EXPECT_EQ(again.latest_instance("1.2.3.5")->record.series_description, "Lung 1.25 mm");
}

TEST(SqliteIndexSchema, AnIndexFromANewerVersionIsRefusedUntouched) {
    TempDir dir;
    const fs::path file = dir.path() / "index.sqlite";
    { SqliteIndex index(file); }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    try {
        SqliteIndex index(file);
        ADD_FAILURE() << "opened an index from a newer version";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer CountyLink (schema 99"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(user_version(file), 99);
}

}  // namespace
}  // namespace countylink::store
