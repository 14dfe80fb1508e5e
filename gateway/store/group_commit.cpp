#include "gateway/store/group_commit.hpp"

#include <set>
#include <vector>

#include "codecs/io/file.hpp"

namespace countylink::store {

GroupCommit::GroupCommit(Index& index) : index_(index), committer_([this] { run(); }) {}

GroupCommit::~GroupCommit() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    committer_.join();
}

RecordOutcome GroupCommit::commit(const InstanceRecord& record,
                                  const std::filesystem::path& blob_directory) {
    Pending pending{&record, blob_directory, {}};
    auto result = pending.done.get_future();
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(&pending);
    }
    wake_.notify_one();
    return result.get();
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
        try {
            std::set<std::filesystem::path> directories;
            std::vector<InstanceRecord> records;
            records.reserve(batch.size());
            for (Pending* p : batch) {
                directories.insert(p->directory);
                records.push_back(*p->record);
            }
            for (const auto& dir : directories) io::sync_directory(dir);
            const auto outcomes = index_.record_instances(records);
            transactions_.fetch_add(1);
            for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(outcomes[i]);
        } catch (...) {
            for (Pending* p : batch) p->done.set_exception(std::current_exception());
        }
    }
}

}  // namespace countylink::store
