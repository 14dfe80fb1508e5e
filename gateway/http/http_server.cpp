#include "gateway/http/http_server.hpp"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "gateway/http/dicomweb.hpp"
#include "gateway/http/ecg_api.hpp"
#include "gateway/http/responses.hpp"
#include "gateway/http/stow.hpp"
#include "gateway/http/worklist_api.hpp"
#include "gateway/server/run_on.hpp"

namespace countylink::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(60);
constexpr std::size_t kChunk = 1 << 20;

json::value quarantine_json(const std::vector<store::QuarantineRow>& rows) {
    json::array items;
    for (const auto& row : rows) {
        const auto& q = row.record;
        char status[8];
        std::snprintf(status, sizeof status, "0x%04X", q.status);
        items.push_back(json::object{{"id", row.id},
                                     {"file", q.file},
                                     {"sop_instance_uid", q.sop_instance_uid},
                                     {"sop_class_uid", q.sop_class_uid},
                                     {"township", q.township},
                                     {"calling_ae", q.calling_ae},
                                     {"received_at_ms", q.received_at_ms},
                                     {"status", status},
                                     {"finding", q.finding},
                                     {"reason", q.reason},
                                     {"size", q.size}});
    }
    return json::object{{"items", std::move(items)}};
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(asio::ip::tcp::socket socket, server::Context& ctx)
        : stream_(std::move(socket)), ctx_(ctx) {}

    asio::any_io_executor executor() { return stream_.get_executor(); }

    awaitable<void> run() {
        beast::flat_buffer buffer;
        for (;;) {
            // The header first: STOW-RS bodies stream, everything else is small.
            HeaderParser header;
            header.header_limit(64 * 1024);
            stream_.expires_after(kRequestTimeout);
            beast::error_code ec;
            co_await bhttp::async_read_header(stream_, buffer, header,
                                              asio::redirect_error(use_awaitable, ec));
            if (ec) break;  // closed, timed out or malformed: nothing more to say
            const bool keep_alive = header.get().keep_alive();
            const std::string target(header.get().target());
            if (header.get().method() == bhttp::verb::post && target.starts_with(kStudies)) {
                co_await stow(buffer, header, target);
            } else {
                const bool ecg_upload = header.get().method() == bhttp::verb::post &&
                                        target.substr(0, target.find('?')) == "/api/v1/ecg";
                bhttp::request_parser<bhttp::string_body> parser{std::move(header)};
                parser.body_limit(ecg_upload ? kMaxEcgUploadBytes : 1 << 20);
                co_await bhttp::async_read(stream_, buffer, parser,
                                           asio::redirect_error(use_awaitable, ec));
                if (ec) break;
                co_await route(parser.get());
            }
            if (!keep_alive) break;
        }
        beast::error_code ec;
        stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    }

  private:
    awaitable<void> write(bhttp::response<bhttp::string_body> res) {
        stream_.expires_after(kRequestTimeout);
        co_await bhttp::async_write(stream_, res, use_awaitable);
    }

    static constexpr std::string_view kStudies = "/dicomweb/studies";

    awaitable<void> stow(beast::flat_buffer& buffer, HeaderParser& header,
                         const std::string& target) {
        Request reply_to;
        reply_to.version(header.get().version());
        reply_to.keep_alive(header.get().keep_alive());
        const auto auth_header = header.get()[bhttp::field::authorization];
        const auto who =
            ctx_.auth.authenticate(std::string_view(auth_header.data(), auth_header.size()));
        if (!who) {
            // Refuse before reading a (possibly huge) body; the connection closes after this.
            auto res = json_error(reply_to, bhttp::status::unauthorized,
                                  "missing or unknown bearer token (Authorization: Bearer ...)");
            res.keep_alive(false);
            co_return co_await write(std::move(res));
        }
        std::string path = target.substr(0, target.find('?'));
        std::string study;
        if (path.size() > kStudies.size() + 1 && path[kStudies.size()] == '/') {
            study = path.substr(kStudies.size() + 1);
        } else if (path != kStudies) {
            auto res = json_error(reply_to, bhttp::status::not_found, "no such resource");
            res.keep_alive(false);
            co_return co_await write(std::move(res));
        }
        co_await write(co_await handle_stow(stream_, buffer, header, study, *who, ctx_));
    }

    awaitable<void> route(const Request& req) {
        const std::string_view target(req.target().data(), req.target().size());
        const std::string_view path = target.substr(0, target.find('?'));
        const bool get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
        // Health and metrics are open: probes and Prometheus carry no token.
        if (path == "/healthz" && get) {
            co_return co_await write(text_response(req, bhttp::status::ok, "ok\n"));
        }
        if (path == "/readyz" && get) {
            if (ctx_.health.ready()) {
                co_return co_await write(text_response(req, bhttp::status::ok, "ready\n"));
            }
            co_return co_await write(text_response(req, bhttp::status::service_unavailable,
                                                   "not ready: " + ctx_.health.reason() + "\n"));
        }
        if (path == "/metrics" && get) {
            co_return co_await write(text_response(req, bhttp::status::ok, ctx_.registry.expose(),
                                                   "text/plain; version=0.0.4; charset=utf-8"));
        }
        if (!path.starts_with("/api/") && !path.starts_with("/dicomweb/")) {
            co_return co_await write(json_error(req, bhttp::status::not_found, "no such resource"));
        }
        const auto header = req[bhttp::field::authorization];
        const auto who = ctx_.auth.authenticate(std::string_view(header.data(), header.size()));
        if (!who) {
            auto res = json_error(req, bhttp::status::unauthorized,
                                  "missing or unknown bearer token (Authorization: Bearer ...)");
            res.set(bhttp::field::www_authenticate, "Bearer");
            co_return co_await write(std::move(res));
        }
        if (path.starts_with("/dicomweb/") && co_await serve_dicomweb(stream_, req, path, ctx_)) {
            co_return;
        }
        if (auto res = co_await handle_worklist(req, path, *who, ctx_)) {
            co_return co_await write(std::move(*res));
        }
        if (auto res = co_await handle_ecg(req, path, *who, ctx_)) {
            co_return co_await write(std::move(*res));
        }
        if (path == "/api/v1/quarantine" && get) {
            auto& index = ctx_.index;
            auto rows =
                co_await server::run_on(ctx_.workers, [&index] { return index.quarantine(1000); });
            co_return co_await write(json_response(req, bhttp::status::ok, quarantine_json(rows)));
        }
        constexpr std::string_view kInstances = "/api/v1/instances/";
        if (path.starts_with(kInstances) && path.size() > kInstances.size() && get) {
            co_return co_await send_instance(req, std::string(path.substr(kInstances.size())));
        }
        co_await write(json_error(req, bhttp::status::not_found, "no such resource"));
    }

    // Streams the stored object, decompressing chunk by chunk on the worker pool.
    awaitable<void> send_instance(const Request& req, std::string uid) {
        auto& index = ctx_.index;
        auto row = co_await server::run_on(ctx_.workers,
                                           [&index, &uid] { return index.latest_instance(uid); });
        if (!row) {
            co_return co_await write(json_error(req, bhttp::status::not_found,
                                                "no instance with this SOP Instance UID"));
        }
        store::BlobReader reader = ctx_.blobs.open(row->record.sha256);

        bhttp::response<bhttp::buffer_body> res{bhttp::status::ok, req.version()};
        res.set(bhttp::field::server, "countylinkd");
        res.set(bhttp::field::content_type, "application/dicom");
        res.set(bhttp::field::content_disposition, "attachment; filename=\"" + uid + ".dcm\"");
        res.keep_alive(req.keep_alive());
        res.content_length(row->record.raw_size);
        res.body().data = nullptr;
        res.body().more = true;
        bhttp::response_serializer<bhttp::buffer_body> serializer{res};
        stream_.expires_after(kRequestTimeout);
        co_await bhttp::async_write_header(stream_, serializer, use_awaitable);
        if (req.method() == bhttp::verb::head) co_return;

        std::vector<std::byte> chunk(kChunk);
        uint64_t sent = 0;
        for (;;) {
            const std::size_t n = co_await server::run_on(
                ctx_.workers, [&reader, &chunk] { return reader.read(chunk); });
            sent += n;
            if (n == 0 && sent != row->record.raw_size) {
                throw std::runtime_error("blob shorter than its index entry");
            }
            res.body().data = n ? chunk.data() : nullptr;
            res.body().size = n;
            res.body().more = n != 0;
            beast::error_code ec;
            stream_.expires_after(kRequestTimeout);
            co_await bhttp::async_write(stream_, serializer,
                                        asio::redirect_error(use_awaitable, ec));
            if (ec == bhttp::error::need_buffer) ec = {};
            if (ec) throw beast::system_error(ec);
            if (n == 0) break;
        }
    }

    beast::tcp_stream stream_;
    server::Context& ctx_;
};

}  // namespace

awaitable<void> accept_http(asio::ip::tcp::acceptor& acceptor, server::Context& context) {
    for (;;) {
        beast::error_code ec;
        auto socket = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()),
                                                     asio::redirect_error(use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;
        auto session = std::make_shared<HttpSession>(std::move(socket), context);
        asio::co_spawn(
            session->executor(), [session]() { return session->run(); },
            [&context](std::exception_ptr e) {
                if (!e) return;
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    context.log.warn("http connection ended: ", ex.what());
                }
            });
    }
}

}  // namespace countylink::http
