#include "gateway/http/admin_api.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "gateway/server/clock.hpp"
#include "gateway/server/run_on.hpp"
#include "gateway/store/purge.hpp"

namespace countylink::http {
namespace {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

constexpr int64_t kMaxDays = 36500;

// What a purge found and did, as the JSON summary.
struct Outcome {
    std::vector<store::PurgeCandidate> studies;
    store::PurgeHolds holds;
    std::size_t quarantined = 0;
    store::PurgeTotals totals;
    uint64_t quarantine_freed = 0;
};

Outcome run_purge(server::Context& ctx, const Caller& caller, int64_t days, bool dry_run) {
    Outcome out;
    const int64_t cutoff = server::unix_now_ms() - days * 86'400'000;
    out.studies = ctx.index.purgeable_studies(cutoff);
    out.holds = ctx.index.purge_holds(cutoff);
    const auto refused = store::stale_quarantine(ctx.index, cutoff);
    out.quarantined = refused.size();
    if (dry_run) return out;
    auto record = [&](const std::string& study, const std::string& description) {
        audit::Event e;
        e.type = audit::EventType::purge;
        e.description = description;
        e.user = caller.who.name;
        e.role = config::role_name(caller.who.role);
        e.study_instance_uid = study;
        ctx.audit.record(e);
    };
    const std::string why =
        "API purge: stored more than " + std::to_string(days) + " days ago, forwarded and read";
    for (const auto& study : out.studies) {
        // One study between two batches: no commit is checked or recorded meanwhile.
        ctx.commits.exclusive([&] {
            const auto done = store::purge_studies(
                ctx.index, ctx.blobs, std::span(&study, 1), cutoff,
                [&](const store::PurgeCandidate& s, bool purged, const store::PurgeTotals&) {
                    if (purged) record(s.study_instance_uid, why);
                });
            out.totals.studies += done.studies;
            out.totals.instances += done.instances;
            out.totals.blobs_removed += done.blobs_removed;
            out.totals.bytes_freed += done.bytes_freed;
        });
    }
    out.quarantine_freed = store::purge_quarantine(
        ctx.index, std::filesystem::path(ctx.config.storage.data_dir) / "quarantine", refused);
    if (!refused.empty()) {
        record("", "API purge: " + std::to_string(refused.size()) +
                       " quarantined objects received more than " + std::to_string(days) +
                       " days ago");
    }
    return out;
}

// A yes/no query parameter: absent is no; nullopt for anything but 1, true, 0, false.
std::optional<bool> flag(std::string_view query, std::string_view key) {
    const auto v = query_param(query, key);
    if (!v || *v == "0" || *v == "false") return false;
    if (*v == "1" || *v == "true") return true;
    return std::nullopt;
}

json::object summary(const Outcome& o, bool dry_run) {
    json::array studies;
    for (const auto& s : o.studies) {
        studies.push_back(json::object{{"study_instance_uid", s.study_instance_uid},
                                       {"township", s.township},
                                       {"instances", s.instances},
                                       {"stored_bytes", s.stored_bytes}});
    }
    json::object held{{"undelivered", o.holds.undelivered},
                      {"unread", o.holds.unread},
                      {"shared", o.holds.shared}};
    json::object out{{"dry_run", dry_run}, {"held", std::move(held)}};
    if (dry_run) {
        out["studies"] = std::move(studies);
        out["quarantined"] = o.quarantined;
    } else {
        out["purged_studies"] = o.totals.studies;
        out["purged_instances"] = o.totals.instances;
        out["blobs_removed"] = o.totals.blobs_removed;
        out["bytes_freed"] = o.totals.bytes_freed + o.quarantine_freed;
        out["quarantined_removed"] = o.quarantined;
    }
    return out;
}

}  // namespace

boost::asio::awaitable<std::optional<Response>> handle_admin(const Request& req,
                                                             std::string_view path, Caller& caller,
                                                             server::Context& ctx) {
    if (path != "/api/v1/admin/purge") co_return std::nullopt;
    if (req.method() != bhttp::verb::post) {
        co_return json_error(req, bhttp::status::method_not_allowed, "POST to purge");
    }
    const std::string_view target(req.target().data(), req.target().size());
    const auto q = target.find('?');
    const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
    const auto days_text = query_param(query, "older_than_days");
    int64_t days = -1;
    if (days_text) {
        const auto [end, ec] =
            std::from_chars(days_text->data(), days_text->data() + days_text->size(), days);
        if (ec != std::errc() || end != days_text->data() + days_text->size()) days = -1;
    }
    if (days < 0 || days > kMaxDays) {
        co_return json_error(req, bhttp::status::bad_request,
                             "older_than_days=N (0-36500) is required: studies whose every object "
                             "was stored more than N days ago go, once forwarded and read");
    }
    const auto dry_run = flag(query, "dry_run"), force = flag(query, "force");
    if (!dry_run || !force) {
        // A misspelt "dry_run=yes" must not become a real purge.
        co_return json_error(req, bhttp::status::bad_request,
                             "dry_run and force take 1, true, 0 or false");
    }
    if (days == 0 && !*dry_run && !*force) {
        co_return json_error(req, bhttp::status::bad_request,
                             "older_than_days=0 also removes studies finished today: add force=1 "
                             "if that is meant");
    }
    const Outcome outcome = co_await server::run_on(
        ctx.workers, [&] { return run_purge(ctx, caller, days, *dry_run); });
    if (!*dry_run) {
        ctx.log.info("purge by ", caller.who.name, ": ", outcome.totals.studies, " studies (",
                     outcome.totals.instances, " instances), ", outcome.quarantined,
                     " quarantined objects, ",
                     outcome.totals.bytes_freed + outcome.quarantine_freed, " bytes freed; held ",
                     outcome.holds.undelivered, " undelivered, ", outcome.holds.unread, " unread, ",
                     outcome.holds.shared, " shared");
    }
    co_return json_response(req, bhttp::status::ok, summary(outcome, *dry_run));
}

}  // namespace countylink::http
