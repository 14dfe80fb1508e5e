#include "gateway/query/visibility.hpp"

namespace countylink::query {

bool study_visible(const auth::Principal& who, queue::ReadingQueues& queues,
                   const std::string& study_uid) {
    if (who.reads_all_queues()) return true;
    if (who.role != config::Role::reader) return false;
    for (const auto& q : queues.study_queues(study_uid)) {
        if (who.reads_queue(q)) return true;
    }
    return false;
}

}  // namespace countylink::query
