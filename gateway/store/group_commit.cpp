#include "gateway/store/group_commit.hpp"

#include <stdexcept>
#include <vector>

namespace countylink::store {

GroupCommit::GroupCommit(Index& index, std::function<bool(const InstanceRecord&)> blobs_present)
    : index_(index), blobs_present_(std::move(blobs_present)), committer_([this] { run(); }) {}

void GroupCommit::exclusive(const std::function<void()>& fn) {
    std::lock_guard hold(batch_mutex_);
    fn();
}

GroupCommit::~GroupCommit() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    committer_.join();
}

RecordOutcome GroupCommit::commit(const InstanceRecord& record,
                                  const std::function<void()>& publish) {
    Pending pending{&record, {}};
    auto result = pending.done.get_future();
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(&pending);
    }
    wake_.notify_one();
    std::exception_ptr published;
    try {
        publish();
    } catch (...) {
        published = std::current_exception();
    }
    if (!published) return result.get();  // `pending` must outlive the committer's use of it
    try {
        if (result.get() != RecordOutcome::duplicate) {
            index_.forget_instance(record.sop_instance_uid, record.sha256);
        }
    } catch (...) {
        // The index refused too; publish's error is the one the sender needs.
    }
    std::rethrow_exception(published);
}

void GroupCommit::run() {
    for (;;) {
        std::deque<Pending*> batch;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and drained
            batch.swap(queue_);
        }
        std::lock_guard hold(batch_mutex_);
        std::vector<Pending*> ready;
        for (Pending* p : batch) {
            if (blobs_present_ && !blobs_present_(*p->record)) {
                p->done.set_exception(std::make_exception_ptr(std::runtime_error(
                    "blob removed by a purge before its index commit: send again")));
                continue;
            }
            ready.push_back(p);
        }
        if (ready.empty()) continue;
        try {
            std::vector<InstanceRecord> records;
            records.reserve(ready.size());
            for (Pending* p : ready) records.push_back(*p->record);
            const auto outcomes = index_.record_instances(records);
            transactions_.fetch_add(1);
            for (std::size_t i = 0; i < ready.size(); ++i) ready[i]->done.set_value(outcomes[i]);
        } catch (...) {
            for (Pending* p : ready) p->done.set_exception(std::current_exception());
        }
    }
}

}  // namespace countylink::store
