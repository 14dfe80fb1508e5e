// Storage Commitment (PS3.4 annex J): the N-ACTION and N-EVENT-REPORT command fields, the SCP
// role a report's own association proposes, the request and report datasets (built and read
// back with DCMTK directly, not with the code under test), and the decision against the index.
#include "codecs/dicom/storage_commitment.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/dicom/dataset_bytes.hpp"
#include "gateway/dicom/commitment_report_scu.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/dicom/pdu.hpp"
#include "gateway/store/commitment.hpp"
#include "gateway/store/sqlite/sqlite_index.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink {
namespace {

namespace cd = codecs::dicom;
using Bytes = std::vector<std::byte>;

constexpr const char* kImplicit = "1.2.840.10008.1.2";
constexpr const char* kExplicit = "1.2.840.10008.1.2.1";
constexpr const char* kCt = "1.2.840.10008.5.1.4.1.1.2";
constexpr const char* kDx = "1.2.840.10008.5.1.4.1.1.1.1";

// Our report read back by DCMTK (trusted bytes: we wrote them).
bool dcmtk_read(const Bytes& bytes, E_TransferSyntax syntax, DcmDataset& ds) {
    DcmInputBufferStream stream;
    stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
    stream.setEos();
    ds.transferInit();
    const bool ok = ds.read(stream, syntax).good();
    ds.transferEnd();
    return ok;
}

// An N-ACTION dataset as equipment builds it, with DCMTK.
Bytes request_dataset(const char* transaction, const std::vector<cd::SopReference>& refs,
                      E_TransferSyntax syntax) {
    DcmDataset ds;
    if (transaction) ds.putAndInsertString(DCM_TransactionUID, transaction);
    for (const auto& r : refs) {
        DcmItem* item = nullptr;
        ds.findOrCreateSequenceItem(DCM_ReferencedSOPSequence, item, -2);
        item->putAndInsertString(DCM_ReferencedSOPClassUID, r.sop_class_uid.c_str());
        item->putAndInsertString(DCM_ReferencedSOPInstanceUID, r.sop_instance_uid.c_str());
    }
    Bytes out;
    cd::write_dataset(ds, syntax, out);
    return out;
}

TEST(StorageCommitmentRequest, ReadsTransactionAndReferencesInBothSyntaxes) {
    const std::vector<cd::SopReference> refs{{kCt, "1.2.3.4.1"}, {kDx, "1.2.3.4.2"}};
    for (auto [uid, syntax] : {std::pair{kImplicit, EXS_LittleEndianImplicit},
                               std::pair{kExplicit, EXS_LittleEndianExplicit}}) {
        const auto request =
            cd::parse_commitment_request(request_dataset("2.25.42", refs, syntax), uid);
        EXPECT_EQ(request.error, "") << uid;
        EXPECT_EQ(request.transaction_uid, "2.25.42");
        EXPECT_EQ(request.references, refs);
    }
}

TEST(StorageCommitmentRequest, RefusesWhatCannotBeAnswered) {
    const std::vector<cd::SopReference> one{{kCt, "1.2.3.4.1"}};
    const auto error_of = [](const Bytes& bytes, const char* syntax = kExplicit) {
        return cd::parse_commitment_request(bytes, syntax).error;
    };
    EXPECT_EQ(error_of(request_dataset(nullptr, one, EXS_LittleEndianExplicit)),
              "no Transaction UID (0008,1195)");
    EXPECT_EQ(error_of(request_dataset("2.25.x", one, EXS_LittleEndianExplicit)),
              "Transaction UID (0008,1195) is not a valid UID");
    EXPECT_EQ(error_of(request_dataset("2.25.1", {}, EXS_LittleEndianExplicit)),
              "no Referenced SOP Sequence (0008,1199) items");
    // An item without a valid UID fails only itself (0x0110 in the report).
    const auto partly = cd::parse_commitment_request(
        request_dataset("2.25.1", {{kCt, ""}, {kCt, "1.2.3"}}, EXS_LittleEndianExplicit),
        kExplicit);
    EXPECT_EQ(partly.error, "");
    EXPECT_EQ(partly.references.size(), 1u);
    EXPECT_EQ(partly.malformed.size(), 1u);
    EXPECT_EQ(
        error_of(request_dataset("2.25.1", one, EXS_LittleEndianExplicit), "1.2.840.10008.1.2.2"),
        "transfer syntax 1.2.840.10008.1.2.2 not supported");

    // Garbage and truncation: an error, never a read past the buffer (ASan watches this).
    Bytes whole = request_dataset("2.25.1", one, EXS_LittleEndianExplicit);
    for (std::size_t cut : {std::size_t{3}, whole.size() / 2, whole.size() - 1}) {
        Bytes part(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_NE(error_of(part), "") << "cut at " << cut;
    }
    Bytes huge_length = whole;
    huge_length[6] = huge_length[7] = std::byte{0xff};  // (0008,1195) UI: its 2-byte length
    EXPECT_NE(error_of(huge_length), "");
    EXPECT_NE(error_of(Bytes(100, std::byte{0xab})), "");
}

// DCMTK allocates a value's declared length before reading it: a 40-byte request declaring a
// 3 GiB element must be refused before that (found by fuzz_commitment).
TEST(StorageCommitmentRequest, HugeDeclaredLengthIsRefusedBeforeAllocating) {
    const auto le = [](Bytes& b, uint32_t v, int n) {
        for (int i = 0; i < n; ++i) b.push_back(std::byte((v >> (8 * i)) & 0xff));
    };
    Bytes explicit_vr;  // (0008,1195) UT, 3 GiB, then 4 bytes
    le(explicit_vr, 0x0008, 2);
    le(explicit_vr, 0x1195, 2);
    explicit_vr.push_back(std::byte{'U'});
    explicit_vr.push_back(std::byte{'T'});
    le(explicit_vr, 0, 2);
    le(explicit_vr, 0xC0000000u, 4);
    le(explicit_vr, 0x2e322e31, 4);
    EXPECT_NE(cd::parse_commitment_request(explicit_vr, kExplicit)
                  .error.find("element (0008,1195) declares 3221225472 bytes where 4 remain"),
              std::string::npos);

    Bytes implicit_vr;  // sequence and item of undefined length, then a 3 GiB UID inside
    for (uint32_t v : {0x11990008u, 0xFFFFFFFFu, 0xE000FFFEu, 0xFFFFFFFFu, 0x11550008u, 0xC0000000u,
                       0x2e322e31u}) {
        le(implicit_vr, v, 4);
    }
    EXPECT_NE(cd::parse_commitment_request(implicit_vr, kImplicit)
                  .error.find("element (0008,1155) declares 3221225472 bytes"),
              std::string::npos);
}

// What DCMTK would take hours or its whole stack for: deep nesting and descending tags, read in
// linear time and refused (found in review).
TEST(StorageCommitmentRequest, DeepNestingAndTagOrderAreRefused) {
    const auto le = [](Bytes& b, uint32_t v) {
        for (int i = 0; i < 4; ++i) b.push_back(std::byte((v >> (8 * i)) & 0xff));
    };
    Bytes deep;  // implicit VR: (0009,0010) undefined length, then item in sequence 100k deep
    for (int i = 0; i < 100000; ++i) {
        le(deep, 0x00100009u);
        le(deep, 0xFFFFFFFFu);
        le(deep, 0xE000FFFEu);
        le(deep, 0xFFFFFFFFu);
    }
    EXPECT_EQ(cd::parse_commitment_request(deep, kImplicit).error, "sequences nested too deeply");

    Bytes descending;  // (0008,1199) before (0008,1195)
    le(descending, 0x11990008u);
    le(descending, 0u);
    le(descending, 0x11950008u);
    le(descending, 2u);
    descending.push_back(std::byte{'1'});
    descending.push_back(std::byte{0});
    EXPECT_EQ(cd::parse_commitment_request(descending, kImplicit).error,
              "tags not in ascending order (PS3.5 7.1)");
}

TEST(StorageCommitmentReport, EncodesSequencesAndFailureReasons) {
    cd::CommitmentReport report;
    report.transaction_uid = "2.25.7";
    report.committed = {{kCt, "1.2.3.4.1"}};
    report.failed = {{{kDx, "1.2.3.4.9"}, cd::commitment_failure::no_such_object_instance}};
    EXPECT_EQ(report.event_type(), 2);

    const Bytes bytes = cd::encode_commitment_report(report, kImplicit);
    DcmDataset ds;
    ASSERT_TRUE(dcmtk_read(bytes, EXS_LittleEndianImplicit, ds));
    OFString value;
    ds.findAndGetOFString(DCM_TransactionUID, value);
    EXPECT_EQ(value, "2.25.7");
    DcmItem* item = nullptr;
    ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_ReferencedSOPSequence, item, 0).good());
    item->findAndGetOFString(DCM_ReferencedSOPInstanceUID, value);
    EXPECT_EQ(value, "1.2.3.4.1");
    ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_FailedSOPSequence, item, 0).good());
    item->findAndGetOFString(DCM_ReferencedSOPClassUID, value);
    EXPECT_EQ(value, kDx);
    Uint16 reason = 0;
    item->findAndGetUint16(DCM_FailureReason, reason);
    EXPECT_EQ(reason, 0x0112);

    // A malformed reference DCMTK will not write as a UID (the fuzzer's '=' in one): it is
    // still reported, 0x0110, its UID left empty, instead of the report failing altogether.
    report.failed = {{{kDx, "=.2.826.0.1"}, cd::commitment_failure::processing_failure}};
    DcmDataset odd;
    ASSERT_TRUE(
        dcmtk_read(cd::encode_commitment_report(report, kImplicit), EXS_LittleEndianImplicit, odd));
    ASSERT_TRUE(odd.findAndGetSequenceItem(DCM_FailedSOPSequence, item, 0).good());
    item->findAndGetUint16(DCM_FailureReason, reason);
    EXPECT_EQ(reason, 0x0110);
    item->findAndGetOFString(DCM_ReferencedSOPClassUID, value);
    EXPECT_EQ(value, kDx);

    // All committed: event type 1 and no Failed SOP Sequence at all.
    report.failed.clear();
    EXPECT_EQ(report.event_type(), 1);
    DcmDataset all;
    ASSERT_TRUE(
        dcmtk_read(cd::encode_commitment_report(report, kExplicit), EXS_LittleEndianExplicit, all));
    EXPECT_FALSE(all.tagExists(DCM_FailedSOPSequence));
}

