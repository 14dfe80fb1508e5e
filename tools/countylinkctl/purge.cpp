#include "tools/countylinkctl/purge.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>

#include "gateway/audit/audit_log.hpp"
#include "gateway/server/clock.hpp"
#include "gateway/store/data_directory_lock.hpp"
#include "gateway/store/purge.hpp"
#include "gateway/store/sqlite/sqlite_index.hpp"

namespace countylink::ctl {
namespace {

std::string utc(int64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%d %H:%M UTC", &tm);
    return out;
}

std::string megabytes(uint64_t bytes) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f MB", static_cast<double>(bytes) / 1e6);
    return out;
}

void print_holds(const store::PurgeHolds& holds, std::ostream& out) {
    out << "kept: " << holds.undelivered
        << " studies with forward copies not yet delivered (countylinkctl forward list), "
        << holds.unread << " with worklist items not yet reported, " << holds.shared
        << " with objects also stored under another study\n";
}

// Who ran the purge, for the audit trail: the person behind sudo, or the account.
std::string operating_user() {
    if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) return sudo;
    if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
    return "uid " + std::to_string(::getuid());
}

}  // namespace

int purge(const std::filesystem::path& data, const PurgeOptions& options, std::ostream& out,
          std::ostream& progress) {
    if (options.older_than_days < 0 || options.older_than_days > store::kMaxPurgeDays) {
        std::cerr << "countylinkctl: purge needs --older-than-days N (0-" << store::kMaxPurgeDays
                  << "): it removes studies whose every object was stored more than N days ago, "
                     "once forwarded and read (try --dry-run first)\n";
        return 2;
    }
    if (options.older_than_days == 0 && !options.dry_run && !options.force) {
        std::cerr << "countylinkctl: --older-than-days 0 also removes studies finished today; "
                     "add --force if that is meant\n";
        return 2;
    }
    const auto file = data / "index.sqlite";
    if (!std::filesystem::exists(file)) {
        std::cerr << "countylinkctl: no index at " << file.string()
                  << "; pass the gateway's data directory with --data-dir\n";
        return 1;
    }
    // A real purge holds the lock: no object can arrive for a study while it is removed.
    std::optional<store::DataDirectoryLock> lock;
    if (!options.dry_run) lock.emplace(data, "countylinkctl purge");

    store::SqliteIndex index(file);
    const auto plan =
        store::plan_purge(index, server::unix_now_ms() - options.older_than_days * 86'400'000);
    out << "studies stored before " << utc(plan.stored_before_ms)
        << ", every forward copy delivered and every worklist item reported:\n";
    if (options.dry_run) {
        uint64_t instances = 0, bytes = 0;
        for (const auto& s : plan.studies) {
            out << s.study_instance_uid << "\t" << s.township << "\t" << s.instances
                << " instances\t" << megabytes(s.stored_bytes) << "\tlast stored "
                << utc(s.last_stored_ms) << "\n";
            instances += s.instances;
            bytes += s.stored_bytes;
        }
        out << "dry run: would purge " << plan.studies.size() << " studies (" << instances
            << " instances, " << megabytes(bytes) << " stored) and " << plan.quarantine.size()
            << " quarantined objects (" << megabytes(plan.quarantine_bytes) << ")\n";
        print_holds(plan.holds, out);
        return 0;
    }

    store::BlobStore blobs(data / "blobs", 1);
    audit::AuditLog audit(options.audit_file.empty() ? data / "audit.jsonl" : options.audit_file);
    const store::Purger purger{operating_user(), "admin",
                               "countylinkctl purge: stored more than " +
                                   std::to_string(options.older_than_days) + " days ago"};
    std::size_t seen = 0;
    const auto totals = store::carry_out_purge(
        index, blobs, data / "quarantine", plan, audit, purger,
        [](const std::function<void()>& step) { step(); },  // the gateway is stopped
        [&](const store::PurgeCandidate& study, bool purged, const store::PurgeTotals& so_far) {
            out << study.study_instance_uid
                << (purged ? "\tpurged\t" + std::to_string(study.instances) + " instances"
                           : std::string("\tkept: changed since it was listed"))
                << "\n";
            if (++seen % 100 == 0 || seen == plan.studies.size()) {
                progress << "purge: " << seen << "/" << plan.studies.size() << " studies, "
                         << megabytes(so_far.bytes_freed) << " freed\n";
            }
        });
    out << "purged " << totals.studies << " studies (" << totals.instances
        << " instances): " << totals.blobs_removed << " blobs, " << megabytes(totals.bytes_freed)
        << " freed; " << totals.quarantine_removed << " quarantined objects, "
        << megabytes(totals.quarantine_freed) << " freed\n";
    print_holds(plan.holds, out);
    return 0;
}

}  // namespace countylink::ctl
