#include "gateway/http/http_server.hpp"

#include <utility>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "gateway/http/access.hpp"
#include "gateway/http/admin_api.hpp"
#include "gateway/http/dicomweb.hpp"
#include "gateway/http/ecg_api.hpp"
#include "gateway/http/http_stream.hpp"
#include "gateway/http/responses.hpp"
#include "gateway/http/stow.hpp"
#include "gateway/http/worklist_api.hpp"
#include "gateway/server/run_on.hpp"
#include "gateway/tls/tls_context.hpp"

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
    HttpSession(asio::ip::tcp::socket socket, server::Context& ctx,
                std::shared_ptr<asio::ssl::context> tls)
        : stream_(make_stream(std::move(socket), std::move(tls))), ctx_(ctx) {
        beast::error_code ec;
        const auto remote = stream_.next_layer().socket().remote_endpoint(ec);
        address_ = ec ? "?" : remote.address().to_string();
    }

    asio::any_io_executor executor() { return stream_.get_executor(); }

    awaitable<void> run() {
        if (!co_await handshake()) co_return;
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
                // Up to 64 MiB bodies are read only for callers allowed to upload.
                if (ecg_upload && co_await refused_before_body(header, "/api/v1/ecg")) break;
                bhttp::request_parser<bhttp::string_body> parser{std::move(header)};
                parser.body_limit(ecg_upload ? kMaxEcgUploadBytes : 1 << 20);
                co_await bhttp::async_read(stream_, buffer, parser,
                                           asio::redirect_error(use_awaitable, ec));
                if (ec) break;
                co_await route(parser.get());
            }
            if (!keep_alive || closing_) break;
        }
        beast::error_code ec;
        stream_.next_layer().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    }

  private:
    static tls::TlsOrPlain<beast::tcp_stream> make_stream(asio::ip::tcp::socket socket,
                                                          std::shared_ptr<asio::ssl::context> tls) {
        if (tls) return HttpStream(beast::tcp_stream(std::move(socket)), std::move(tls));
        return HttpStream(beast::tcp_stream(std::move(socket)));
    }

    // HTTPS: the handshake, and the client certificate if one was sent (verified against
    // tls.ca; its CN may name a principal). A refused handshake is audited.
    awaitable<bool> handshake() {
        if (!stream_.is_tls()) co_return true;
        stream_.expires_after(std::chrono::seconds(30));
        beast::error_code ec;
        stream_.remember_refused_certificate();
        co_await stream_.async_handshake(asio::redirect_error(use_awaitable, ec));
        if (!ec) {
            certificate_ = tls::peer_certificate(stream_.native_tls());
            co_return true;
        }
        audit::Event e = blank_event();
        e.type = audit::EventType::refusal;
        e.outcome = audit::Outcome::serious_failure;
        e.description =
            "TLS handshake refused: " +
            tls::handshake_failure(stream_.native_tls(), ec, stream_.refused_certificate());
        ctx_.metrics.refusals_total.with({"tls_handshake"}).inc();
        ctx_.audit.record(e);
        co_return false;
    }

    audit::Event blank_event() const {
        audit::Event e;
        e.address = address_;
        e.certificate = certificate_.subject;
        e.destination = "HTTP";
        return e;
    }

    awaitable<void> write(Caller* caller, bhttp::response<bhttp::string_body> res) {
        if (caller) caller->status = static_cast<int>(res.result_int());
        stream_.expires_after(kRequestTimeout);
        co_await bhttp::async_write(stream_, res, use_awaitable);
    }

    // Credentials: a bearer token, else a verified client certificate whose CN is a principal.
    std::optional<auth::Principal> identify(std::string_view authorization) const {
        if (!authorization.empty()) return ctx_.auth.authenticate(authorization);
        auto who = ctx_.auth.by_certificate(certificate_.common_name);
        if (who) who->certificate = certificate_.subject;
        return who;
    }

    // The one place access is checked (see access.cpp for what each endpoint needs). Returns
    // the caller, or the 401/403 to answer (already audited).
    std::variant<Caller, Response> authorize(const Request& head, std::string_view path,
                                             const Endpoint& endpoint) const {
        Caller caller;
        caller.audit = blank_event();
        caller.audit.type = endpoint.event;
        if (endpoint.access == auth::Access::open) return caller;
        const auto header = head[bhttp::field::authorization];
        const auto who = identify(std::string_view(header.data(), header.size()));
        if (!who) {
            audit::Event e = caller.audit;
            e.type = audit::EventType::login_failure;
            e.outcome = audit::Outcome::minor_failure;
            e.description = std::string(header.empty() ? "no credentials" : "unknown token") +
                            " for " + std::string(path);
            ctx_.audit.record(e);
            auto res = json_error(head, bhttp::status::unauthorized,
                                  header.empty() && certificate_.subject.empty()
                                      ? "authentication required: send 'Authorization: Bearer "
                                        "<token>' (or a client certificate over HTTPS)"
                                      : "unknown bearer token or client certificate");
            res.set(bhttp::field::www_authenticate, "Bearer");
            return res;
        }
        caller.who = *who;
        caller.audit.user = who->name;
        caller.audit.role = config::role_name(who->role);
        caller.audit.township = who->township;
        if (!who->allows(endpoint.access)) {
            audit::Event e = caller.audit;
            e.type = audit::EventType::refusal;
            e.outcome = audit::Outcome::minor_failure;
            e.description = "role " + caller.audit.role + " may not " +
                            std::string(bhttp::to_string(head.method())) + " " + std::string(path);
            ctx_.audit.record(e);
            return json_error(head, bhttp::status::forbidden,
                              "forbidden: principal '" + who->name + "' has role " +
                                  caller.audit.role + ", which may not " +
                                  std::string(bhttp::to_string(head.method())) + " " +
                                  std::string(path));
        }
        return caller;
    }

    // One audit entry per audited request, with the outcome its status says.
    void audit_request(const Endpoint& endpoint, Caller& caller) {
        if (!endpoint.audited) return;
        const int status = caller.status;
        caller.audit.outcome = status < 400   ? audit::Outcome::success
                               : status < 500 ? audit::Outcome::minor_failure
                                              : audit::Outcome::serious_failure;
        if (status >= 400) caller.audit.description = "HTTP " + std::to_string(status);
        ctx_.audit.record(caller.audit);
    }

    static constexpr std::string_view kStudies = "/dicomweb/studies";

    // The header of a request with a large body, as a body-less request for authorize().
    static Request head_of(const HeaderParser& header) {
        Request head;
        head.version(header.get().version());
        head.keep_alive(header.get().keep_alive());
        for (const auto& field : header.get()) head.set(field.name_string(), field.value());
        head.method(header.get().method());
        return head;
    }

    // Answers 401/403 before a large body is read; true when refused (the connection closes).
    awaitable<bool> refused_before_body(const HeaderParser& header, std::string_view path) {
        const Request head = head_of(header);
        auto decision =
            authorize(head, path, endpoint_for(header.get().method(), path, ctx_.config.http));
        auto* denied = std::get_if<Response>(&decision);
        if (!denied) co_return false;
        denied->keep_alive(false);
        closing_ = true;
        co_await write(nullptr, std::move(*denied));
        co_return true;
    }

    awaitable<void> stow(beast::flat_buffer& buffer, HeaderParser& header,
                         const std::string& target) {
        const Request reply_to = head_of(header);
        std::string path = target.substr(0, target.find('?'));
        const Endpoint endpoint = endpoint_for(bhttp::verb::post, path, ctx_.config.http);
        auto decision = authorize(reply_to, path, endpoint);
        if (auto* denied = std::get_if<Response>(&decision)) {
            // Refused before reading a (possibly huge) body; the connection closes after this.
            denied->keep_alive(false);
            closing_ = true;
            co_return co_await write(nullptr, std::move(*denied));
        }
        Caller& caller = std::get<Caller>(decision);
        std::string study;
        if (path.size() > kStudies.size() + 1 && path[kStudies.size()] == '/') {
            study = path.substr(kStudies.size() + 1);
        } else if (path != kStudies) {
            auto res = json_error(reply_to, bhttp::status::not_found, "no such resource");
            res.keep_alive(false);
            closing_ = true;
            co_return co_await write(nullptr, std::move(res));
        }
        // Each part is audited as a store by handle_stow.
        co_await write(&caller, co_await handle_stow(stream_, buffer, header, study, caller, ctx_));
    }

    awaitable<void> route(const Request& req) {
        const std::string_view target(req.target().data(), req.target().size());
        const std::string_view path = target.substr(0, target.find('?'));
        const bool get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
        const Endpoint endpoint = endpoint_for(req.method(), path, ctx_.config.http);
        auto decision = authorize(req, path, endpoint);
        if (auto* denied = std::get_if<Response>(&decision)) {
            co_return co_await write(nullptr, std::move(*denied));
        }
        Caller& caller = std::get<Caller>(decision);
        co_await dispatch(req, path, get, caller);
        audit_request(endpoint, caller);
    }

    awaitable<void> dispatch(const Request& req, std::string_view path, bool get, Caller& caller) {
        if (path == "/healthz" && get) {
            co_return co_await write(&caller, text_response(req, bhttp::status::ok, "ok\n"));
        }
        if (path == "/readyz" && get) {
            if (ctx_.health.ready()) {
                co_return co_await write(&caller, text_response(req, bhttp::status::ok, "ready\n"));
            }
            co_return co_await write(&caller,
                                     text_response(req, bhttp::status::service_unavailable,
                                                   "not ready: " + ctx_.health.reason() + "\n"));
        }
        if (path == "/metrics" && get) {
            co_return co_await write(&caller,
                                     text_response(req, bhttp::status::ok, ctx_.registry.expose(),
                                                   "text/plain; version=0.0.4; charset=utf-8"));
        }
        if (!path.starts_with("/api/") && !path.starts_with("/dicomweb/")) {
            co_return co_await write(&caller,
                                     json_error(req, bhttp::status::not_found, "no such resource"));
        }
        if (path.starts_with("/dicomweb/") &&
            co_await serve_dicomweb(stream_, req, path, caller, ctx_)) {
            co_return;
        }
        if (auto res = co_await handle_worklist(req, path, caller, ctx_)) {
            co_return co_await write(&caller, std::move(*res));
        }
        if (auto res = co_await handle_ecg(req, path, caller, ctx_)) {
            co_return co_await write(&caller, std::move(*res));
        }
        if (auto res = co_await handle_admin(req, path, caller, ctx_)) {
            co_return co_await write(&caller, std::move(*res));
        }
        if (path == "/api/v1/quarantine" && get) {
            auto& index = ctx_.index;
            auto rows =
                co_await server::run_on(ctx_.workers, [&index] { return index.quarantine(1000); });
            co_return co_await write(&caller,
                                     json_response(req, bhttp::status::ok, quarantine_json(rows)));
        }
        constexpr std::string_view kInstances = "/api/v1/instances/";
        if (path.starts_with(kInstances) && path.size() > kInstances.size() && get) {
            co_return co_await send_instance(req, std::string(path.substr(kInstances.size())),
                                             caller);
        }
        co_await write(&caller, json_error(req, bhttp::status::not_found, "no such resource"));
    }

    // Streams the stored object, decompressing chunk by chunk on the worker pool.
    awaitable<void> send_instance(const Request& req, std::string uid, Caller& caller) {
        auto& index = ctx_.index;
        auto& queues = ctx_.queues;
        auto row = co_await server::run_on(ctx_.workers,
                                           [&index, &uid] { return index.latest_instance(uid); });
        caller.audit.sop_instance_uids.push_back(uid);
        bool visible = false;
        if (row) {
            const auth::Principal& who = caller.who;
            const std::string& study = row->record.study_instance_uid;
            caller.audit.study_instance_uid = study;
            visible = co_await server::run_on(ctx_.workers, [&who, &queues, &study] {
                return study_visible(who, queues, study);
            });
        }
        if (!row || !visible) {  // another county's instance is as absent as a missing one
            co_return co_await write(&caller, json_error(req, bhttp::status::not_found,
                                                         "no instance with this SOP Instance UID"));
        }
        store::BlobReader reader = ctx_.blobs.open(row->record.sha256);

        bhttp::response<bhttp::buffer_body> res{bhttp::status::ok, req.version()};
        caller.status = 200;
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

    HttpStream stream_;
    server::Context& ctx_;
    std::string address_;
    tls::PeerCertificate certificate_;
    bool closing_ = false;  // an answer sent before its request's body was read
};

}  // namespace

awaitable<void> accept_http(asio::ip::tcp::acceptor& acceptor, server::Context& context,
                            std::function<std::shared_ptr<asio::ssl::context>()> tls) {
    for (;;) {
        beast::error_code ec;
        auto socket = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()),
                                                     asio::redirect_error(use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;
        auto session =
            std::make_shared<HttpSession>(std::move(socket), context, tls ? tls() : nullptr);
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
