// One byte stream for both kinds of connection: plain TCP, or TLS over it. Sessions (DICOM
// associations, HTTP connections) are written once against this type; whether a connection is
// encrypted is decided when it is accepted, by the listener it came in on.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/ssl/verify_context.hpp>

#include "gateway/tls/tls_context.hpp"

namespace countylink::tls {

template <typename Next>
class TlsOrPlain {
  public:
    using executor_type = typename Next::executor_type;
    using next_layer_type = Next;

    // A plain connection.
    explicit TlsOrPlain(Next next) : plain_(std::move(next)) {}
    // A TLS connection using `context` (kept alive as long as the connection: a reload of the
    // certificates makes a new context for new connections and leaves this one alone).
    TlsOrPlain(Next next, std::shared_ptr<boost::asio::ssl::context> context)
        : context_(std::move(context)) {
        tls_.emplace(std::move(next), *context_);
    }

    bool is_tls() const { return tls_.has_value(); }
    executor_type get_executor() { return next_layer().get_executor(); }
    Next& next_layer() { return tls_ ? tls_->next_layer() : *plain_; }
    // The OpenSSL connection, for peer certificate checks; nullptr when plain.
    SSL* native_tls() { return tls_ ? tls_->native_handle() : nullptr; }

    // The server side of the TLS handshake; completes at once (no error) when plain.
    template <typename Token>
    auto async_handshake(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) {
                if (tls_) {
                    tls_->async_handshake(boost::asio::ssl::stream_base::server,
                                          std::move(handler));
                } else {
                    auto executor = boost::asio::get_associated_executor(handler, get_executor());
                    boost::asio::post(executor, [h = std::move(handler)]() mutable {
                        std::move(h)(boost::system::error_code{});
                    });
                }
            },
            token);
    }

    template <typename Buffers, typename Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                if (tls_) {
                    tls_->async_read_some(b, std::move(handler));
                } else {
                    plain_->async_read_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

    template <typename Buffers, typename Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                if (tls_) {
                    tls_->async_write_some(b, std::move(handler));
                } else {
                    plain_->async_write_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

    // From now on, keeps the subject of a client certificate the verifier refuses (expired,
    // unknown CA), for the audit trail. Call it where the stream stays: the check refers to it.
    void remember_refused_certificate() {
        if (!tls_) return;
        tls_->set_verify_callback([this](bool ok, boost::asio::ssl::verify_context& v) {
            if (!ok && refused_.empty())
                refused_ = subject_of(X509_STORE_CTX_get0_cert(v.native_handle()));
            return ok;
        });
    }
    const std::string& refused_certificate() const { return refused_; }

    // Synchronous, for a best-effort last word (A-ABORT) on a non-blocking socket.
    template <typename Buffers>
    std::size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
        return tls_ ? tls_->write_some(buffers, ec) : plain_->write_some(buffers, ec);
    }

    // Beast's per-operation timeouts, when Next is a beast::tcp_stream.
    template <typename Duration>
    void expires_after(Duration d) {
        next_layer().expires_after(d);
    }

  private:
    std::shared_ptr<boost::asio::ssl::context> context_;
    std::optional<Next> plain_;
    std::optional<boost::asio::ssl::stream<Next>> tls_;
    std::string refused_;
};

}  // namespace countylink::tls
