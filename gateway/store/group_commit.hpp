// Group commit: concurrent stores hand their index record here and wait; one committer
// thread records everything waiting in one index transaction (one WAL fsync), while each store
// makes its own blob durable on its own thread (BlobStore::publish: the blob's fsync, rename,
// directory fsync). The two run side by side, so one object's answer waits for the longer of
// them, not their sum; the answer goes only when both are done.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "gateway/store/index.hpp"

namespace countylink::store {

class GroupCommit {
  public:
    // `blobs_present` (optional) says whether a record's blobs are still there: a purge between
    // a put that found its blob already stored and the commit may have removed it, and such a
    // commit fails (the sender is told to retry) instead of indexing a missing blob.
    explicit GroupCommit(Index& index,
                         std::function<bool(const InstanceRecord&)> blobs_present = {});
    ~GroupCommit();  // commits what is queued, then stops
    GroupCommit(const GroupCommit&) = delete;
    GroupCommit& operator=(const GroupCommit&) = delete;

    // Records `record` while `publish` runs on the calling thread; returns once both are done.
    // Throws what either threw. If `publish` throws after the record went in, the record is
    // taken back (Index::forget_instance), so the index never keeps what was refused.
    RecordOutcome commit(const InstanceRecord& record, const std::function<void()>& publish);

    // Runs `fn` on the calling thread while no batch is being committed (an online purge: a
    // study's rows and blobs go between batches, never while one is checked and recorded).
    void exclusive(const std::function<void()>& fn);

    // Number of transactions so far (each covering one or more records).
    uint64_t transactions() const { return transactions_.load(); }

  private:
    struct Pending {
        const InstanceRecord* record;
        std::promise<RecordOutcome> done;
    };
    void run();

    Index& index_;
    std::function<bool(const InstanceRecord&)> blobs_present_;
    std::mutex batch_mutex_;  // held while a batch is checked and recorded, and by exclusive()
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Pending*> queue_;
    bool stopping_ = false;
    std::atomic<uint64_t> transactions_{0};
    std::thread committer_;
};

}  // namespace countylink::store
