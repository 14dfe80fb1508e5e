#include "gateway/store/commitment.hpp"

namespace countylink::store {

namespace cd = codecs::dicom;

cd::CommitmentReport decide_commitment(const cd::CommitmentRequest& request, Index& index) {
    cd::CommitmentReport report;
    report.transaction_uid = request.transaction_uid;
    for (const cd::SopReference& ref : request.references) {
        const auto row = index.latest_instance(ref.sop_instance_uid);
        if (!row) {
            report.failed.push_back({ref, cd::commitment_failure::no_such_object_instance});
        } else if (row->record.sop_class_uid != ref.sop_class_uid) {
            report.failed.push_back({ref, cd::commitment_failure::class_instance_conflict});
        } else {
            report.committed.push_back(ref);
        }
    }
    return report;
}

}  // namespace countylink::store
