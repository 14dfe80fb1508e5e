#include "gateway/store/purge.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <system_error>

namespace countylink::store {
namespace {

void record(audit::AuditTrail& audit, const Purger& purger, const std::string& description,
            const std::string& study) {
    audit::Event e;
    e.type = audit::EventType::purge;
    e.description = description;
    e.user = purger.user;
    e.role = purger.role;
    e.study_instance_uid = study;
    audit.record(e);
    audit.flush();
}

// The quarantined file, then its entry; a file that cannot be removed keeps its entry, so it
// stays listed. Returns the bytes freed, or nullopt when the entry stays.
std::optional<uint64_t> remove_quarantined(Index& index, const std::filesystem::path& dir,
                                           const QuarantineRow& row) {
    const auto file = dir / row.record.file;
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(file, ec);
    if (ec == std::errc::no_such_file_or_directory) {
        size = 0;  // gone already: forget the entry
    } else if (ec || !std::filesystem::remove(file, ec)) {
        return std::nullopt;
    }
    index.remove_quarantine(row.id);
    return size;
}

}  // namespace

PurgePlan plan_purge(Index& index, int64_t stored_before_ms) {
    PurgePlan plan;
    plan.stored_before_ms = stored_before_ms;
    plan.studies = index.purgeable_studies(stored_before_ms);
    plan.holds = index.purge_holds(stored_before_ms);
    for (auto& row : index.quarantine(std::numeric_limits<std::size_t>::max() / 2)) {
        if (row.record.received_at_ms >= stored_before_ms) continue;
        plan.quarantine_bytes += row.record.size;
        plan.quarantine.push_back(std::move(row));
    }
    std::reverse(plan.quarantine.begin(), plan.quarantine.end());  // listed newest first
    return plan;
}

PurgeTotals carry_out_purge(
    Index& index, BlobStore& blobs, const std::filesystem::path& quarantine_dir,
    const PurgePlan& plan, audit::AuditTrail& audit, const Purger& purger,
    const std::function<void(const std::function<void()>&)>& one_study,
    const std::function<void(const PurgeCandidate&, bool purged, const PurgeTotals&)>& done) {
    PurgeTotals totals;
    for (const PurgeCandidate& study : plan.studies) {
        bool purged = false;
        one_study([&] {
            const auto unreferenced =
                index.purge_study(study.study_instance_uid, plan.stored_before_ms);
            if (!unreferenced) return;
            purged = true;
            ++totals.studies;
            totals.instances += study.instances;
            // On disk before any blob goes: the deletion is recorded while nothing is lost yet.
            record(audit, purger, purger.reason + ", forwarded and read", study.study_instance_uid);
            for (const auto& sha : *unreferenced) {
                const uint64_t freed = blobs.remove(sha);
                totals.blobs_removed += freed > 0;
                totals.bytes_freed += freed;
            }
        });
        done(study, purged, totals);
    }
    for (const auto& row : plan.quarantine) {
        if (const auto freed = remove_quarantined(index, quarantine_dir, row)) {
            ++totals.quarantine_removed;
            totals.quarantine_freed += *freed;
        }
    }
    if (totals.quarantine_removed > 0) {
        record(audit, purger,
               purger.reason + ": " + std::to_string(totals.quarantine_removed) +
                   " quarantined objects",
               "");
    }
    return totals;
}

}  // namespace countylink::store
