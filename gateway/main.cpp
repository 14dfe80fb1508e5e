// countylinkd: the CountyLink gateway. With no arguments it runs on the embedded default
// (DICOM 11112, AE COUNTYLINK, HTTP 8080, data ./var).
#include <utility>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/oflog/oflog.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "codecs/dicom/transcode.hpp"
#include "config/config.hpp"
#include "gateway/audit/audit_log.hpp"
#include "gateway/auth/authenticator.hpp"
#include "gateway/dicom/association.hpp"
#include "gateway/forward/forwarder.hpp"
#include "gateway/http/http_server.hpp"
#include "gateway/http/worklist_api.hpp"
#include "gateway/ingest/pipeline.hpp"
#include "gateway/metrics/gateway_metrics.hpp"
#include "gateway/route/router.hpp"
#include "gateway/server/clock.hpp"
#include "gateway/server/context.hpp"
#include "gateway/server/log.hpp"
#include "gateway/server/retention.hpp"
#include "gateway/server/run_on.hpp"
#include "gateway/store/blob_store.hpp"
#include "gateway/store/data_directory_lock.hpp"
#include "gateway/store/group_commit.hpp"
#include "gateway/store/sqlite/sqlite_index.hpp"
#include "gateway/store/sqlite/sqlite_outbox.hpp"
#include "gateway/store/sqlite/sqlite_queues.hpp"
#include "gateway/tls/tls_context.hpp"

namespace asio = boost::asio;
namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace countylink;

namespace {

struct Options {
    config::Config config;
    bool exit_now = false;
    int exit_code = 0;
};

Options parse_options(int argc, char** argv) {
    po::options_description desc("countylinkd options");
    desc.add_options()("help,h", "show this help")("config", po::value<std::string>(),
                                                   "read settings from this TOML file")(
        "check-config", po::value<std::string>(), "validate a TOML config file and exit")(
        "data-dir", po::value<std::string>(), "data directory (overrides the config)")(
        "dicom-port", po::value<uint16_t>(), "DICOM port (overrides the config)")(
        "http-port", po::value<uint16_t>(), "HTTP port (overrides the config)")(
        "version", "print the version and exit");
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);

    Options out;
    if (vm.count("help")) {
        std::cout << "Usage: countylinkd [options]\n" << desc;
        out.exit_now = true;
        return out;
    }
    if (vm.count("version")) {
        std::cout << "countylinkd 0.1.0\n";
        out.exit_now = true;
        return out;
    }
    if (vm.count("check-config")) {
        const auto file = vm["check-config"].as<std::string>();
        config::load_file(file);  // throws ConfigError with the key at fault
        std::cout << file << ": OK\n";
        out.exit_now = true;
        return out;
    }
    out.config = vm.count("config") ? config::load_file(vm["config"].as<std::string>())
                                    : config::embedded_default();
    if (vm.count("data-dir")) out.config.storage.data_dir = vm["data-dir"].as<std::string>();
    if (vm.count("dicom-port")) out.config.dicom.port = vm["dicom-port"].as<uint16_t>();
    if (vm.count("http-port")) out.config.http.port = vm["http-port"].as<uint16_t>();
    config::validate(out.config);
    return out;
}

// Storage gauges for ops: free space, index and spool sizes.
void observe_storage(server::Context& ctx) {
    const fs::path data = ctx.config.storage.data_dir;
    struct statvfs fs_stat {};
    if (::statvfs(data.c_str(), &fs_stat) == 0) {
        ctx.metrics.data_dir_free_bytes.set(
            static_cast<int64_t>(fs_stat.f_bavail * fs_stat.f_frsize));
        ctx.metrics.data_dir_size_bytes.set(
            static_cast<int64_t>(fs_stat.f_blocks * fs_stat.f_frsize));
    }
    std::error_code ec;
    int64_t index_bytes = 0;
    for (const char* name : {"index.sqlite", "index.sqlite-wal"}) {
        const auto size = fs::file_size(data / name, ec);
        if (!ec) index_bytes += static_cast<int64_t>(size);
    }
    ctx.metrics.index_size_bytes.set(index_bytes);
    int64_t spool = 0;
    for (const auto& e : fs::directory_iterator(ctx.spool.directory(), ec)) {
        const auto size = e.file_size(ec);
        if (!ec) spool += static_cast<int64_t>(size);
    }
    ctx.metrics.spool_bytes.set(spool);
    // Process gauges under the standard names, so stock dashboards work.
    std::ifstream statm("/proc/self/statm");
    long pages_total = 0, pages_resident = 0;
    if (statm >> pages_total >> pages_resident) {
        ctx.metrics.resident_memory_bytes.set(pages_resident * ::sysconf(_SC_PAGESIZE));
    }
    int64_t fds = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd", ec)) ++fds;
    ctx.metrics.open_fds.set(fds);
}

