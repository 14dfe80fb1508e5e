#include "gateway/http/access.hpp"

#include <array>

namespace countylink::http {

namespace bhttp = boost::beast::http;
using audit::EventType;
using auth::Access;

namespace {

enum class Match { exact, prefix, suffix_of_prefix };

struct Row {
    bhttp::verb method;  // GET also covers HEAD; unknown: any method
    Match match;
    std::string_view path;    // exact path, or prefix
    std::string_view suffix;  // Match::suffix_of_prefix: prefix ... suffix
    Access access;
    EventType event;
};

// First match wins; order the specific before the general.
constexpr std::array kRows{
    Row{bhttp::verb::get, Match::exact, "/healthz", {}, Access::open, EventType::query},
    Row{bhttp::verb::get, Match::exact, "/readyz", {}, Access::open, EventType::query},
    Row{bhttp::verb::get, Match::exact, "/metrics", {}, Access::ops, EventType::query},
    Row{bhttp::verb::post,
        Match::prefix,
        "/dicomweb/studies",
        {},
        Access::upload,
        EventType::store},
    Row{bhttp::verb::get, Match::prefix, "/dicomweb/", {}, Access::read, EventType::retrieve},
    Row{bhttp::verb::get,
        Match::exact,
        "/api/v1/queues",
        {},
        Access::queue_summary,
        EventType::query},
    Row{bhttp::verb::get, Match::suffix_of_prefix, "/api/v1/queues/", "/items", Access::read,
        EventType::query},
    Row{bhttp::verb::post, Match::suffix_of_prefix, "/api/v1/items/", "/complete", Access::read,
        EventType::complete},
    Row{bhttp::verb::post, Match::prefix, "/api/v1/items/", {}, Access::read, EventType::claim},
    Row{bhttp::verb::get, Match::prefix, "/api/v1/items/", {}, Access::read, EventType::retrieve},
    Row{bhttp::verb::get,
        Match::prefix,
        "/api/v1/instances/",
        {},
        Access::read,
        EventType::retrieve},
    Row{bhttp::verb::post, Match::exact, "/api/v1/ecg", {}, Access::upload, EventType::store},
    Row{bhttp::verb::get, Match::prefix, "/api/v1/ecg/", {}, Access::read, EventType::retrieve},
    Row{bhttp::verb::get, Match::exact, "/api/v1/quarantine", {}, Access::admin, EventType::query},
    // The request is audited as a query; each study it removes as a purge, by the handler.
    Row{bhttp::verb::unknown, Match::prefix, "/api/v1/admin/", {}, Access::admin, EventType::query},
};

bool matches(const Row& row, bhttp::verb method, std::string_view path) {
    const bhttp::verb m = method == bhttp::verb::head ? bhttp::verb::get : method;
    if (row.method != bhttp::verb::unknown && row.method != m) return false;
    switch (row.match) {
        case Match::exact:
            return path == row.path;
        case Match::prefix:
            return path.starts_with(row.path);
        case Match::suffix_of_prefix:
            return path.size() > row.path.size() + row.suffix.size() &&
                   path.starts_with(row.path) && path.ends_with(row.suffix);
    }
    return false;
}

}  // namespace

Endpoint endpoint_for(bhttp::verb method, std::string_view path, const config::HttpSettings& http) {
    for (const Row& row : kRows) {
        if (!matches(row, method, path)) continue;
        Endpoint e{row.access, row.event, row.access != Access::open};
        if (path == "/metrics") {
            e.audited = false;  // no patient data, scraped every few seconds
            if (http.public_metrics) e.access = Access::open;
        }
        return e;
    }
    if (path.starts_with("/api/") || path.starts_with("/dicomweb/")) return {};
    return Endpoint{Access::open, EventType::query, false};
}

}  // namespace countylink::http
