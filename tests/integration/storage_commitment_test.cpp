// Storage Commitment (PS3.4 annex J) as township equipment uses it: store, then ask whether
// the gateway takes responsibility. Checked against two SCUs that share no code with ours: one
// on DCMTK's dcmnet (report on the asking association, or on one it accepts from us) and Orthanc
// (which closes its association and takes the report on one of ours).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "tests/integration/commitment_scu.hpp"
#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kCt = "1.2.840.10008.5.1.4.1.1.2";
constexpr const char* kDx = "1.2.840.10008.5.1.4.1.1.1.1";

// `count` synthetic CT slices, stored with storescu; their references.
std::vector<CommitmentReference> store_ct(const Gateway& gw, const fs::path& dir, int count) {
    const fs::path files = synth(dir, "ct", count, 5);
    const auto r = run("storescu -aet CT_TOWN01 -aec COUNTYLINK 127.0.0.1 " +
                       std::to_string(gw.dicom_port()) + " +sd '" + files.string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<CommitmentReference> refs;
    for (const auto& e : fs::directory_iterator(files)) {
        refs.push_back({kCt, dicom_value(e.path(), "0008,0018")});
    }
    return refs;
}

bool has_metric(const Gateway& gw, const std::string& line) {
    return gw.get("/metrics").body.find(line) != std::string::npos;
}

TEST(StorageCommitment, ReportOnTheAskingAssociationNamesWhatIsNotHeld) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto stored = store_ct(gw, tmp.path() / "ct", 3);
    ASSERT_EQ(stored.size(), 3u);
    const CommitmentReference never_sent{kCt, "1.2.826.0.1.3680043.10.1234.404"};
    const CommitmentReference wrong_class{kDx, stored[0].sop_instance_uid};
    std::vector<CommitmentReference> asked = stored;
    asked.push_back(never_sent);
    asked.push_back(wrong_class);

    const auto answer = request_commitment(gw.dicom_port(), "CT_TOWN01", "COUNTYLINK", "2.25.1001",
                                           asked, /*wait_for_report=*/true);
    ASSERT_TRUE(answer.associated) << answer.error;
    EXPECT_EQ(answer.action_status, 0x0000) << answer.error;
    ASSERT_TRUE(answer.report) << answer.error << "\n" << gw.log();
    const auto& report = *answer.report;
    EXPECT_EQ(report.event_type, 2);  // failures exist
    EXPECT_EQ(report.transaction_uid, "2.25.1001");
    ASSERT_EQ(report.committed.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(report.committed[i].sop_instance_uid, stored[i].sop_instance_uid);
        EXPECT_EQ(report.committed[i].sop_class_uid, kCt);
    }
    ASSERT_EQ(report.failed.size(), 2u);
    EXPECT_EQ(report.failed[0].reference.sop_instance_uid, never_sent.sop_instance_uid);
    EXPECT_EQ(report.failed[0].reason, 0x0112);  // no such object instance
    EXPECT_EQ(report.failed[1].reference.sop_class_uid, kDx);
    EXPECT_EQ(report.failed[1].reason, 0x0119);  // class / instance conflict

    // The SCU answered the report before releasing, so the counters are already there.
    EXPECT_TRUE(has_metric(
        gw, R"(countylink_storage_commitment_reports_total{outcome="same_association"} 1)"))
        << gw.get("/metrics").body;
    EXPECT_TRUE(has_metric(
        gw,
        R"(countylink_storage_commitment_instances_total{township="unregistered",result="committed"} 3)"));
    EXPECT_TRUE(has_metric(
        gw,
        R"(countylink_storage_commitment_instances_total{township="unregistered",result="failed"} 2)"));
}

TEST(StorageCommitment, RequestsThatCannotBeAnsweredGetProcessingFailure) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const std::vector<CommitmentReference> refs{{kCt, "1.2.826.0.1.3680043.10.1234.1"}};
    for (const std::string transaction : {"not-a-uid", ""}) {
        const auto answer = request_commitment(gw.dicom_port(), "CT_TOWN01", "COUNTYLINK",
                                               transaction, refs, true, 10);
        ASSERT_TRUE(answer.associated) << answer.error;
        EXPECT_EQ(answer.action_status, 0x0110) << transaction;
        EXPECT_FALSE(answer.report);  // nothing to report on a refused request
    }
    const auto empty =
        request_commitment(gw.dicom_port(), "CT_TOWN01", "COUNTYLINK", "2.25.77", {}, true, 10);
    EXPECT_EQ(empty.action_status, 0x0110);
    EXPECT_NE(gw.log().find("no Referenced SOP Sequence (0008,1199) items"), std::string::npos)
        << gw.log();
    // More than 16 MiB of references (~100 bytes each): drained and refused, 0x0213.
    std::vector<CommitmentReference> many(200000, refs[0]);
    for (std::size_t i = 0; i < many.size(); ++i) {
        many[i].sop_instance_uid = "1.2.826.0.1.3680043.10.1234.1." + std::to_string(i);
    }
    const auto huge =
        request_commitment(gw.dicom_port(), "CT_TOWN01", "COUNTYLINK", "2.25.78", many, true, 60);
    EXPECT_EQ(huge.action_status, 0x0213) << huge.error;
    // The server carries on.
    EXPECT_EQ(run("echoscu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port())).exit_code,
              0);
}