// Once a second, on a worker: promote stable studies to the worklist, expire leases, and
// refresh the queue gauges.
asio::awaitable<void> tick_queues(server::Context& ctx) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const int64_t stable_ms = int64_t{ctx.config.routing.stable_after_s} * 1000;
    std::set<std::pair<std::string, int>> seen;  // label sets to zero when they empty
    for (;;) {
        timer.expires_after(std::chrono::seconds(1));
        co_await timer.async_wait(asio::use_awaitable);
        try {
            auto& queues = ctx.queues;
            const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
            auto result = co_await server::run_on(
                ctx.workers, [&queues, now, stable_ms] { return queues.tick(now, stable_ms); });
            http::observe_queued(result.queued, ctx.metrics);
            auto summaries =
                co_await server::run_on(ctx.workers, [&queues] { return queues.summaries(); });
            std::set<std::pair<std::string, int>> now_seen;
            for (const auto& q : summaries) {
                for (const auto& p : q.priorities) {
                    const std::string prio =
                        config::priority_name(static_cast<config::Priority>(p.priority));
                    ctx.metrics.queue_depth.with({q.name, prio}).set(static_cast<int64_t>(p.depth));
                    ctx.metrics.queue_oldest_age.with({q.name, prio})
                        .set(p.oldest_queued_ms ? (now - p.oldest_queued_ms) / 1000 : 0);
                    now_seen.insert({q.name, p.priority});
                }
            }
            for (const auto& [name, p] : seen) {
                if (now_seen.contains({name, p})) continue;
                const std::string prio = config::priority_name(static_cast<config::Priority>(p));
                ctx.metrics.queue_depth.with({name, prio}).set(0);
                ctx.metrics.queue_oldest_age.with({name, prio}).set(0);
            }
            seen.insert(now_seen.begin(), now_seen.end());
            co_await server::run_on(ctx.workers, [&ctx] {
                observe_storage(ctx);  // file system calls: off the network thread
                return 0;
            });
        } catch (const std::exception& e) {
            ctx.log.error("queue tick failed: ", e.what());
        }
    }
}

// What a SIGHUP reload records in the audit trail; its outcome and description are filled in.
audit::Event reload_event() {
    audit::Event e;
    e.type = audit::EventType::config_reload;
    e.user = "SIGHUP";
    e.role = "operator";
    return e;
}

// SIGHUP: re-reads the certificate, key and CA; audited either way.
void reload_certificates(tls::TlsContexts& contexts, metrics::GatewayMetrics& metrics,
                         audit::AuditTrail& audit, server::Log& log) {
    audit::Event e = reload_event();
    const auto failure = contexts.reload();
    if (failure) {
        log.error("SIGHUP: certificates not reloaded, the previous ones stay in use: ", *failure);
        e.outcome = audit::Outcome::serious_failure;
        e.description = "certificates not reloaded: " + *failure;
    } else {
        log.info("SIGHUP: certificates reloaded; new connections use them");
        e.description = "certificates reloaded";
        if (contexts.not_after()) {
            metrics.tls_certificate_expiry.with({"server"}).set(contexts.not_after());
        }
    }
    audit.record(e);
}

// SIGHUP, with api.token_file set: re-reads it, so a token is added or revoked without a
// restart; a file that does not load leaves the current tokens in force. Audited either way.
void reload_tokens(auth::TokenAuthenticator& authenticator, const config::Config& config,
                   const fs::path& data, audit::AuditTrail& audit, server::Log& log) {
    audit::Event e = reload_event();
    try {
        bool created = false;
        auto tokens = auth::load_tokens(config, data, created);
        const std::size_t n = tokens.size();
        authenticator.replace(std::move(tokens));
        log.info("SIGHUP: API tokens reloaded from ", config.api.token_file, " (", n, ")");
        e.description = "API tokens reloaded (" + std::to_string(n) + ")";
    } catch (const std::exception& ex) {
        log.error("SIGHUP: API tokens not reloaded, the previous ones stay in use: ", ex.what());
        e.outcome = audit::Outcome::serious_failure;
        e.description = std::string("API tokens not reloaded: ") + ex.what();
    }
    audit.record(e);
}

