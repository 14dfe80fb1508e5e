// countylinkctl purge: removes the studies the county is done with (store/purge.hpp says which)
// and refused objects quarantined as long, to free the data disk; --dry-run lists them without
// touching anything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>

namespace countylink::ctl {

struct PurgeOptions {
    int64_t older_than_days = -1;  // required: < 0 means not given
    bool dry_run = false;
    bool force = false;                // needed for 0 days: everything finished, even today's
    std::filesystem::path audit_file;  // empty: <data>/audit.jsonl (pass audit.file if set)
};

// Lists (dry run) or purges, printing one line per study and a summary to `out`, progress to
// `progress`. A real purge takes the data directory's lock, so countylinkd must be stopped.
// Returns the process exit code.
int purge(const std::filesystem::path& data, const PurgeOptions& options, std::ostream& out,
          std::ostream& progress);

}  // namespace countylink::ctl
