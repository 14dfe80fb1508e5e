// The ECG API: POST /api/v1/ecg takes a recording in any supported format and answers at once
// with the quality gate's verdict; GET /api/v1/ecg/{id} and /api/v1/ecg/{id}/waveform give
// the verdict and the waveform (JSON, for viewers) of a stored ECG.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <string_view>

#include "gateway/http/access.hpp"
#include "gateway/http/responses.hpp"
#include "gateway/server/context.hpp"

namespace countylink::http {

// Largest ECG file accepted by POST /api/v1/ecg (a 24-hour 12-lead Holter file is ~200 MiB and
// goes by C-STORE as an Ambulatory ECG instead).
inline constexpr std::size_t kMaxEcgUploadBytes = 64u << 20;

// Answers requests under /api/v1/ecg (access already checked, see access.cpp); nullopt for any
// other path. Uploads are attributed to the uploader's township; readers see only the ECGs of
// their queues (others are 404); `caller.audit` is filled with what was touched.
boost::asio::awaitable<std::optional<Response>> handle_ecg(const Request& req,
                                                           std::string_view path, Caller& caller,
                                                           server::Context& ctx);

}  // namespace countylink::http
