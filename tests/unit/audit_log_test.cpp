// The audit trail: PS3.15-style JSON lines, appended and fsync'd in batches.
#include "gateway/audit/audit_log.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "tests/support/temp_dir.hpp"

namespace countylink::audit {
namespace {

namespace json = boost::json;

TEST(AuditLog, LineUsesDicomAuditFieldNames) {
    Event e;
    e.type = EventType::store;
    e.outcome = Outcome::serious_failure;
    e.description = "uid mismatch";
    e.user = "DS_CT";
    e.role = "equipment";
    e.township = "Dongshan";
    e.certificate = "O=Dongshan,CN=ds-ct";
    e.address = "10.0.0.7";
    e.study_instance_uid = "1.2.3";
    e.sop_instance_uids = {"1.2.3.4"};
    e.queue = "imaging";
    const auto v = json::parse(to_json_line(e, 1'763'881'200'123)).as_object();
    EXPECT_EQ(v.at("EventDateTime"), "2025-11-23T07:00:00.123Z");
    EXPECT_EQ(v.at("EventID"), "DICOM Instances Transferred");
    EXPECT_EQ(v.at("EventIDCode"), "110104");
    EXPECT_EQ(v.at("EventTypeCode"), "store");
    EXPECT_EQ(v.at("EventActionCode"), "C");
    EXPECT_EQ(v.at("EventOutcomeIndicator"), 8);
    EXPECT_EQ(v.at("EventOutcomeDescription"), "uid mismatch");
    const auto& who = v.at("ActiveParticipant").as_array().at(0).as_object();
    EXPECT_EQ(who.at("UserID"), "DS_CT");
    EXPECT_EQ(who.at("AlternativeUserID"), "O=Dongshan,CN=ds-ct");
    EXPECT_EQ(who.at("NetworkAccessPointID"), "10.0.0.7");
    EXPECT_EQ(who.at("UserIsRequestor"), true);
    const auto& objects = v.at("ParticipantObjectIdentification").as_array();
    ASSERT_EQ(objects.size(), 3u);
    EXPECT_EQ(objects[0].at("ParticipantObjectIDTypeCode"), "Study Instance UID");
    EXPECT_EQ(objects[1].at("ParticipantObjectID"), "1.2.3.4");
    EXPECT_EQ(objects[2].at("ParticipantObjectID"), "imaging");

    Event refused;
    refused.type = EventType::refusal;
    const auto r = json::parse(to_json_line(refused, 0)).as_object();
    EXPECT_EQ(r.at("EventID"), "Security Alert");
    EXPECT_EQ(r.at("ActiveParticipant").as_array().at(0).at("UserID"), "unknown");
    EXPECT_FALSE(r.contains("ParticipantObjectIdentification"));
}

TEST(AuditLog, ConcurrentRecordsAreAllDurableInFewerSyncs) {
    testing::TempDir tmp;
    const auto file = tmp.path() / "audit.jsonl";
    constexpr int kThreads = 4, kEach = 500;
    uint64_t syncs = 0;
    {
        AuditLog log(file);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&log, t] {
                for (int i = 0; i < kEach; ++i) {
                    Event e;
                    e.type = EventType::retrieve;
                    e.user = std::to_string(t * kEach + i);  // unique per event
                    log.record(e);
                }
            });
        }
        for (auto& t : threads) t.join();
        log.flush();
        syncs = log.syncs();
        // flush() returned: every line is in the file now, before the destructor runs.
        std::ifstream in(file);
        std::set<std::string> users;
        std::string line;
        while (std::getline(in, line)) {
            users.insert(std::string(json::parse(line)
                                         .at("ActiveParticipant")
                                         .as_array()
                                         .at(0)
                                         .at("UserID")
                                         .as_string()));
        }
        EXPECT_EQ(users.size(), static_cast<std::size_t>(kThreads * kEach));
    }
    EXPECT_GE(syncs, 1u);
    EXPECT_LT(syncs, static_cast<uint64_t>(kThreads * kEach));  // batches, not one per line

    // Append-only: a second log on the same file adds after what is there.
    {
        AuditLog again(file);
        again.record(Event{});
    }
    std::ifstream in(file);
    const auto lines = std::count(std::istreambuf_iterator<char>(in), {}, '\n');
    EXPECT_EQ(lines, kThreads * kEach + 1);
}

}  // namespace
}  // namespace countylink::audit
