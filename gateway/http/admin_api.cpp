#include "gateway/http/admin_api.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "gateway/server/clock.hpp"
#include "gateway/server/online_purge.hpp"
#include "gateway/server/run_on.hpp"
#include "gateway/store/purge.hpp"

namespace countylink::http {
namespace {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

// What a purge found and, unless a dry run, did.
struct Outcome {
    store::PurgePlan plan;
    store::PurgeTotals totals;
};

Outcome run_purge(server::Context& ctx, const Caller& caller, int64_t days, bool dry_run) {
    Outcome out{store::plan_purge(ctx.index, server::unix_now_ms() - days * 86'400'000), {}};
    if (dry_run) return out;
    const store::Purger purger{caller.who.name, config::role_name(caller.who.role),
                               "API purge: stored more than " + std::to_string(days) + " days ago"};
    out.totals = server::purge_online(ctx, out.plan, purger);
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
    const auto& holds = o.plan.holds;
    json::object out{{"dry_run", dry_run},
                     {"held", json::object{{"undelivered", holds.undelivered},
                                           {"unread", holds.unread},
                                           {"shared", holds.shared}}}};
    if (dry_run) {
        json::array studies;
        for (const auto& s : o.plan.studies) {
            studies.push_back(json::object{{"study_instance_uid", s.study_instance_uid},
                                           {"township", s.township},
                                           {"instances", s.instances},
                                           {"stored_bytes", s.stored_bytes}});
        }
        out["studies"] = std::move(studies);
        out["quarantined"] = o.plan.quarantine.size();
    } else {
        out["purged_studies"] = o.totals.studies;
        out["purged_instances"] = o.totals.instances;
        out["blobs_removed"] = o.totals.blobs_removed;
        out["bytes_freed"] = o.totals.bytes_freed + o.totals.quarantine_freed;
        out["quarantined_removed"] = o.totals.quarantine_removed;
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
    if (days < 0 || days > store::kMaxPurgeDays) {
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
                     outcome.totals.instances, " instances), ", outcome.totals.quarantine_removed,
                     " quarantined objects, ",
                     outcome.totals.bytes_freed + outcome.totals.quarantine_freed,
                     " bytes freed; held ", outcome.plan.holds.undelivered, " undelivered, ",
                     outcome.plan.holds.unread, " unread, ", outcome.plan.holds.shared, " shared");
    }
    co_return json_response(req, bhttp::status::ok, summary(outcome, *dry_run));
}

}  // namespace countylink::http
