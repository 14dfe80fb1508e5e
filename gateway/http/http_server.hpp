// The HTTP front end (Boost.Beast): health, metrics and the instance/quarantine API.
// One coroutine per connection, keep-alive, bounded request size, per-request timeouts.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>

#include "gateway/server/context.hpp"

namespace countylink::http {

// Accepts connections on `acceptor` and serves each until it closes; `tls` gives the current
// TLS context for each new connection (HTTPS), or is empty for plain HTTP.
boost::asio::awaitable<void> accept_http(
    boost::asio::ip::tcp::acceptor& acceptor, server::Context& context,
    std::function<std::shared_ptr<boost::asio::ssl::context>()> tls = {});

}  // namespace countylink::http
