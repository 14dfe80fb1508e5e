// Purge: removing the studies the county is done with, so the data disk does not fill. A study
// goes once every instance was stored before the cutoff, every forward copy was delivered and
// every worklist item reported; a dead-lettered copy or an unread study is never removed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "gateway/store/blob_store.hpp"
#include "gateway/store/index.hpp"

namespace countylink::store {

struct PurgeTotals {
    uint64_t studies = 0, instances = 0;
    uint64_t blobs_removed = 0, bytes_freed = 0;
};

// Refused objects kept in quarantine since before `received_before_ms`, oldest first.
std::vector<QuarantineRow> stale_quarantine(Index& index, int64_t received_before_ms);

// Removes each entry's file from `quarantine_dir`, then the entry (a crash in between leaves an
// entry without its file, which the next purge forgets); a file that cannot be removed keeps
// its entry, so it stays listed. Returns the bytes freed.
uint64_t purge_quarantine(Index& index, const std::filesystem::path& quarantine_dir,
                          std::span<const QuarantineRow> entries);

// Purges each of `studies` that is still purgeable at `stored_before_ms`: its index rows in one
// transaction, then the blobs no row names any more (a crash in between leaves blobs nobody
// names, which start-up recovery removes). `done` is called for each study after its index
// transaction and before its blobs go, purged or not (no longer purgeable: something arrived
// for it), with the totals so far.
PurgeTotals purge_studies(
    Index& index, BlobStore& blobs, std::span<const PurgeCandidate> studies,
    int64_t stored_before_ms,
    const std::function<void(const PurgeCandidate&, bool purged, const PurgeTotals&)>& done);

}  // namespace countylink::store
