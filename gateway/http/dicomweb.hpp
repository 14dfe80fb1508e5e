// DICOMweb reads (PS3.18): QIDO-RS searches over the index (studies, series, instances;
// application/dicom+json) and WADO-RS retrieval (multipart/related; type="application/dicom",
// streamed from the zstd blobs) and metadata (application/dicom+json, bulk data by URI).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <string_view>

#include "gateway/http/responses.hpp"
#include "gateway/server/context.hpp"

namespace countylink::http {

// Serves GET /dicomweb/...; returns false (having written nothing) for other paths.
boost::asio::awaitable<bool> serve_dicomweb(boost::beast::tcp_stream& stream, const Request& req,
                                            std::string_view path, server::Context& ctx);

}  // namespace countylink::http
