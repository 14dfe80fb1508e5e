// Purge as a county's ops team runs it when the data disk fills: studies the county is done
// with go (index rows, blobs; the readers' reports stay), studies still owed to the PACS or
// unread stay, and nothing is removed while the gateway runs.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <set>

#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;

// ECGs to the "ecg" worklist; CT forwarded to a PACS that never answers (a dead port), so its
// copies stay pending; anything else (the MR) goes nowhere and is done with once stored.
std::string purge_config(uint16_t dead_port) {
    return "[routing]\nstable_after_s = 1\n"
           "[[routing.rules]]\nsop_classes = [\"1.2.840.10008.5.1.4.1.1.9.1.1\"]\n"
           "queues = [\"ecg\"]\n"
           "[[routing.rules]]\nmodalities = [\"CT\"]\nforward = [\"pacs\"]\n"
           "[[forward.destinations]]\nname = \"pacs\"\nae_title = \"PACS\"\n"
           "host = \"127.0.0.1\"\nport = " +
           std::to_string(dead_port) + "\n";
}

std::size_t blob_files(const fs::path& data) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(data / "blobs"))
        n += e.path().extension() == ".zst";
    return n;
}

std::size_t quarantined(const fs::path& data) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(data / "quarantine")) n += e.is_regular_file();
    return n;
}

std::string study_of(const fs::path& file) {
    return dicom_value(file, "0020,000d");
}

std::string instance_of(const fs::path& file) {
    return dicom_value(file, "0008,0018");
}

TEST(Purge, RemovesStudiesForwardedAndReadKeepsTheRestAndNeverRunsBesideTheGateway) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const fs::path mr = shared_dir() / "corpus" / "dicom" / "MR_small.dcm";
    const fs::path ct = synth(tmp.path() / "ct", "ct", 2, 11);
    const fs::path ecg = synth(tmp.path() / "ecg", "ecg", 1, 12);
    const fs::path ct_file = ct / "ct-000001.dcm", ecg_file = ecg / "ecg-000001.dcm";
    const std::string ctl =
        (bin_dir() / "countylinkctl").string() + " --data-dir '" + data.string() + "' purge ";
    std::string item;  // the ECG's worklist item, reported below
    {
        Gateway gw(data, purge_config(free_port()));
        const std::string send = "storescu -aec COUNTYLINK 127.0.0.1 " +
                                 std::to_string(gw.dicom_port()) + " '" + mr.string() + "' +sd '" +
                                 ct.string() + "' +sd '" + ecg.string() + "'";
        ASSERT_EQ(run(send).exit_code, 0);
        // A broken object, refused and kept in quarantine.
        run("dcmsend -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " '" +
            (shared_dir() / "corpus" / "dicom-bad" / "GH1146.dcm").string() + "'");
        ASSERT_EQ(quarantined(data), 1u);

        // While the gateway runs: a dry run may look, a purge may not touch.
        const auto running = run(ctl + "--older-than-days 0 --force");
        EXPECT_EQ(running.exit_code, 1) << running.output;
        EXPECT_NE(running.output.find("is in use by countylinkd"), std::string::npos)
            << running.output;
        const auto look = run(ctl + "--older-than-days 0 --dry-run");
        EXPECT_EQ(look.exit_code, 0) << look.output;
        EXPECT_NE(look.output.find("would purge 1 studies (1 instances"), std::string::npos)
            << "only the MR is done with; the ECG is unread, the CT owed to the PACS\n"
            << look.output;
        EXPECT_NE(look.output.find("kept: 1 studies with forward copies not yet delivered"),
                  std::string::npos)
            << look.output;
        EXPECT_NE(look.output.find(", 1 with worklist items not yet reported"), std::string::npos)
            << look.output;
        EXPECT_NE(look.output.find("and 1 quarantined objects"), std::string::npos) << look.output;

        // A reader reports the ECG.
        const auto items = json::parse(gw.get("/api/v1/queues/ecg/items").body);
        ASSERT_EQ(items.at("items").as_array().size(), 1u);
        item = "/api/v1/items/" + std::to_string(items.at("items").at(0).at("id").as_int64());
        ASSERT_EQ(gw.post(item + "/claim", gw.token()).status, 200);
        ASSERT_EQ(gw.post(item + "/complete", gw.token(), R"({"text":"Sinus rhythm."})").status,
                  200);
    }
    ASSERT_EQ(blob_files(data), 4u);  // MR, two CT slices, ECG

    // Nothing stored more than a day ago: nothing goes.
    const auto recent = run(ctl + "--older-than-days 1");
    EXPECT_EQ(recent.exit_code, 0) << recent.output;
    EXPECT_NE(recent.output.find("purged 0 studies"), std::string::npos) << recent.output;
    EXPECT_EQ(blob_files(data), 4u);
    EXPECT_EQ(quarantined(data), 1u);

    // Zero days takes today's finished studies too: only on purpose.
    const auto unforced = run(ctl + "--older-than-days 0");
    EXPECT_EQ(unforced.exit_code, 2) << unforced.output;
    EXPECT_NE(unforced.output.find("add --force"), std::string::npos) << unforced.output;
    EXPECT_EQ(blob_files(data), 4u);

    const auto purged = run(ctl + "--older-than-days 0 --force");
    ASSERT_EQ(purged.exit_code, 0) << purged.output;
    EXPECT_NE(purged.output.find("purged 2 studies (2 instances): 2 blobs"), std::string::npos)
        << purged.output;
    EXPECT_NE(purged.output.find(study_of(mr) + "\tpurged"), std::string::npos) << purged.output;
    EXPECT_NE(purged.output.find(study_of(ecg_file) + "\tpurged"), std::string::npos)
        << purged.output;
    EXPECT_EQ(purged.output.find(study_of(ct_file)), std::string::npos) << purged.output;
    EXPECT_EQ(blob_files(data), 2u);  // the CT slices, still owed to the PACS
    EXPECT_NE(purged.output.find("; 1 quarantined objects"), std::string::npos) << purged.output;
    EXPECT_EQ(quarantined(data), 0u);
    const auto listed = run((bin_dir() / "countylinkctl").string() + " --data-dir '" +
                            data.string() + "' quarantine");
    EXPECT_NE(listed.output.find("0 objects in quarantine"), std::string::npos) << listed.output;

    // The audit trail says what went, as DICOM Study Deleted.
    std::ifstream trail(data / "audit.jsonl");
    std::set<std::string> deleted;
    for (std::string line; std::getline(trail, line);) {
        const auto e = json::parse(line).as_object();
        if (e.at("EventTypeCode") != "purge" || !e.contains("ParticipantObjectIdentification"))
            continue;
        EXPECT_EQ(e.at("EventIDCode"), "110105");
        EXPECT_EQ(e.at("EventActionCode"), "D");
        deleted.insert(std::string(
            e.at("ParticipantObjectIdentification").at(0).at("ParticipantObjectID").as_string()));
    }
    EXPECT_EQ(deleted, (std::set<std::string>{study_of(mr), study_of(ecg_file)}));

    // The gateway starts on what is left: the purged are gone, the CT is served and still in
    // the outbox, and a re-sent MR is stored afresh.
    Gateway gw(data, purge_config(free_port()));
    EXPECT_EQ(gw.get("/api/v1/instances/" + instance_of(mr)).status, 404);
    EXPECT_EQ(gw.get("/api/v1/instances/" + instance_of(ecg_file)).status, 404);
    EXPECT_EQ(gw.get("/api/v1/instances/" + instance_of(ct_file)).status, 200);
    // The reader's report outlives the study: CountyLink keeps it nowhere else.
    const auto report = gw.get(item);
    ASSERT_EQ(report.status, 200) << report.body;
    EXPECT_EQ(json::parse(report.body).at("result").at("text"), "Sinus rhythm.");
    const auto outbox = run((bin_dir() / "countylinkctl").string() + " --data-dir '" +
                            data.string() + "' forward list pacs --state pending");
    EXPECT_NE(outbox.output.find("pacs: 2 pending"), std::string::npos) << outbox.output;
    ASSERT_EQ(run("storescu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " '" +
                  mr.string() + "'")
                  .exit_code,
              0);
    EXPECT_EQ(gw.get("/api/v1/instances/" + instance_of(mr)).status, 200);
}

