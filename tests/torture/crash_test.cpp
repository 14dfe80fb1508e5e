// Crash consistency: rounds of concurrent C-STORE and STOW-RS senders, a kill -9 at a random
// moment, a restart. Every object any sender saw acknowledged must come back byte for byte,
// the index must stay consistent, and the forward outbox must deliver each object exactly once.
#include <gtest/gtest.h>

#include <future>
#include <iostream>
#include <random>

#include "codecs/dicom/part10.hpp"
#include "tests/torture/torture.hpp"

namespace countylink::testing::torture {
namespace {

using namespace std::chrono_literals;

constexpr int kSenders = 3;          // C-STORE associations at once
constexpr int kPerSender = 12;       // objects each, in one association
constexpr int kStowPerRound = 8;     // STOW-RS requests, one object each
constexpr int kStudiesPerRound = 4;  // objects spread over these studies

// Short stability so studies reach the reading queue while rounds run.
std::string config(uint16_t pacs_port) {
    return forward_config(pacs_port) + "[routing]\nstable_after_s = 1\n";
}

TEST(Torture, KillNineNeverLosesAnAcknowledgedObject) {
    const int n_rounds = rounds(20);
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const Pacs pacs(tmp.path() / "pacs");
    const uint16_t pacs_port = pacs.port;

    // storescu -R sends these files' datasets unchanged: the files are the reference bytes.
    const auto probe = synth_ct(tmp.path() / "probe", 1, 1, 999);
    ASSERT_TRUE(storescp_received("storescu -R", probe[0]) == dataset_bytes(read_file(probe[0])));

    std::mt19937 random(20261123);
    std::map<std::string, fs::path> acknowledged;  // every round's, by SOP Instance UID
    std::size_t sent_stow = 0;
    int rounds_with_rows_taken_out = 0;  // the kill fell between a commit and its rename
    for (int round = 0; round < n_rounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const auto files =
            synth_ct(tmp.path() / ("round" + std::to_string(round)),
                     kSenders * kPerSender + kStowPerRound, kStudiesPerRound, 1000 + round);
        std::map<std::string, fs::path> this_round;
        {
            Gateway gw(data, config(pacs_port));
            std::vector<std::future<std::vector<fs::path>>> senders;
            for (int s = 0; s < kSenders; ++s) {
                const std::vector<fs::path> mine(files.begin() + s * kPerSender,
                                                 files.begin() + (s + 1) * kPerSender);
                senders.push_back(std::async(std::launch::async, [&gw, mine] {
                    return storescu_acknowledged(gw.dicom_port(), mine);
                }));
            }
            const std::vector<fs::path> stow_files(files.end() - kStowPerRound, files.end());
            auto stow = std::async(std::launch::async, [&gw, stow_files] {
                return stow_acknowledged(gw.http_port(), gw.token(), stow_files);
            });
            // The moment of the crash is the test's variable, not a synchronisation.
            std::uniform_int_distribution<int> ms(50, 1500);
            ::poll(nullptr, 0, ms(random));
            gw.kill_hard();
            for (auto& s : senders) {
                for (const auto& f : s.get()) this_round[sop_uid(f)] = f;
            }
            const auto stowed = stow.get();
            for (const auto& f : stowed) this_round[sop_uid(f)] = f;
            sent_stow += stowed.size();
        }
        acknowledged.insert(this_round.begin(), this_round.end());
        // After the restart: this round's acknowledgements are all there (the last round's check
        // below covers every round), and start-up recovery has left the index consistent. (Right
        // after the kill a row may name a blob not yet renamed: the store publishes the blob
        // while the row commits, and recovery takes such never-acknowledged rows out.)
        Gateway again(data, config(pacs_port));
        const auto problems = index_problems(data);
        EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << again.log();
        if (again.log().find("index rows named a blob not on disk") != std::string::npos) {
            ++rounds_with_rows_taken_out;
        }
        const auto bad = missing_or_changed(again, this_round);
        ASSERT_TRUE(bad.empty()) << ::testing::PrintToString(bad) << again.log();
        EXPECT_TRUE(fs::is_empty(data / "spool")) << "spool not emptied at start-up";
    }

    // A last, uninterrupted run: every acknowledged object is retrievable and reaches the PACS.
    // The outbox records each delivery as its C-STORE-RSP arrives, so the end of a process (kill
    // -9, or the SIGTERM after each check) can make the PACS see at most the one object then in
    // flight twice: duplicates <= process ends (C-STORE is idempotent at the PACS).
    Gateway gw(data, config(pacs_port));
    const auto bad = missing_or_changed(gw, acknowledged);
    EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
    // The backlog of the short-lived rounds drains now (~20 objects/s into storescp). The outbox
    // also holds objects stored but killed before their acknowledgement went out: they are
    // forwarded too, so the drain ends when the outbox is empty, not when the acknowledged
    // objects are all at the PACS (the PACS writes its file before the gateway reads its RSP).
    const auto drain_limit = 120s + std::chrono::seconds(3 * n_rounds);
    ASSERT_TRUE(eventually(
        [&] {
            std::size_t files = 0;
            for (const auto& e : fs::directory_iterator(pacs.dir)) files += e.is_regular_file();
            if (files < acknowledged.size()) return false;  // cheap before reading them all
            if (undelivered_forward_items(data) != 0) return false;
            const auto d = received_by_uid(pacs.dir);
            return !d.contains("") &&
                   std::all_of(acknowledged.begin(), acknowledged.end(),
                               [&](const auto& a) { return d.contains(a.first); });
        },
        drain_limit))
        << "not every acknowledged object reached the PACS (outbox left: "
        << undelivered_forward_items(data) << ")\n"
        << gw.log();
    std::size_t duplicates = 0;
    for (const auto& [uid, n] : received_by_uid(pacs.dir))
        duplicates += static_cast<std::size_t>(n - 1);
    const int process_ends = 2 * n_rounds;
    EXPECT_LE(duplicates, static_cast<std::size_t>(process_ends));
    EXPECT_TRUE(index_problems(data).empty());
    EXPECT_EQ(undelivered_forward_items(data), 0u);
    std::cout << "torture: rounds=" << n_rounds << " kills=" << n_rounds << " stops=" << n_rounds
              << " acknowledged=" << acknowledged.size() << " (stow " << sent_stow
              << ") lost=" << bad.size() << " pacs_duplicates=" << duplicates
              << " rounds_with_unpublished_rows=" << rounds_with_rows_taken_out << "\n";
    RecordProperty("rounds", n_rounds);
    RecordProperty("acknowledged", static_cast<int>(acknowledged.size()));
    RecordProperty("lost", static_cast<int>(bad.size()));
    RecordProperty("duplicates", static_cast<int>(duplicates));
}

}  // namespace
}  // namespace countylink::testing::torture