asio::ip::tcp::acceptor listen(asio::io_context& io, const std::string& bind, uint16_t port) {
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address(bind), port);
    asio::ip::tcp::acceptor acceptor(io);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor;
}

int run(const config::Config& config) {
    server::Log log(server::Log::parse_level(config.server.log_level));
    // DCMTK's own parser chatter would duplicate our findings in the log; keep its fatal lines.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    // For C-GET to viewers that read only the uncompressed syntaxes; outlives every worker.
    const codecs::dicom::Decoders decoders;
    const fs::path data = config.storage.data_dir;
    const fs::path spool = data / "spool";
    const fs::path quarantine = data / "quarantine";
    fs::create_directories(data);
    // Before recovery: a second countylinkd here would remove the first one's objects in flight.
    const store::DataDirectoryLock data_lock(data, "countylinkd");
    for (const auto& dir : {spool, quarantine, data / "blobs"}) fs::create_directories(dir);

    // Start-up recovery: half-received objects were never acknowledged; drop them, and blobs
    // whose index commit did not happen.
    std::size_t stale = 0;
    for (const auto& entry : fs::directory_iterator(spool)) {
        fs::remove(entry.path());
        ++stale;
    }
    store::SqliteIndex index(data / "index.sqlite");
    store::BlobStore blobs(data / "blobs", config.storage.zstd_level);
    const store::BlobStore::Recovery recovered = blobs.recover(index.referenced_blobs());
    stale += recovered.removed;
    // Indexed, but the blob's name never reached the disk (a crash while both were being made
    // durable): never acknowledged, so the sender still has it and sends again. At most one
    // such object per worker; many more missing means a disk not mounted or files removed by
    // hand, and then the rows are left alone for someone to look at.
    const std::size_t in_flight_bound =
        std::max<std::size_t>(store::BlobStore::kCrashLeftovers, config.server.workers);
    if (!recovered.missing.empty() && recovered.missing.size() <= in_flight_bound) {
        const std::size_t rows = index.forget_blobs(recovered.missing);
        log.warn("recovery: ", rows, " index rows named a blob not on disk (",
                 recovered.missing.size(), ", first ", recovered.missing.front(),
                 "): removed, they were never acknowledged");
    } else if (!recovered.missing.empty()) {
        log.error("recovery: ", recovered.missing.size(), " blobs the index names are not in ",
                  fs::absolute(data / "blobs").string(), " (first ", recovered.missing.front(),
                  "); far more than a crash leaves, so their rows are kept: is the disk "
                  "mounted? Retrievals of those instances fail until the files are back");
    }
    log.info("data directory ", fs::absolute(data).string(), ": ", index.instance_count(),
             " instances indexed, ", stale, " unacknowledged leftovers removed");

    store::SqliteReadingQueues queues(data / "index.sqlite");
    bool token_created = false;
    auth::TokenAuthenticator authenticator(config, auth::load_tokens(config, data, token_created));
    if (token_created) {
        log.info("first start: API admin token written to ",
                 fs::absolute(data / "admin.token").string(),
                 " (send it as 'Authorization: Bearer <token>'; only its SHA-256 is kept in ",
                 "admin.token.sha256, so the file may be removed once the token is noted)");
    }
    if (config.api.principals.empty() && !config.api.tokens.empty()) {
        log.warn("no [[api.principals]]: every API token acts as admin; declare principals ",
                 "with roles (docs/security.md)");
    }
    const fs::path audit_file =
        config.audit.file.empty() ? data / "audit.jsonl" : fs::path(config.audit.file);
    audit::AuditLog audit(audit_file);
    tls::TlsContexts tls_contexts(config);  // throws, naming the file, when one is unusable

    metrics::Registry registry;
    metrics::GatewayMetrics gateway_metrics(registry);
    gateway_metrics.build_info.with({"0.1.0"}).set(1);
    gateway_metrics.start_time_seconds.set(server::unix_now_ms() / 1000);
    if (tls_contexts.not_after()) {
        gateway_metrics.tls_certificate_expiry.with({"server"}).set(tls_contexts.not_after());
    }
    gateway_metrics.turnaround_target.with({"stat"}).set(config.turnaround.stat_s);
    gateway_metrics.turnaround_target.with({"urgent"}).set(config.turnaround.urgent_s);
    gateway_metrics.turnaround_target.with({"routine"}).set(config.turnaround.routine_s);
    server::Health health;
    // A put that found its blob already stored commits only if a purge has not removed it since.
    store::GroupCommit commits(index, [&blobs](const store::InstanceRecord& r) {
        return blobs.contains(r.sha256) &&
               (!r.ecg || r.ecg->original_sha256.empty() || blobs.contains(r.ecg->original_sha256));
    });
    const route::Router router(config.routing);
    ingest::Pipeline pipeline(config, {blobs, commits, index, quarantine}, router, gateway_metrics,
                              health, log);
    asio::thread_pool workers(config.server.workers);
    ingest::Spool spool_files(spool);
    server::Context context{config,          workers, pipeline,      index,       blobs,
                            commits,         queues,  authenticator, audit,       registry,
                            gateway_metrics, health,  log,           spool_files, {}};

    store::SqliteOutbox outbox(data / "index.sqlite");
    forward::Forwarder forwarder(config, outbox, blobs, workers, gateway_metrics, log, audit);

    asio::io_context io(1);
    // Listeners: plain DICOM (unless switched off), DICOM TLS (if on), HTTP or HTTPS.
    std::optional<asio::ip::tcp::acceptor> dicom_acceptor, dicom_tls_acceptor;
    if (config.dicom.plain) {
        dicom_acceptor.emplace(listen(io, config.dicom.bind, config.dicom.port));
        asio::co_spawn(io, dicom::accept_associations(*dicom_acceptor, context), asio::detached);
    }
    if (config.dicom.tls) {
        dicom_tls_acceptor.emplace(listen(io, config.dicom.bind, config.dicom.tls_port));
        asio::co_spawn(io,
                       dicom::accept_associations(*dicom_tls_acceptor, context,
                                                  [&tls_contexts] { return tls_contexts.dicom(); }),
                       asio::detached);
    }
    auto http_acceptor = listen(io, config.http.bind, config.http.port);
    std::function<std::shared_ptr<asio::ssl::context>()> http_tls;
    if (config.http.tls) http_tls = [&tls_contexts] { return tls_contexts.http(); };
    asio::co_spawn(io, http::accept_http(http_acceptor, context, http_tls), asio::detached);
    asio::co_spawn(io, tick_queues(context), asio::detached);
    asio::co_spawn(io, server::run_retention(context), asio::detached);
    forwarder.start(io);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int signal) {
        log.info("signal ", signal, ": stopping");
        if (dicom_acceptor) dicom_acceptor->close();
        if (dicom_tls_acceptor) dicom_tls_acceptor->close();
        http_acceptor.close();
        io.stop();
    });
    // SIGHUP: new certificates for new connections (open ones keep theirs and carry on), and
    // the token file read again.
    asio::signal_set hangup(io, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_hangup =
        [&](const boost::system::error_code& ec, int) {
            if (ec) return;
            reload_certificates(tls_contexts, gateway_metrics, audit, log);
            if (!config.api.token_file.empty())
                reload_tokens(authenticator, config, data, audit, log);
            hangup.async_wait(on_hangup);
        };
    hangup.async_wait(on_hangup);
    std::ostringstream listening;
    if (dicom_acceptor) {
        listening << "DICOM " << config.dicom.bind << ":" << dicom_acceptor->local_endpoint().port()
                  << " ";
    }
    listening << "AE " << config.dicom.ae_title << ", ";
    if (dicom_tls_acceptor) {
        listening << "DICOM TLS " << config.dicom.bind << ":"
                  << dicom_tls_acceptor->local_endpoint().port() << ", ";
    }
    listening << "HTTP " << config.http.bind << ":" << http_acceptor.local_endpoint().port()
              << (config.http.tls ? " (TLS)" : "") << ", " << config.server.workers << " workers";
    log.info("countylinkd listening: ", listening.str());
    io.run();
    workers.join();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Options options = parse_options(argc, argv);
        if (options.exit_now) return options.exit_code;
        return run(options.config);
    } catch (const config::ConfigError& e) {
        std::cerr << "countylinkd: configuration error: " << e.what() << "\n";
        return 2;
    } catch (const po::error& e) {
        std::cerr << "countylinkd: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const boost::system::system_error& e) {
        std::cerr << "countylinkd: " << e.what()
                  << " (is another process using the port? choose another with --dicom-port or "
                     "--http-port)\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "countylinkd: " << e.what() << "\n";
        return 1;
    }
}
