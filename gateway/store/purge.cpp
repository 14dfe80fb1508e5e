#include "gateway/store/purge.hpp"

#include <algorithm>
#include <limits>

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
        }
        // Before any blob goes: the caller records the deletion while nothing is lost yet.
        done(study, unreferenced.has_value(), totals);
        if (!unreferenced) continue;
        for (const auto& sha : *unreferenced) {
            const uint64_t freed = blobs.remove(sha);
            totals.blobs_removed += freed > 0;
            totals.bytes_freed += freed;
        }
    }
    return totals;
}

std::vector<QuarantineRow> stale_quarantine(Index& index, int64_t received_before_ms) {
    std::vector<QuarantineRow> out;
    for (auto& row : index.quarantine(std::numeric_limits<std::size_t>::max() / 2)) {
        if (row.record.received_at_ms < received_before_ms) out.push_back(std::move(row));
    }
    std::reverse(out.begin(), out.end());  // listed newest first
    return out;
}

uint64_t purge_quarantine(Index& index, const std::filesystem::path& quarantine_dir,
                          std::span<const QuarantineRow> entries) {
    uint64_t freed = 0;
    for (const auto& row : entries) {
        const auto file = quarantine_dir / row.record.file;
        std::error_code ec;
        const uint64_t size = std::filesystem::file_size(file, ec);
        if (ec == std::errc::no_such_file_or_directory) {  // gone already: forget the entry
            index.remove_quarantine(row.id);
            continue;
        }
        if (ec || !std::filesystem::remove(file, ec)) continue;  // cannot remove: stays listed
        freed += size;
        index.remove_quarantine(row.id);
    }
    return freed;
}

}  // namespace countylink::store