TEST(StorageCommitmentDecision, CommitsWhatTheIndexHoldsUnderThatClass) {
    testing::TempDir dir;
    store::SqliteIndex index(dir.path() / "index.sqlite");
    store::InstanceRecord stored;
    stored.sop_instance_uid = "1.2.3.4.1";
    stored.sop_class_uid = kCt;
    stored.study_instance_uid = "1.2.3";
    stored.series_instance_uid = "1.2.3.4";
    stored.sha256 = std::string(64, 'a');
    stored.township = "Dongshan";
    index.record_instances(std::span<const store::InstanceRecord>(&stored, 1));

    cd::CommitmentRequest request;
    request.transaction_uid = "2.25.9";
    request.references = {{kCt, "1.2.3.4.1"}, {kCt, "1.2.3.4.404"}, {kDx, "1.2.3.4.1"}};
    request.malformed = {{kCt, "1.2.x"}};
    const auto report = store::decide_commitment(request, "Dongshan", index);
    EXPECT_EQ(report.transaction_uid, "2.25.9");
    ASSERT_EQ(report.committed.size(), 1u);
    EXPECT_EQ(report.committed[0].sop_instance_uid, "1.2.3.4.1");
    ASSERT_EQ(report.failed.size(), 3u);
    EXPECT_EQ(report.failed[0].reference.sop_instance_uid, "1.2.3.4.404");
    EXPECT_EQ(report.failed[0].reason, 0x0112);  // no such object instance
    EXPECT_EQ(report.failed[1].reference.sop_class_uid, kDx);
    EXPECT_EQ(report.failed[1].reason, 0x0119);  // class / instance conflict
    EXPECT_EQ(report.failed[2].reference.sop_instance_uid, "1.2.x");
    EXPECT_EQ(report.failed[2].reason, 0x0110);  // processing failure: a malformed item

    // Another township's console learns nothing about Dongshan's objects.
    const auto other = store::decide_commitment(request, "Xiping", index);
    EXPECT_TRUE(other.committed.empty());
    EXPECT_EQ(other.failed[0].reference.sop_instance_uid, "1.2.3.4.1");
    EXPECT_EQ(other.failed[0].reason, 0x0112);
}

