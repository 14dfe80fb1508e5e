// STOW-RS (PS3.18 10.5): POST /dicomweb/studies[/{study}] with multipart/related;
// type="application/dicom". The body streams through Content-Encoding decoding and the
// multipart parser into spool files; each part then takes the same validate -> store -> route
// path as a C-STORE. The answer lists stored and failed instances with reasons.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <string>

#include "gateway/auth/authenticator.hpp"
#include "gateway/http/access.hpp"
#include "gateway/http/http_stream.hpp"
#include "gateway/http/responses.hpp"
#include "gateway/server/context.hpp"

namespace countylink::http {

using HeaderParser = boost::beast::http::request_parser<boost::beast::http::empty_body>;

// Reads the body of the request whose header `header` holds, stores its parts, and returns
// the STOW-RS response (200 all stored, 202 some failed, 409 none stored, 400/413/415).
// An uploader's objects are recorded as its township's; each part is audited as a store.
boost::asio::awaitable<Response> handle_stow(HttpStream& stream, boost::beast::flat_buffer& buffer,
                                             HeaderParser& header, std::string study_uid,
                                             Caller& caller, server::Context& ctx);

}  // namespace countylink::http
