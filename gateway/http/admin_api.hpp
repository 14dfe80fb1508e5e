// Administration over HTTP (admins only): purging the studies the county is done with while
// the gateway runs, the same rules as `countylinkctl purge` (gateway/store/purge.hpp).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string_view>

#include "gateway/http/access.hpp"
#include "gateway/http/responses.hpp"
#include "gateway/server/context.hpp"

namespace countylink::http {

// POST /api/v1/admin/purge?older_than_days=N[&dry_run=1][&force=1]: lists (dry run) or purges,
// answering a JSON summary; each study removed is audited as `purge` under the caller. Each
// study goes between two group-commit batches, so ingest carries on. nullopt for other paths.
boost::asio::awaitable<std::optional<Response>> handle_admin(const Request& req,
                                                             std::string_view path, Caller& caller,
                                                             server::Context& ctx);

}  // namespace countylink::http