TEST(StorageCommitmentDimse, NActionFieldsAndItsResponse) {
    dicom::Command rq;
    rq.command_field = static_cast<uint16_t>(dicom::CommandField::n_action_rq);
    rq.requested_sop_class_uid = std::string(cd::kStorageCommitmentSopClass);
    rq.requested_sop_instance_uid = std::string(cd::kStorageCommitmentSopInstance);
    rq.message_id = 7;
    rq.action_type_id = 1;
    rq.data_set_type = 0x0000;
    const dicom::Command back = dicom::decode_command(dicom::encode_command(rq));
    EXPECT_EQ(back.requested_sop_class_uid, cd::kStorageCommitmentSopClass);
    EXPECT_EQ(back.requested_sop_instance_uid, cd::kStorageCommitmentSopInstance);
    EXPECT_EQ(back.action_type_id, 1);

    // The N-ACTION-RSP names the object in the Affected fields (PS3.7 table 10.1-4).
    const dicom::Command rsp = dicom::make_response(back, 0x0000);
    EXPECT_EQ(rsp.command_field, 0x8130);
    EXPECT_EQ(rsp.affected_sop_class_uid, cd::kStorageCommitmentSopClass);
    EXPECT_EQ(rsp.affected_sop_instance_uid, cd::kStorageCommitmentSopInstance);
    EXPECT_EQ(rsp.message_id_responded_to, 7);
    EXPECT_EQ(rsp.action_type_id, 1);
    EXPECT_FALSE(rsp.has_data_set());

    cd::CommitmentReport report;
    report.failed.push_back({});
    const dicom::Command event = dicom::commitment_report_command(3, report);
    const dicom::Command event_back = dicom::decode_command(dicom::encode_command(event));
    EXPECT_EQ(event_back.command_field, 0x0100);
    EXPECT_EQ(event_back.event_type_id, 2);
    EXPECT_EQ(event_back.affected_sop_instance_uid, cd::kStorageCommitmentSopInstance);
    EXPECT_TRUE(event_back.has_data_set());
}

