// The stream every HTTP handler reads and writes: Beast's TCP stream (with its timeouts), with
// or without TLS, decided by the listener (http.tls).
#pragma once

#include <boost/beast/core/tcp_stream.hpp>

#include "gateway/tls/tls_stream.hpp"

namespace countylink::http {

using HttpStream = tls::TlsOrPlain<boost::beast::tcp_stream>;

}  // namespace countylink::http
