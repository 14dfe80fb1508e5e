// Storage Commitment requests (the N-ACTION dataset equipment sends), in both syntaxes we
// accept: parsing never reads past the input, and a request that parses survives our own report
// encoding of its references (what we send back names exactly what was asked), malformed items
// included in the report's Failed SOP Sequence.
#include "codecs/dicom/storage_commitment.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {

int commitment(std::span<const std::byte> input) {
    namespace cd = codecs::dicom;
    for (const char* syntax : {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}) {
        const auto request = cd::parse_commitment_request(input, syntax);
        if (!request.error.empty()) continue;
        if (request.references.empty() && request.malformed.empty()) {
            fail("commitment request without items accepted");
        }
        cd::CommitmentReport report;
        report.transaction_uid = request.transaction_uid;
        report.committed = request.references;
        for (const auto& bad : request.malformed) {
            report.failed.push_back({bad, cd::commitment_failure::processing_failure});
        }
        if (request.references.empty()) continue;  // a report of failures only: nothing to read
        const auto again =
            cd::parse_commitment_request(cd::encode_commitment_report(report, syntax), syntax);
        if (!again.error.empty() || again.transaction_uid != request.transaction_uid ||
            again.references != request.references) {
            fail("commitment report does not name what the request asked for");
        }
    }
    return 0;
}

}  // namespace countylink::fuzz
