#include "gateway/forward/stow_client.hpp"

#include <map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "gateway/server/run_on.hpp"

namespace countylink::forward {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr std::string_view kBoundary = "countylink-forward-boundary";

std::string first_uid(const json::object& item, const char* tag) {
    const auto* attr = item.if_contains(tag);
    if (!attr || !attr->is_object()) return {};
    const auto* value = attr->as_object().if_contains("Value");
    if (!value || !value->is_array() || value->as_array().empty()) return {};
    const auto& v = value->as_array()[0];
    return v.is_string() ? std::string(v.as_string()) : std::string();
}

int64_t first_int(const json::object& item, const char* tag) {
    const auto* attr = item.if_contains(tag);
    if (!attr || !attr->is_object()) return -1;
    const auto* value = attr->as_object().if_contains("Value");
    if (!value || !value->is_array() || value->as_array().empty()) return -1;
    const auto& v = value->as_array()[0];
    return v.is_int64() ? v.as_int64() : v.is_uint64() ? static_cast<int64_t>(v.as_uint64()) : -1;
}

// Per-instance outcomes from a STOW-RS response body, in the order of `objects`. A plain
// function on purpose: GCC 12 miscompiles brace-initialised temporaries inside coroutines.
std::vector<dicom::SendResult> outcomes_from(const std::string& response,
                                             const std::vector<dicom::OutgoingObject>& objects) {
    std::map<std::string, dicom::SendResult> by_uid;
    boost::system::error_code ec;
    const json::value body = json::parse(response, ec);
    auto items = [&](const char* tag) -> const json::array* {
        if (ec || !body.is_object()) return nullptr;
        const auto* seq = body.as_object().if_contains(tag);
        if (!seq || !seq->is_object()) return nullptr;
        const auto* v = seq->as_object().if_contains("Value");
        return v && v->is_array() ? &v->as_array() : nullptr;
    };
    if (const auto* referenced = items("00081199")) {
        for (const auto& item : *referenced) {
            if (item.is_object())
                by_uid[first_uid(item.as_object(), "00081155")] = {true, 0, {}, false, {}};
        }
    }
    if (const auto* failed = items("00081198")) {
        for (const auto& item : *failed) {
            if (!item.is_object()) continue;
            const auto& io = item.as_object();
            const auto reason = static_cast<uint16_t>(first_int(io, "00081197"));
            const std::string comment = first_uid(io, "00000902");
            by_uid[first_uid(io, "00081155")] = {true,
                                                 reason,
                                                 "STOW-RS failure reason " +
                                                     std::to_string(reason) +
                                                     (comment.empty() ? "" : ": " + comment),
                                                 (reason & 0xFF00) != 0xA700,
                                                 {}};
        }
    }
    std::vector<dicom::SendResult> results;
    for (const auto& o : objects) {
        const auto it = by_uid.find(o.sop_instance_uid);
        results.push_back(
            it != by_uid.end()
                ? it->second
                : dicom::SendResult{false, 0, "not in the STOW-RS response", false, {}});
    }
    return results;
}

}  // namespace

StowPeer stow_peer_from_url(const std::string& url, const std::string& token) {
    constexpr std::string_view kScheme = "http://";
    if (url.rfind(kScheme, 0) != 0) throw std::invalid_argument("STOW-RS URL must be http://");
    std::string rest = url.substr(kScheme.size());
    const auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    std::string path = slash == std::string::npos ? "" : rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.pop_back();
    StowPeer peer;
    const auto colon = authority.find(':');
    peer.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
        peer.port = static_cast<uint16_t>(std::stoi(authority.substr(colon + 1)));
    }
    if (peer.host.empty()) throw std::invalid_argument("STOW-RS URL has no host");
    peer.target = path + "/studies";
    peer.token = token;
    return peer;
}

awaitable<std::vector<dicom::SendResult>> stow_objects(
    asio::any_io_executor executor, asio::thread_pool& workers, const StowPeer& peer,
    std::vector<dicom::OutgoingObject>& objects) {
    if (objects.empty()) co_return std::vector<dicom::SendResult>{};
    beast::tcp_stream stream(executor);
    try {
        asio::ip::tcp::resolver resolver(executor);
        const auto endpoints =
            co_await resolver.async_resolve(peer.host, std::to_string(peer.port), use_awaitable);
        stream.expires_after(peer.timeout);
        co_await stream.async_connect(endpoints, use_awaitable);
    } catch (const std::exception& e) {
        throw dicom::AssociationFailed("cannot connect to " + peer.host + ":" +
                                       std::to_string(peer.port) + ": " + e.what());
    }

    bhttp::request<bhttp::buffer_body> req{bhttp::verb::post, peer.target, 11};
    req.set(bhttp::field::host, peer.host);
    req.set(bhttp::field::user_agent, "countylinkd");
    req.set(bhttp::field::content_type,
            "multipart/related; type=\"application/dicom\"; boundary=" + std::string(kBoundary));
    req.set(bhttp::field::accept, "application/dicom+json");
    if (!peer.token.empty()) req.set(bhttp::field::authorization, "Bearer " + peer.token);
    req.chunked(true);
    req.body().data = nullptr;
    req.body().more = true;
    bhttp::request_serializer<bhttp::buffer_body> sr{req};
    std::string failure;
    try {
        stream.expires_after(peer.timeout);
        co_await bhttp::async_write_header(stream, sr, use_awaitable);
        auto send = [&](std::span<std::byte> data, bool more) -> awaitable<void> {
            req.body().data = data.empty() ? nullptr : data.data();
            req.body().size = data.size();
            req.body().more = more;
            beast::error_code ec;
            stream.expires_after(peer.timeout);
            co_await bhttp::async_write(stream, sr, asio::redirect_error(use_awaitable, ec));
            if (ec == bhttp::error::need_buffer) ec = {};
            if (ec) throw beast::system_error(ec);
        };
        std::vector<std::byte> chunk(1 << 20);
        for (auto& o : objects) {
            std::string head =
                "--" + std::string(kBoundary) + "\r\nContent-Type: application/dicom\r\n\r\n";
            co_await send(std::as_writable_bytes(std::span(head.data(), head.size())), true);
            for (;;) {
                const std::size_t n = co_await server::run_on(
                    workers, [&o, &chunk] { return o.read_dataset(chunk); });
                if (n == 0) break;
                co_await send(std::span(chunk.data(), n), true);
            }
            std::string crlf = "\r\n";
            co_await send(std::as_writable_bytes(std::span(crlf.data(), crlf.size())), true);
        }
        std::string close = "--" + std::string(kBoundary) + "--\r\n";
        co_await send(std::as_writable_bytes(std::span(close.data(), close.size())), true);
        co_await send({}, false);
    } catch (const std::exception& e) {
        failure = std::string("sending the STOW-RS request failed: ") + e.what();
    }
    if (!failure.empty()) throw dicom::AssociationFailed(failure);

    bhttp::response<bhttp::string_body> res;
    beast::flat_buffer buffer;
    try {
        stream.expires_after(peer.timeout);
        co_await bhttp::async_read(stream, buffer, res, use_awaitable);
    } catch (const std::exception& e) {
        failure = std::string("no STOW-RS response: ") + e.what();
    }
    if (!failure.empty()) throw dicom::AssociationFailed(failure);
    const int status = res.result_int();
    if (status != 200 && status != 202 && status != 409) {
        throw dicom::AssociationFailed("STOW-RS answered HTTP " + std::to_string(status) + ": " +
                                       res.body().substr(0, 200));
    }
    co_return outcomes_from(res.body(), objects);
}

}  // namespace countylink::forward
