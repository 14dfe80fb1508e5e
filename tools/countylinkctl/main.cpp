// countylinkctl: offline administration of a CountyLink data directory.
//   countylinkctl export UID [--data-dir DIR] [-o FILE]   the stored object, byte for byte
//   countylinkctl quarantine [--data-dir DIR]             refused objects and why
//   countylinkctl forward list [DEST] [--state S]         the forward outbox
//   countylinkctl forward retry [DEST]                    dead letters back to pending
//   countylinkctl status                                  one screen: townships, queues, disk
//   countylinkctl backup DEST                             online consistent copy of the data
//   countylinkctl purge --older-than-days N [--dry-run]   remove studies forwarded and read
//   countylinkctl reindex [--dry-run]                     index blobs the index does not know
//   countylinkctl backfill [--dry-run]                    fill in attributes an upgrade added
//   countylinkctl conformance                             the DICOM Conformance Statement
//   countylinkctl audit [--since T] [--event E] [--user U] [--study UID]   the audit trail
//   countylinkctl ecg-eval DIR LABELS.csv [--folds K]     score the ECG quality gate
#include <fcntl.h>

#include <sys/statvfs.h>
#include <boost/program_options.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <vector>

#include "codecs/io/file.hpp"
#include "config/config.hpp"
#include "gateway/server/clock.hpp"
#include "gateway/store/blob_store.hpp"
#include "gateway/store/sqlite/sqlite_index.hpp"
#include "gateway/store/sqlite/sqlite_outbox.hpp"
#include "gateway/store/sqlite/sqlite_queues.hpp"
#include "tools/countylinkctl/audit.hpp"
#include "tools/countylinkctl/conformance.hpp"
#include "tools/countylinkctl/ecg_eval.hpp"
#include "tools/countylinkctl/purge.hpp"
#include "tools/countylinkctl/reindex.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace countylink;

