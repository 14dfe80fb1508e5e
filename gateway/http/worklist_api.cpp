#include "gateway/http/worklist_api.hpp"
#include "gateway/server/clock.hpp"

#include <charconv>
#include <chrono>

#include "gateway/server/run_on.hpp"

namespace countylink::http {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

std::string priority_label(int p) {
    return config::priority_name(static_cast<config::Priority>(std::clamp(p, 0, 2)));
}

std::optional<int> parse_priority(std::string_view s) {
    if (s == "stat") return 0;
    if (s == "urgent") return 1;
    if (s == "routine") return 2;
    return std::nullopt;
}

json::object item_json(const queue::Item& i, int64_t now) {
    json::object o{{"id", i.id},
                   {"queue", i.queue},
                   {"study_instance_uid", i.study_instance_uid},
                   {"township", i.township},
                   {"patient_id", i.patient_id},
                   {"patient_name", i.patient_name},
                   {"modality", i.modality},
                   {"body_part", i.body_part},
                   {"description", i.description},
                   {"instance_count", i.instance_count},
                   {"priority", priority_label(i.priority)},
                   {"acquired_at", i.acquired_at},
                   {"received_at", iso_time(i.received_at_ms)},
                   {"queued_at", iso_time(i.queued_at_ms)},
                   {"age_s", i.queued_at_ms ? (now - i.queued_at_ms) / 1000 : 0},
                   {"state", i.state},
                   {"updated", i.updated}};
    if (i.state == "claimed") {
        o["claimed_by"] = i.claimed_by;
        o["lease_until"] = iso_time(i.lease_until_ms);
    }
    if (i.state == "reported") {
        o["reported_at"] = iso_time(i.reported_at_ms);
        o["result"] = json::object{{"text", i.result_text}, {"code", i.result_code}};
    }
    return o;
}

std::optional<int64_t> parse_id(std::string_view s) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v <= 0) return std::nullopt;
    return v;
}

double seconds_between(int64_t from_ms, int64_t to_ms) {
    return from_ms && to_ms >= from_ms ? static_cast<double>(to_ms - from_ms) / 1000.0 : 0.0;
}

int64_t target_ms(const config::TurnaroundSettings& t, int priority) {
    const uint32_t s = priority == 0 ? t.stat_s : priority == 1 ? t.urgent_s : t.routine_s;
    return int64_t{s} * 1000;
}

Response change_response(const Request& req, const queue::ChangeResult& r, int64_t now) {
    using queue::Change;
    switch (r.change) {
        case Change::done:
            return json_response(req, bhttp::status::ok, item_json(*r.item, now));
        case Change::not_found:
            return json_error(req, bhttp::status::not_found, "no such item");
        case Change::taken: {
            json::object body{{"error", "item is claimed by another reader"},
                              {"claimed_by", r.item->claimed_by},
                              {"lease_until", iso_time(r.item->lease_until_ms)}};
            return json_response(req, bhttp::status::conflict, body);
        }
        case Change::not_claimable:
            return json_response(
                req, bhttp::status::conflict,
                json::object{{"error", r.item->state == "claimed"
                                           ? "you hold the claim already"
                                           : "item is " + r.item->state + ", not claimable by you"},
                             {"state", r.item->state}});
    }
    return json_error(req, bhttp::status::internal_server_error, "unexpected state");
}

}  // namespace

void observe_queued(const std::vector<queue::Item>& items, metrics::GatewayMetrics& metrics) {
    for (const auto& i : items) {
        metrics.turnaround.with({i.queue, priority_label(i.priority), "received_to_queued"})
            .observe(seconds_between(i.received_at_ms, i.queued_at_ms));
        // The "queue" stage: from arrival to being on a worklist (study assembly included).
        metrics.stage_latency.with({"queue"}).observe(
            seconds_between(i.received_at_ms, i.queued_at_ms));
    }
}

