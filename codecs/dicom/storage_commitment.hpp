// Storage Commitment Push Model (PS3.4 annex J) datasets: the N-ACTION request a sender makes
// after storing ("do you take responsibility for these instances?") and the N-EVENT-REPORT
// answer, in whichever transfer syntax the presentation context uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace countylink::codecs::dicom {

inline constexpr std::string_view kStorageCommitmentSopClass = "1.2.840.10008.1.20.1";
// The one well-known SOP instance every request and report names.
inline constexpr std::string_view kStorageCommitmentSopInstance = "1.2.840.10008.1.20.1.1";

// Failure Reason (0008,1197) values of PS3.3 C.14.1.1 that we report.
namespace commitment_failure {
inline constexpr uint16_t processing_failure = 0x0110;
inline constexpr uint16_t no_such_object_instance = 0x0112;
inline constexpr uint16_t class_instance_conflict = 0x0119;
}  // namespace commitment_failure

struct SopReference {
    std::string sop_class_uid, sop_instance_uid;
    bool operator==(const SopReference&) const = default;
};

struct CommitmentRequest {
    std::string transaction_uid;           // (0008,1195), echoed in the report
    std::vector<SopReference> references;  // Referenced SOP Sequence (0008,1199)
    std::vector<SopReference> malformed;   // items without two valid UIDs: failed, 0x0110
    std::string error;                     // why the dataset is not a usable request; empty: ok
};

struct FailedReference {
    SopReference reference;
    uint16_t reason = commitment_failure::processing_failure;
};

struct CommitmentReport {
    std::string transaction_uid;
    std::vector<SopReference> committed;
    std::vector<FailedReference> failed;
    // Event Type ID (0000,1002): 1 when every reference is committed, 2 when failures exist.
    uint16_t event_type() const { return failed.empty() ? 1 : 2; }
};

// Parses an N-ACTION dataset in `transfer_syntax` (a UID), with our own bounded reader (no
// DCMTK). A missing or malformed Transaction UID, no items, or bytes that are no dataset set
// `error`; never reads past `bytes`, never nests deeper than 8, linear in their size.
CommitmentRequest parse_commitment_request(std::span<const std::byte> bytes,
                                           std::string_view transfer_syntax);

// Encodes the N-EVENT-REPORT dataset (Transaction UID, Referenced and Failed SOP Sequences) in
// `transfer_syntax`; throws std::invalid_argument for a syntax we cannot write.
std::vector<std::byte> encode_commitment_report(const CommitmentReport& report,
                                                std::string_view transfer_syntax);

}  // namespace countylink::codecs::dicom