namespace {

constexpr const char* kUsage =
    "Usage:\n"
    "  countylinkctl export UID [--data-dir DIR] [-o FILE]\n"
    "  countylinkctl quarantine [--data-dir DIR]\n"
    "  countylinkctl forward list [DESTINATION] [--state pending|delivered|dead] [--data-dir DIR]\n"
    "  countylinkctl forward retry [DESTINATION] [--data-dir DIR]\n"
    "  countylinkctl status [--data-dir DIR]\n"
    "  countylinkctl backup DEST [--data-dir DIR]\n"
    "  countylinkctl purge --older-than-days N [--dry-run] [--force] [--file AUDIT] [--data-dir "
    "DIR]\n"
    "  countylinkctl reindex [--dry-run] [--data-dir DIR]\n"
    "  countylinkctl backfill [--dry-run] [--data-dir DIR]\n"
    "  countylinkctl conformance\n"
    "  countylinkctl audit [--since T] [--event E] [--user U] [--study UID] [--file F]\n"
    "  countylinkctl ecg-eval DIR LABELS.csv [--folds K] [--seed N] [--reversal] [--dump FILE]\n";

store::SqliteIndex open_index(const fs::path& data) {
    const fs::path file = data / "index.sqlite";
    if (!fs::exists(file)) {
        throw std::runtime_error("no index at " + file.string() +
                                 "; pass the gateway's data directory with --data-dir");
    }
    return store::SqliteIndex(file);
}

int export_instance(const fs::path& data, const std::string& uid, const std::string& out) {
    auto index = open_index(data);
    const auto row = index.latest_instance(uid);
    if (!row) {
        std::cerr << "countylinkctl: no instance " << uid << " in " << data
                  << " (check the UID, or list refused ones with 'countylinkctl quarantine')\n";
        return 1;
    }
    store::BlobStore blobs(data / "blobs", 3);
    auto reader = blobs.open(row->record.sha256);
    io::UniqueFd fd = out.empty() || out == "-"
                          ? io::UniqueFd(::dup(1))
                          : io::open_file(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::byte> chunk(1 << 20);
    uint64_t total = 0;
    for (std::size_t n; (n = reader.read(chunk)) > 0; total += n) {
        io::write_all(fd.get(), {chunk.data(), n});
    }
    if (total != row->record.raw_size) {
        std::cerr << "countylinkctl: blob holds " << total << " bytes, index says "
                  << row->record.raw_size << "\n";
        return 1;
    }
    if (!out.empty() && out != "-") {
        std::cerr << "exported " << uid << " (version " << row->version << ", " << total
                  << " bytes) to " << out << "\n";
    }
    return 0;
}

int list_quarantine(const fs::path& data) {
    auto index = open_index(data);
    const auto rows = index.quarantine(100000);
    for (const auto& row : rows) {
        const auto& q = row.record;
        char status[8];
        std::snprintf(status, sizeof status, "0x%04X", q.status);
        std::cout << row.id << "\t" << status << "\t" << q.calling_ae << "\t" << q.finding << "\t"
                  << q.reason << "\t" << (data / "quarantine" / q.file).string() << "\n";
    }
    std::cerr << rows.size() << " objects in quarantine\n";
    return 0;
}

int forward_command(const fs::path& data, const std::vector<std::string>& args,
                    const std::string& state) {
    open_index(data);  // fails with a hint when the data directory is wrong
    store::SqliteOutbox outbox(data / "index.sqlite");
    const std::string destination = args.size() > 1 ? args[1] : "";
    if (args[0] == "retry") {
        const auto n = outbox.retry_dead(destination, server::unix_now_ms());
        std::cout << n << " dead-lettered objects put back in the outbox"
                  << (destination.empty() ? "" : " of " + destination)
                  << "; the running gateway sends them within a second\n";
        return 0;
    }
    const auto items = outbox.list(destination, state, 100000);
    for (const auto& i : items) {
        std::cout << i.id << "\t" << i.destination << "\t" << i.state << "\tattempts " << i.attempts
                  << "\t" << i.sop_instance_uid << "\t" << i.last_error << "\n";
    }
    for (const auto& b : outbox.backlog()) {
        std::cerr << b.destination << ": " << b.pending << " pending, " << b.dead << " dead\n";
    }
    return 0;
}

std::string ago(int64_t then_ms) {
    if (then_ms == 0) return "never";
    const int64_t s = (server::unix_now_ms() - then_ms) / 1000;
    if (s < 120) return std::to_string(s) + " s ago";
    if (s < 7200) return std::to_string(s / 60) + " min ago";
    if (s < 172800) return std::to_string(s / 3600) + " h ago";
    return std::to_string(s / 86400) + " days ago";
}

int show_status(const fs::path& data) {
    auto index = open_index(data);
    store::SqliteReadingQueues queues(data / "index.sqlite");
    store::SqliteOutbox outbox(data / "index.sqlite");
    std::cout << "CountyLink data " << fs::absolute(data).string() << ": " << index.instance_count()
              << " instances, " << index.quarantine(1000000).size() << " in quarantine\n";
    struct statvfs st {};
    if (::statvfs(data.c_str(), &st) == 0) {
        const double free_gb = static_cast<double>(st.f_bavail * st.f_frsize) / 1e9;
        const double size_gb = static_cast<double>(st.f_blocks * st.f_frsize) / 1e9;
        std::cout << "disk: " << free_gb << " GB free of " << size_gb << " GB\n";
    }
    std::cout << "\ntownships (instances, last received):\n";
    for (const auto& t : index.townships()) {
        std::cout << "  " << t.township << ": " << t.instances << ", " << ago(t.last_received_ms)
                  << "\n";
    }
    std::cout << "\nreading queues (pending + claimed):\n";
    for (const auto& q : queues.summaries()) {
        std::cout << "  " << q.name << ":";
        if (q.priorities.empty()) std::cout << " empty";
        for (const auto& p : q.priorities) {
            std::cout << " " << config::priority_name(static_cast<config::Priority>(p.priority))
                      << " " << p.depth << " (oldest queued " << ago(p.oldest_queued_ms) << ")";
        }
        std::cout << "\n";
    }
    std::cout << "\nforward outbox:\n";
    for (const auto& b : outbox.backlog()) {
        std::cout << "  " << b.destination << ": " << b.pending << " pending (oldest "
                  << ago(b.oldest_pending_ms) << "), " << b.dead << " dead\n";
    }
    return 0;
}

// A consistent copy while the gateway runs: the index by SQLite's online backup, then the
// blobs it refers to (immutable and fsync'd before their index rows, so all are there).
int backup(const fs::path& data, const fs::path& destination) {
    if (fs::exists(destination) && !fs::is_empty(destination)) {
        std::cerr << "countylinkctl: " << destination << " is not empty; choose a new directory\n";
        return 2;
    }
    auto index = open_index(data);
    fs::create_directories(destination / "blobs");
    const auto blobs = index.backup_to(destination / "index.sqlite");
    std::cerr << "backup: index copied, " << blobs.size() << " blobs to copy\n";
    store::BlobStore source(data / "blobs", 3);
    std::size_t done = 0;
    for (const auto& sha : blobs) {
        const fs::path from = source.path_of(sha);
        const fs::path to = destination / "blobs" / sha.substr(0, 2) / from.filename();
        fs::create_directories(to.parent_path());
        std::error_code ec;
        fs::create_hard_link(from, to, ec);  // same file system: instant, blobs never change
        if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
        if (++done % 1000 == 0) std::cerr << "backup: " << done << "/" << blobs.size() << "\n";
    }
    if (fs::exists(data / "quarantine")) {
        fs::copy(data / "quarantine", destination / "quarantine", fs::copy_options::recursive);
    }
    std::cout << "backup of " << blobs.size() << " blobs and the index written to "
              << destination.string() << "; restore by starting countylinkd --data-dir on it\n";
    return 0;
}

int audit_command(const fs::path& data, const po::variables_map& vm) {
    ctl::AuditFilter filter;
    filter.since = vm["since"].as<std::string>();
    filter.event = vm["event"].as<std::string>();
    filter.user = vm["user"].as<std::string>();
    filter.study = vm["study"].as<std::string>();
    const std::string file = vm["file"].as<std::string>();
    std::size_t skipped = 0;
    const std::size_t shown = ctl::print_audit(file.empty() ? data / "audit.jsonl" : fs::path(file),
                                               filter, std::cout, skipped);
    std::cerr << shown << " audit entries" << (skipped ? ", " : "")
              << (skipped ? std::to_string(skipped) + " unreadable lines skipped" : "") << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc > 1 && std::string(argv[1]) == "ecg-eval")  // its own options (--folds ...)
            return ctl::ecg_eval(std::vector<std::string>(argv + 2, argv + argc));
        po::options_description desc("options");
        desc.add_options()("help,h", "show help")(
            "data-dir", po::value<std::string>()->default_value("./var"), "data directory")(
            "output,o", po::value<std::string>()->default_value(""), "output file (export)")(
            "state", po::value<std::string>()->default_value(""), "filter (forward list)")(
            "since", po::value<std::string>()->default_value(""),
            "audit: from this UTC time (2026-11-23T07:30) or this long ago (30m, 2h, 7d)")(
            "event", po::value<std::string>()->default_value(""),
            "audit: store, refusal, login_failure, retrieve, query, claim, complete, forward, "
            "config_reload, purge")("user", po::value<std::string>()->default_value(""),
                                    "audit: principal, AE title or certificate subject")(
            "study", po::value<std::string>()->default_value(""), "audit: Study Instance UID")(
            "file", po::value<std::string>()->default_value(""),
            "audit, purge: the trail (default <data-dir>/audit.jsonl)")(
            "older-than-days", po::value<int64_t>()->default_value(-1),
            "purge: studies whose every object was stored more than this many days ago")(
            "dry-run", po::bool_switch(),
            "purge, reindex, backfill: list what would change, change nothing")(
            "force", po::bool_switch(), "purge: allow --older-than-days 0")(
            "command", po::value<std::string>(), "")("args", po::value<std::vector<std::string>>(),
                                                     "");
        po::positional_options_description pos;
        pos.add("command", 1).add("args", -1);
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
        po::notify(vm);
        if (vm.count("help") || !vm.count("command")) {
            std::cout << kUsage << desc;
            return vm.count("help") ? 0 : 2;
        }
        const fs::path data = vm["data-dir"].as<std::string>();
        const auto command = vm["command"].as<std::string>();
        const auto args = vm.count("args") ? vm["args"].as<std::vector<std::string>>()
                                           : std::vector<std::string>{};
        if (command == "export" && args.size() == 1) {
            return export_instance(data, args[0], vm["output"].as<std::string>());
        }
        if (command == "quarantine" && args.empty()) return list_quarantine(data);
        if (command == "status" && args.empty()) return show_status(data);
        if (command == "conformance" && args.empty()) {
            std::cout << ctl::conformance_statement(config::embedded_default());
            return 0;
        }
        if (command == "backup" && args.size() == 1) return backup(data, args[0]);
        if (command == "audit" && args.empty()) return audit_command(data, vm);
        if (command == "purge" && args.empty()) {
            ctl::PurgeOptions options;
            options.older_than_days = vm["older-than-days"].as<int64_t>();
            options.dry_run = vm["dry-run"].as<bool>();
            options.force = vm["force"].as<bool>();
            options.audit_file = vm["file"].as<std::string>();
            return ctl::purge(data, options, std::cout, std::cerr);
        }
        if (command == "reindex" && args.empty()) {
            return ctl::reindex(data, vm["dry-run"].as<bool>(), std::cout, std::cerr);
        }
        if (command == "backfill" && args.empty()) {
            return ctl::backfill(data, vm["dry-run"].as<bool>(), std::cout, std::cerr);
        }
        if (command == "forward" && !args.empty() && args.size() <= 2 &&
            (args[0] == "list" || args[0] == "retry")) {
            return forward_command(data, args, vm["state"].as<std::string>());
        }
        std::cerr << kUsage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "countylinkctl: " << e.what() << "\n";
        return 1;
    }
}
