// Reading queues: the worklist items county readers pull, claim, and report. One interface,
// implemented over SQLite (store/sqlite/sqlite_queues); items are created by the index in the
// transaction that stores their instances (store/index.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace countylink::queue {

struct Item {
    int64_t id = 0;
    std::string queue, study_instance_uid, township, patient_id, patient_name, modality;
    std::string body_part, description, acquired_at;
    int priority = 2;  // config::Priority
    int64_t instance_count = 0;
    int64_t received_at_ms = 0, last_instance_ms = 0, queued_at_ms = 0;  // 0: not yet queued
    std::string state;  // assembling, pending, claimed, reported
    std::string claimed_by;
    int64_t lease_until_ms = 0, claimed_at_ms = 0, reported_at_ms = 0;
    std::string result_text, result_code;
    bool updated = false;  // an instance arrived after it was queued
};

struct ItemInstance {
    std::string series_instance_uid, sop_instance_uid;
};

struct ItemFilter {
    std::string queue;
    std::optional<std::string> state;  // default: pending and claimed
    std::optional<int> priority;
    std::optional<std::string> township;
    std::string cursor;  // from the previous page's next_cursor
    std::size_t limit = 50;
};

struct ItemPage {
    std::vector<Item> items;
    std::string next_cursor;  // empty on the last page
};

struct PriorityDepth {
    int priority = 2;
    uint64_t depth = 0;            // pending + claimed
    int64_t oldest_queued_ms = 0;  // 0 when empty
};

struct QueueSummary {
    std::string name;
    std::vector<PriorityDepth> priorities;  // one per priority that has items
};

enum class Change {
    done,          // the claim, renewal, release or report happened
    not_found,     // no such item
    taken,         // claimed by someone else (see the returned item's claimed_by)
    not_claimable  // not pending (assembling, or already reported)
};

struct ChangeResult {
    Change change = Change::not_found;
    std::optional<Item> item;  // the item after the attempt
};

// What a tick did, for turnaround metrics.
struct TickResult {
    std::vector<Item> queued;  // assembling -> pending
    std::size_t leases_expired = 0;
};

class ReadingQueues {
  public:
    virtual ~ReadingQueues() = default;

    // Depth and oldest item per queue and priority, over pending and claimed items.
    virtual std::vector<QueueSummary> summaries() = 0;
    // Items of a queue, STAT first then oldest, with keyset paging.
    virtual ItemPage items(const ItemFilter& filter) = 0;
    virtual std::optional<Item> item(int64_t id) = 0;
    virtual std::vector<ItemInstance> instances(int64_t id) = 0;
    // The queues that have an item for this study (what decides who may read it).
    virtual std::vector<std::string> study_queues(const std::string& study_instance_uid) = 0;

    // Exactly one of many concurrent claimers of a pending item wins.
    virtual ChangeResult claim(int64_t id, const std::string& reader, int64_t now_ms,
                               int64_t lease_ms) = 0;
    // Renew, release and complete need the caller to hold the claim.
    virtual ChangeResult renew(int64_t id, const std::string& reader, int64_t now_ms,
                               int64_t lease_ms) = 0;
    virtual ChangeResult release(int64_t id, const std::string& reader) = 0;
    virtual ChangeResult complete(int64_t id, const std::string& reader, int64_t now_ms,
                                  const std::string& result_text,
                                  const std::string& result_code) = 0;

    // Promotes studies with no new instance for `stable_after_ms` to pending and returns
    // expired leases to pending. Called periodically.
    virtual TickResult tick(int64_t now_ms, int64_t stable_after_ms) = 0;
};

}  // namespace countylink::queue
