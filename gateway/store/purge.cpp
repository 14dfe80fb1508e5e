#include "gateway/store/purge.hpp"

namespace countylink::store {

PurgeTotals purge_studies(
    Index& index, BlobStore& blobs, std::span<const PurgeCandidate> studies,
    int64_t stored_before_ms,
    const std::function<void(const PurgeCandidate&, bool purged, const PurgeTotals&)>& done) {
    PurgeTotals totals;
    for (const PurgeCandidate& study : studies) {
        const auto unreferenced = index.purge_study(study.study_instance_uid, stored_before_ms);
        if (unreferenced) {
            ++totals.studies;
            totals.instances += study.instances;
            for (const auto& sha : *unreferenced) {
                const uint64_t freed = blobs.remove(sha);
                totals.blobs_removed += freed > 0;
                totals.bytes_freed += freed;
            }
        }
        done(study, unreferenced.has_value(), totals);
    }
    return totals;
}

}  // namespace countylink::store
