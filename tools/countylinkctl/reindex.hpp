// countylinkctl reindex: indexes the blobs the index does not know, from their own bytes. For
// an index lost or restored from an older backup beside newer blobs (countylinkd refuses to
// start then, rather than delete them; see ops/README.md).
#pragma once

#include <filesystem>
#include <iosfwd>

namespace countylink::ctl {

// Reads every unknown blob, checks that its bytes match its name, and records it (township
// and calling AE "reindexed", stored at the blob file's time, no queues, no forwarding; an
// instance whose UID is already indexed is left as it is). Takes the data directory's lock, so
// countylinkd must be stopped. Prints a summary to `out`, progress and each blob it could not
// index (why) to `progress`. With `dry_run`, reads and reports but records nothing.
int reindex(const std::filesystem::path& data, bool dry_run, std::ostream& out,
            std::ostream& progress);

// After an upgrade that added indexed attributes (schema 1: what viewers list in C-FIND and
// QIDO-RS), reads them from each older instance's own blob and fills them in. Same lock, output
// and dry run as reindex; a blob it cannot read is listed and its row left as it was.
int backfill(const std::filesystem::path& data, bool dry_run, std::ostream& out,
             std::ostream& progress);

}  // namespace countylink::ctl