// The same purge over the API, without stopping the gateway: only an admin may, zero days
// needs force, the answer says what went and what was kept, and ingest carries on after.
TEST(Purge, OverTheApiWhileTheGatewayRuns) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const fs::path mr = shared_dir() / "corpus" / "dicom" / "MR_small.dcm";
    const fs::path ct = synth(tmp.path() / "ct", "ct", 2, 13);
    Gateway gw(data, purge_config(free_port()));
    const std::string send = "storescu -aec COUNTYLINK 127.0.0.1 " +
                             std::to_string(gw.dicom_port()) + " '" + mr.string() + "' +sd '" +
                             ct.string() + "'";
    ASSERT_EQ(run(send).exit_code, 0);
    const std::string purge = "/api/v1/admin/purge?older_than_days=0";

    EXPECT_EQ(http_request(gw.http_port(), "POST", purge + "&force=1", "", "").status, 401);
    const auto bad = gw.post("/api/v1/admin/purge?older_than_days=soon", gw.token());
    EXPECT_EQ(bad.status, 400) << bad.body;
    const auto misspelt = gw.post(purge + "&dry_run=yes", gw.token());
    EXPECT_EQ(misspelt.status, 400) << "not a real purge: " << misspelt.body;
    const auto unforced = gw.post(purge, gw.token());
    EXPECT_EQ(unforced.status, 400) << unforced.body;
    EXPECT_NE(unforced.body.find("force=1"), std::string::npos) << unforced.body;

    const auto look = gw.post(purge + "&dry_run=1", gw.token());
    ASSERT_EQ(look.status, 200) << look.body;
    const auto listed = json::parse(look.body).as_object();
    ASSERT_EQ(listed.at("studies").as_array().size(), 1u) << look.body;
    EXPECT_EQ(json::value_to<std::string>(listed.at("studies").at(0).at("study_instance_uid")),
              study_of(mr));
    EXPECT_EQ(listed.at("held").at("undelivered"), 1) << look.body;  // the CT, owed to the PACS
    EXPECT_EQ(blob_files(data), 3u);

    const auto done = gw.post(purge + "&force=1", gw.token());
    ASSERT_EQ(done.status, 200) << done.body;
    const auto summary = json::parse(done.body).as_object();
    EXPECT_EQ(summary.at("purged_studies"), 1) << done.body;
    EXPECT_EQ(summary.at("blobs_removed"), 1) << done.body;
    EXPECT_EQ(blob_files(data), 2u);
    EXPECT_EQ(gw.get("/api/v1/instances/" + instance_of(mr)).status, 404);
    EXPECT_EQ(gw.get("/api/v1/instances/" + instance_of(ct / "ct-000001.dcm")).status, 200);

    // Ingest carries on: the MR sent again is stored afresh and served.
    ASSERT_EQ(run("storescu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " '" +
                  mr.string() + "'")
                  .exit_code,
              0);
    EXPECT_EQ(gw.get("/api/v1/instances/" + instance_of(mr)).status, 200);
    EXPECT_EQ(blob_files(data), 3u);
}

}  // namespace
}  // namespace countylink::testing
