// Purge: removing the studies the county is done with, so the data disk does not fill. A study
// goes once every instance was stored before the cutoff, every forward copy was delivered and
// every worklist item reported (see Index::purgeable_studies for what keeps one). Refused objects
// quarantined before the cutoff go too. One implementation for `countylinkctl purge` and the
// admin API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "gateway/audit/audit_log.hpp"
#include "gateway/store/blob_store.hpp"
#include "gateway/store/index.hpp"

namespace countylink::store {

// The longest retention a purge accepts (a century): larger day counts are refused as typos.
constexpr int64_t kMaxPurgeDays = 36500;

// What a purge of everything stored before `stored_before_ms` would take, and what it keeps.
struct PurgePlan {
    int64_t stored_before_ms = 0;
    std::vector<PurgeCandidate> studies;  // oldest first
    PurgeHolds holds;
    std::vector<QuarantineRow> quarantine;  // refused objects received before the cutoff
    uint64_t quarantine_bytes = 0;
};

// Reads the index only.
PurgePlan plan_purge(Index& index, int64_t stored_before_ms);

struct PurgeTotals {
    uint64_t studies = 0, instances = 0;
    uint64_t blobs_removed = 0, bytes_freed = 0;
    uint64_t quarantine_removed = 0, quarantine_freed = 0;
};

// Who purges and why, for the audit trail ("countylinkctl purge: older than 90 days").
struct Purger {
    std::string user, role, reason;
};

// Carries `plan` out. Each study still purgeable loses its index rows in one transaction, is
// audited (and the trail flushed), then loses the blobs no row names: a crash in between leaves
// blobs nobody names, which start-up recovery removes. `one_study` runs each study's step (the
// server runs it between two group-commit batches); `done` follows it, purged or not (no longer
// purgeable: something arrived for it), with the totals so far. Quarantined files go last, each
// entry only once its file is gone.
PurgeTotals carry_out_purge(
    Index& index, BlobStore& blobs, const std::filesystem::path& quarantine_dir,
    const PurgePlan& plan, audit::AuditTrail& audit, const Purger& purger,
    const std::function<void(const std::function<void()>&)>& one_study,
    const std::function<void(const PurgeCandidate&, bool purged, const PurgeTotals&)>& done);

}  // namespace countylink::store
