// countylinkctl audit: the audit trail (JSON lines, see gateway/audit), filtered.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

namespace countylink::ctl {

struct AuditFilter {
    std::string
        since;  // ISO 8601 UTC prefix ("2026-11-23", "2026-11-23T07:30") or "30m", "2h", "7d"
    std::string event;  // EventTypeCode ("store", "refusal", ...) or EventID ("Security Alert")
    std::string user;   // a participant's UserID or certificate subject (AlternativeUserID)
    std::string study;  // a Study Instance UID
};

// Prints the lines of `file` that pass `filter` to `out`, as they are; returns how many. Lines
// that are not JSON objects (a torn last line after a crash) are skipped and counted in
// `skipped`. Throws std::runtime_error for a file that cannot be read or a malformed --since.
std::size_t print_audit(const std::filesystem::path& file, const AuditFilter& filter,
                        std::ostream& out, std::size_t& skipped);

}  // namespace countylink::ctl