TEST(StorageCommitment, ReportOnAnAssociationOfItsOwnForListedEquipment) {
    TempDir tmp;
    const uint16_t modality_port = free_port();
    Gateway gw(tmp.path() / "data",
               "[[storage_commitment.peers]]\nae_title = \"CT_TOWN01\"\n"
               "host = \"127.0.0.1\"\nport = " +
                   std::to_string(modality_port) + "\n");
    const auto stored = store_ct(gw, tmp.path() / "ct", 2);
    auto listener = std::async(std::launch::async, [&] {
        return receive_commitment_report(modality_port, "CT_TOWN01", 60);
    });
    wait_for_port(modality_port);
    const auto answer = request_commitment(gw.dicom_port(), "CT_TOWN01", "COUNTYLINK", "2.25.2002",
                                           stored, /*wait_for_report=*/false);
    EXPECT_EQ(answer.action_status, 0x0000) << answer.error;
    const auto report = listener.get();
    ASSERT_TRUE(report) << gw.log();
    EXPECT_EQ(report->event_type, 1);  // all committed
    EXPECT_EQ(report->transaction_uid, "2.25.2002");
    EXPECT_EQ(report->committed.size(), 2u);
    EXPECT_TRUE(report->failed.empty());
    EXPECT_TRUE(eventually([&] {
        return has_metric(
            gw, R"(countylink_storage_commitment_reports_total{outcome="own_association"} 1)");
    })) << gw.log();
}

// Orthanc's storage commitment SCU: it stores to us, asks, closes its association and waits for
// our report on a new one. REST: /modalities/{id}/store, /storage-commitment/{transaction}.
std::string orthanc_commitment_status(const Orthanc& orthanc, const std::string& transaction,
                                      json::value& details) {
    std::string status = "no answer";
    eventually([&] {
        const auto r = http_get(orthanc.http_port(), "/storage-commitment/" + transaction);
        if (r.status != 200) return false;
        details = json::parse(r.body);
        status = std::string(details.at("Status").as_string());
        return status != "Pending";
    });
    return status;
}

// Orthanc asks us (REST) about one instance; its transaction UID, empty if it refused.
std::string orthanc_asks(const Orthanc& orthanc, const std::string& sop_class,
                         const std::string& sop_instance) {
    const auto asked = http_request(
        orthanc.http_port(), "POST", "/modalities/countylink/storage-commitment", "",
        json::serialize(
            json::object{{"DicomInstances", json::array{json::array{sop_class, sop_instance}}}}));
    EXPECT_EQ(asked.status, 200) << asked.body;
    return asked.status == 200 ? std::string(json::parse(asked.body).at("ID").as_string())
                               : std::string();
}

TEST(StorageCommitment, OrthancAsTheModalityGetsItsReport) {
    TempDir tmp;
    Orthanc orthanc(tmp.path() / "orthanc");
    Gateway gw(tmp.path() / "data",
               "[[storage_commitment.peers]]\nae_title = \"ORTHANC\"\n"
               "host = \"127.0.0.1\"\nport = " +
                   std::to_string(orthanc.dicom_port()) + "\n");
    orthanc.add_modality("countylink", "COUNTYLINK", gw.dicom_port());
    orthanc.start();
    const fs::path files = synth(tmp.path() / "dx", "dx", 2, 9);
    std::vector<std::string> ids;
    for (const auto& e : fs::directory_iterator(files)) {
        const auto bytes = read_file(e.path());
        const auto r =
            http_request(orthanc.http_port(), "POST", "/instances", "",
                         std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
        ASSERT_EQ(r.status, 200) << r.body;
        ids.push_back(std::string(json::parse(r.body).at("ID").as_string()));
    }
    const auto sent =
        http_request(orthanc.http_port(), "POST", "/modalities/countylink/store", "",
                     json::serialize(json::object{{"Resources", json::array{ids[0], ids[1]}},
                                                  {"StorageCommitment", true},
                                                  {"Synchronous", true}}));
    ASSERT_EQ(sent.status, 200) << sent.body;
    const auto transaction =
        std::string(json::parse(sent.body).at("StorageCommitmentTransactionUID").as_string());
    json::value details;
    EXPECT_EQ(orthanc_commitment_status(orthanc, transaction, details), "Success")
        << json::serialize(details) << "\n"
        << gw.log();
    EXPECT_EQ(details.at("Success").as_array().size(), 2u);

    // An instance Orthanc never sent us: Orthanc is told it is not held (0x0112 = 274).
    const auto second = orthanc_asks(orthanc, kDx, "1.2.826.0.1.3680043.10.1234.4040");
    EXPECT_EQ(orthanc_commitment_status(orthanc, second, details), "Failure")
        << json::serialize(details);
    ASSERT_EQ(details.at("Failures").as_array().size(), 1u);
    EXPECT_EQ(details.at("Failures").as_array()[0].at("FailureReason").as_int64(), 274);
}

// Equipment that closes its association without answering, and is not listed: the report is
// lost, and the log says what to configure.
TEST(StorageCommitment, UnlistedEquipmentThatClosesIsNamedInTheLog) {
    TempDir tmp;
    Orthanc orthanc(tmp.path() / "orthanc");
    Gateway gw(tmp.path() / "data");
    orthanc.add_modality("countylink", "COUNTYLINK", gw.dicom_port());
    orthanc.start();
    ASSERT_NE(orthanc_asks(orthanc, kDx, "1.2.826.0.1.3680043.10.1234.4041"), "");
    EXPECT_TRUE(eventually([&] {
        return gw.log().find("list it under [[storage_commitment.peers]]") != std::string::npos;
    })) << gw.log();
    EXPECT_TRUE(has_metric(
        gw, R"(countylink_storage_commitment_reports_total{outcome="unacknowledged"} 1)"));
}

}  // namespace
}  // namespace countylink::testing
