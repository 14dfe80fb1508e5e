#include "gateway/server/retention.hpp"

#include <ctime>
#include <filesystem>
#include <fstream>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/server/clock.hpp"
#include "gateway/server/online_purge.hpp"
#include "gateway/server/run_on.hpp"

namespace countylink::server {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

// The run time (hour:00 local) on the day of `at_s`, shifted by `days`.
int64_t run_time(int64_t at_s, int hour, int days) {
    const std::time_t at = static_cast<std::time_t>(at_s);
    std::tm local{};
    ::localtime_r(&at, &local);
    local.tm_mday += days;
    local.tm_hour = hour;
    local.tm_min = 0;
    local.tm_sec = 0;
    local.tm_isdst = -1;  // whatever daylight saving time says on that day
    return static_cast<int64_t>(std::mktime(&local));
}

fs::path state_file(const Context& ctx) {
    return fs::path(ctx.config.storage.data_dir) / "retention.last";
}

// Read once at start; a time after `now_s` (the clock was set back since) counts as no run.
std::optional<int64_t> read_last_run(const Context& ctx, int64_t now_s) {
    std::ifstream in(state_file(ctx));
    int64_t seconds = 0;
    if (in >> seconds && seconds <= now_s) return seconds;
    return std::nullopt;
}

// Replaced whole by rename, so a crash leaves the old time or the new one. Losing it only
// means one more run, which finds nothing new to purge; failing to write it (a full disk) is
// logged, and the time is kept in memory, so runs do not repeat back to back.
void write_last_run(const Context& ctx, int64_t seconds) {
    const fs::path file = state_file(ctx);
    const fs::path tmp = file.string() + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    out << seconds << "\n";
    out.close();
    std::error_code ec;
    if (out) fs::rename(tmp, file, ec);
    if (!out || ec) {
        ctx.log.warn("retention: cannot record the run in ", file.string(),
                     "; the next start will run it again");
    }
}

}  // namespace

int64_t next_retention_run(int64_t now_s, std::optional<int64_t> last_run_s, int run_at_hour) {
    int64_t due = run_time(now_s, run_at_hour, 0);
    if (due > now_s) due = run_time(now_s, run_at_hour, -1);
    if (!last_run_s || *last_run_s < due) return now_s;
    return run_time(now_s, run_at_hour, due == run_time(now_s, run_at_hour, 0) ? 1 : 0);
}

asio::awaitable<void> run_retention(Context& ctx) {
    const uint32_t days = ctx.config.retention.purge_after_days;
    if (days == 0) co_return;
    ctx.log.info("retention: studies done with and stored more than ", days,
                 " days ago are purged daily at ", ctx.config.retention.run_at_hour, ":00");
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::optional<int64_t> last_run = read_last_run(ctx, unix_now_ms() / 1000);
    for (;;) {
        const int64_t now = unix_now_ms() / 1000;
        const int64_t due = next_retention_run(now, last_run, ctx.config.retention.run_at_hour);
        if (due > now) {
            // At most an hour at a time: the wall clock may be set or change for DST meanwhile.
            timer.expires_after(std::chrono::seconds(std::min<int64_t>(due - now, 3600)));
            co_await timer.async_wait(asio::use_awaitable);
            continue;
        }
        bool failed = false;
        try {
            const auto totals = co_await run_on(ctx.workers, [&ctx, days, now] {
                const auto plan =
                    store::plan_purge(ctx.index, (now - int64_t{days} * 86'400) * 1000);
                const store::Purger purger{
                    "countylinkd", "retention",
                    "retention: stored more than " + std::to_string(days) + " days ago"};
                return std::make_pair(purge_online(ctx, plan, purger), plan.holds);
            });
            last_run = now;
            write_last_run(ctx, now);
            ctx.metrics.retention_last_run.set(static_cast<double>(now));
            ctx.metrics.retention_purged_studies_total.inc(
                static_cast<double>(totals.first.studies));
            ctx.log.info("retention: purged ", totals.first.studies, " studies (",
                         totals.first.instances, " instances, ", totals.first.bytes_freed >> 20,
                         " MiB) and ", totals.first.quarantine_removed,
                         " quarantined objects; kept as undelivered ", totals.second.undelivered,
                         ", unread ", totals.second.unread, ", shared ", totals.second.shared);
        } catch (const std::exception& e) {
            ctx.log.error("retention: purge failed: ", e.what(), "; trying again in an hour");
            failed = true;
        }
        if (failed) {  // no co_await inside a handler
            timer.expires_after(std::chrono::hours(1));
            co_await timer.async_wait(asio::use_awaitable);
        }
    }
}

}  // namespace countylink::server
