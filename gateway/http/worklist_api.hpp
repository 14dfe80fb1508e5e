// The worklist API (JSON): queues, items, and the claim / renew / release / complete cycle.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string_view>

#include "gateway/auth/authenticator.hpp"
#include "gateway/http/access.hpp"
#include "gateway/http/responses.hpp"
#include "gateway/server/context.hpp"

namespace countylink::http {

// Answers requests under /api/v1/queues and /api/v1/items; nullopt for any other path.
// A reader sees only its queues: other queues and their items answer 404. Fills in the
// caller's audit entry (queue, item, study).
boost::asio::awaitable<std::optional<Response>> handle_worklist(const Request& req,
                                                                std::string_view path,
                                                                Caller& caller,
                                                                server::Context& ctx);

// Records turnaround and SLA metrics for items that a tick just queued.
void observe_queued(const std::vector<queue::Item>& items, metrics::GatewayMetrics& metrics);

}  // namespace countylink::http
