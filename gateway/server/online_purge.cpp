#include "gateway/server/online_purge.hpp"

#include <filesystem>

namespace countylink::server {

store::PurgeTotals purge_online(Context& ctx, const store::PurgePlan& plan,
                                const store::Purger& purger) {
    return store::carry_out_purge(
        ctx.index, ctx.blobs, std::filesystem::path(ctx.config.storage.data_dir) / "quarantine",
        plan, ctx.audit, purger,
        [&ctx](const std::function<void()>& step) { ctx.commits.exclusive(step); },
        [](const store::PurgeCandidate&, bool, const store::PurgeTotals&) {});
}

}  // namespace countylink::server