// PS3.7 D.3.3.4: item 54H, UID length, UID, SCU role, SCP role.
TEST(StorageCommitmentPdu, RoleSelectionItemAsStandardSpecifies) {
    dicom::AssociateRq rq;
    rq.called_ae = "CT_TOWN01";
    rq.calling_ae = "COUNTYLINK";
    rq.application_context = "1.2.840.10008.3.1.1.1";
    rq.contexts.push_back({1, std::string(cd::kStorageCommitmentSopClass), {kExplicit}});
    rq.user.implementation_class_uid = "1.2.3";
    rq.user.roles.push_back({std::string(cd::kStorageCommitmentSopClass), false, true});
    const Bytes pdu = dicom::encode(rq);

    const std::string uid(cd::kStorageCommitmentSopClass);  // 20 characters
    Bytes item{std::byte{0x54}, std::byte{0},         std::byte{0}, std::byte(2 + uid.size() + 2),
               std::byte{0},    std::byte(uid.size())};
    for (char c : uid) item.push_back(std::byte(c));
    item.push_back(std::byte{0});  // SCU role: no
    item.push_back(std::byte{1});  // SCP role: yes
    EXPECT_NE(std::search(pdu.begin(), pdu.end(), item.begin(), item.end()), pdu.end());

    const auto back =
        dicom::decode_associate_rq(std::span<const std::byte>(pdu).subspan(dicom::kPduHeaderSize));
    EXPECT_EQ(back.user.roles, rq.user.roles);
}

}  // namespace
}  // namespace countylink
