// DICOMweb reads (PS3.18): QIDO-RS searches over the index (studies, series, instances;
// application/dicom+json) and WADO-RS retrieval (multipart/related; type="application/dicom",
// streamed from the zstd blobs) and metadata (application/dicom+json, bulk data by URI).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "gateway/http/access.hpp"
#include "gateway/http/http_stream.hpp"
#include "gateway/http/responses.hpp"
#include "gateway/server/context.hpp"

namespace countylink::http {

// Serves GET /dicomweb/...; returns false (having written nothing) for other paths. Studies
// the caller may not see (study_visible) are left out of searches and answer 404 to retrieval.
boost::asio::awaitable<bool> serve_dicomweb(HttpStream& stream, const Request& req,
                                            std::string_view path, Caller& caller,
                                            server::Context& ctx);

}  // namespace countylink::http