awaitable<std::optional<Response>> handle_worklist(const Request& req, std::string_view path,
                                                   Caller& caller, server::Context& ctx) {
    const auth::Principal& who = caller.who;
    const std::string_view query = query_of({req.target().data(), req.target().size()});
    auto& queues = ctx.queues;
    const int64_t now = server::unix_now_ms();
    const bool get = req.method() == bhttp::verb::get;
    const bool post = req.method() == bhttp::verb::post;

    if (path == "/api/v1/queues" && get) {
        auto summaries = co_await server::run_on(ctx.workers, [&] { return queues.summaries(); });
        json::array out;
        for (const auto& q : summaries) {
            if (!who.reads_queue(q.name)) continue;
            json::array per;
            uint64_t depth = 0;
            for (const auto& p : q.priorities) {
                depth += p.depth;
                per.push_back(
                    {{"priority", priority_label(p.priority)},
                     {"depth", p.depth},
                     {"oldest_age_s", p.oldest_queued_ms ? (now - p.oldest_queued_ms) / 1000 : 0}});
            }
            out.push_back({{"name", q.name}, {"depth", depth}, {"priorities", std::move(per)}});
        }
        co_return json_response(req, bhttp::status::ok, json::object{{"queues", std::move(out)}});
    }

    constexpr std::string_view kQueues = "/api/v1/queues/";
    if (path.starts_with(kQueues) && path.ends_with("/items") && get) {
        queue::ItemFilter filter;
        filter.queue = std::string(path.substr(kQueues.size(), path.size() - kQueues.size() - 6));
        caller.audit.queue = filter.queue;
        if (!who.reads_queue(filter.queue)) {
            co_return json_error(req, bhttp::status::not_found, "no such queue");
        }
        filter.state = query_param(query, "state");
        if (auto p = query_param(query, "priority")) {
            filter.priority = parse_priority(*p);
            if (!filter.priority) {
                co_return json_error(req, bhttp::status::bad_request,
                                     "priority must be stat, urgent or routine");
            }
        }
        filter.township = query_param(query, "township");
        filter.cursor = query_param(query, "cursor").value_or("");
        if (auto l = query_param(query, "limit")) {
            const auto n = parse_id(*l);
            if (!n || *n > 500) {
                co_return json_error(req, bhttp::status::bad_request, "limit must be 1-500");
            }
            filter.limit = static_cast<std::size_t>(*n);
        }
        auto page = co_await server::run_on(ctx.workers, [&] { return queues.items(filter); });
        json::array items;
        for (const auto& i : page.items) items.push_back(item_json(i, now));
        json::object body{{"items", std::move(items)}};
        body["next_cursor"] =
            page.next_cursor.empty() ? json::value(nullptr) : json::value(page.next_cursor);
        co_return json_response(req, bhttp::status::ok, body);
    }

    constexpr std::string_view kItems = "/api/v1/items/";
    if (!path.starts_with(kItems)) co_return std::nullopt;
    const std::string_view rest = path.substr(kItems.size());
    const auto slash = rest.find('/');
    const auto id = parse_id(rest.substr(0, slash));
    if (!id) co_return json_error(req, bhttp::status::not_found, "no such item");
    const std::string_view action =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    caller.audit.item_id = *id;
    // Another queue's item is as absent as a missing one (no hint that it exists).
    const auto seen = co_await server::run_on(ctx.workers, [&] { return queues.item(*id); });
    if (!seen || !who.reads_queue(seen->queue)) {
        co_return json_error(req, bhttp::status::not_found, "no such item");
    }
    caller.audit.queue = seen->queue;
    caller.audit.study_instance_uid = seen->study_instance_uid;

    if (action.empty() && get) {
        const auto& item = seen;
        auto instances =
            co_await server::run_on(ctx.workers, [&] { return queues.instances(*id); });
        json::object body = item_json(*item, now);
        json::object series;
        for (const auto& inst : instances) {
            auto& list = series[inst.series_instance_uid];
            if (!list.is_array()) list = json::array();
            list.as_array().push_back({{"sop_instance_uid", inst.sop_instance_uid},
                                       {"retrieve", "/api/v1/instances/" + inst.sop_instance_uid}});
        }
        json::array series_list;
        for (auto& [uid, list] : series) {
            series_list.push_back({{"series_instance_uid", uid}, {"instances", list}});
        }
        body["series"] = std::move(series_list);
        co_return json_response(req, bhttp::status::ok, body);
    }
    if (!post) {
        co_return json_error(req, bhttp::status::method_not_allowed,
                             "use POST for " + std::string(action));
    }
    const int64_t lease_ms = int64_t{ctx.config.api.lease_s} * 1000;
    queue::ChangeResult result;
    if (action == "claim") {
        result = co_await server::run_on(
            ctx.workers, [&] { return queues.claim(*id, who.name, now, lease_ms); });
        if (result.change == queue::Change::done) {
            const auto& i = *result.item;
            ctx.metrics.turnaround.with({i.queue, priority_label(i.priority), "queued_to_claimed"})
                .observe(seconds_between(i.queued_at_ms, now));
        }
    } else if (action == "renew") {
        result = co_await server::run_on(
            ctx.workers, [&] { return queues.renew(*id, who.name, now, lease_ms); });
    } else if (action == "release") {
        result =
            co_await server::run_on(ctx.workers, [&] { return queues.release(*id, who.name); });
    } else if (action == "complete") {
        std::string text, code;
        if (!req.body().empty()) {
            boost::system::error_code ec;
            const json::value body = json::parse(req.body(), ec);
            if (ec || !body.is_object()) {
                co_return json_error(req, bhttp::status::bad_request,
                                     "body must be a JSON object like {\"text\": ..., \"code\": "
                                     "...}");
            }
            if (auto* t = body.as_object().if_contains("text"); t && t->is_string()) {
                text = std::string(t->as_string());
            }
            if (auto* c = body.as_object().if_contains("code"); c && c->is_string()) {
                code = std::string(c->as_string());
            }
        }
        result = co_await server::run_on(
            ctx.workers, [&] { return queues.complete(*id, who.name, now, text, code); });
        if (result.change == queue::Change::done) {
            const auto& i = *result.item;
            const auto prio = priority_label(i.priority);
            ctx.metrics.turnaround.with({i.queue, prio, "claimed_to_reported"})
                .observe(seconds_between(i.claimed_at_ms, now));
            ctx.metrics.turnaround.with({i.queue, prio, "received_to_reported"})
                .observe(seconds_between(i.received_at_ms, now));
            if (now - i.received_at_ms > target_ms(ctx.config.turnaround, i.priority)) {
                ctx.metrics.sla_breaches_total.with({i.queue, prio}).inc();
            }
        }
    } else {
        co_return json_error(req, bhttp::status::not_found, "no such action");
    }
    co_return change_response(req, result, now);
}

}  // namespace countylink::http
