#include "gateway/http/responses.hpp"

#include <ctime>

namespace countylink::http {

namespace bhttp = boost::beast::http;

Response text_response(const Request& req, bhttp::status status, std::string body,
                       std::string content_type) {
    Response res{status, req.version()};
    res.set(bhttp::field::server, "countylinkd");
    res.set(bhttp::field::content_type, content_type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

Response json_response(const Request& req, bhttp::status status, const boost::json::value& body) {
    return text_response(req, status, boost::json::serialize(body) + "\n", "application/json");
}

Response json_error(const Request& req, bhttp::status status, std::string message) {
    return json_response(req, status, boost::json::object{{"error", std::move(message)}});
}

std::string_view query_of(std::string_view target) {
    const auto qmark = target.find('?');
    return qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
}

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == key) {
            return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

boost::json::value iso_time(int64_t unix_ms) {
    if (unix_ms == 0) return nullptr;
    const std::time_t t = unix_ms / 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[40];
    const std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(out + n, sizeof out - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
    return boost::json::string(out);
}

}  // namespace countylink::http
