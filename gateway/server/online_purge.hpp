// A purge while the server runs (the admin API, the nightly retention): each study removed
// between two group-commit batches, so no commit is checked or recorded meanwhile.
#pragma once

#include "gateway/server/context.hpp"
#include "gateway/store/purge.hpp"

namespace countylink::server {

// Carries `plan` out on the running server; blocking (run it on the workers).
store::PurgeTotals purge_online(Context& ctx, const store::PurgePlan& plan,
                                const store::Purger& purger);

}  // namespace countylink::server
