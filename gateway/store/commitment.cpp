#include "gateway/store/commitment.hpp"

namespace countylink::store {

namespace cd = codecs::dicom;

cd::CommitmentReport decide_commitment(const cd::CommitmentRequest& request,
                                       const std::string& township, Index& index) {
    cd::CommitmentReport report;
    report.transaction_uid = request.transaction_uid;
    for (const cd::SopReference& ref : request.references) {
        const auto row = index.latest_instance(ref.sop_instance_uid);
        if (!row || row->record.township != township) {
            report.failed.push_back({ref, cd::commitment_failure::no_such_object_instance});
        } else if (row->record.sop_class_uid != ref.sop_class_uid) {
            report.failed.push_back({ref, cd::commitment_failure::class_instance_conflict});
        } else {
            report.committed.push_back(ref);
        }
    }
    for (const cd::SopReference& bad : request.malformed) {
        report.failed.push_back({bad, cd::commitment_failure::processing_failure});
    }
    return report;
}

}  // namespace countylink::store
