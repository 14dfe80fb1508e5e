// The one table of who may call what: every HTTP endpoint declares the access it needs here,
// and the session checks it (401 without credentials, 403 for a role without it) before any
// handler runs. A new endpoint adds one row in access.cpp.
#pragma once

#include <string_view>

#include <boost/beast/http/verb.hpp>

#include "config/config.hpp"
#include "gateway/audit/audit_log.hpp"
#include "gateway/auth/authenticator.hpp"
#include "gateway/query/visibility.hpp"
#include "gateway/queue/reading_queues.hpp"

namespace countylink::http {

struct Endpoint {
    auth::Access access = auth::Access::authenticated;
    audit::EventType event = audit::EventType::query;  // what a call is in the audit trail
    bool audited = false;                              // health and metrics are not
};

// The endpoint `method path` falls under. Paths nobody declared need only a principal (and then
// answer 404), except outside /api/ and /dicomweb/, which answer 404 to anyone (open).
Endpoint endpoint_for(boost::beast::http::verb method, std::string_view path,
                      const config::HttpSettings& http);

// One authorised request: who is calling, and the audit entry its handler fills in (objects
// touched); the session adds the outcome from `status` and records it.
struct Caller {
    auth::Principal who;
    audit::Event audit;
    int status = 0;  // the HTTP status answered, set by whoever writes the response
};

using query::study_visible;

}  // namespace countylink::http
