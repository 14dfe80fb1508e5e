// Building HTTP responses: plain text, JSON, and JSON errors ({"error": "..."}).
#pragma once

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace countylink::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

Response text_response(const Request& req, boost::beast::http::status status, std::string body,
                       std::string content_type = "text/plain");
Response json_response(const Request& req, boost::beast::http::status status,
                       const boost::json::value& body);
Response json_error(const Request& req, boost::beast::http::status status, std::string message);

// The query string of a request target ("a=1&b=2" of "/x?a=1&b=2"); empty when none.
std::string_view query_of(std::string_view target);

// The value of `key` in a query string, if present (no percent-decoding: our keys and values
// are UIDs, dates, names and numbers).
std::optional<std::string> query_param(std::string_view query, std::string_view key);

// Unix milliseconds as ISO 8601 UTC ("2026-11-23T05:00:00.000Z"); null for 0.
boost::json::value iso_time(int64_t unix_ms);

}  // namespace countylink::http
