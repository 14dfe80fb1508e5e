#include "gateway/query/visibility.hpp"

#include <map>
#include <memory>

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

Visible visible_to(auth::Principal who, queue::ReadingQueues& queues) {
    auto seen = std::make_shared<std::map<std::string, bool>>();  // study -> visible
    return [who = std::move(who), &queues, seen](const store::InstanceRecord& r) {
        auto it = seen->find(r.study_instance_uid);
        if (it == seen->end()) {
            it = seen->emplace(r.study_instance_uid,
                               study_visible(who, queues, r.study_instance_uid))
                     .first;
        }
        return it->second;
    };
}

}  // namespace countylink::query
