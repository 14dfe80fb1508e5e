// The forward outbox: a persistent per-destination queue of objects to send on (county PACS).
// Items are added by the index in the transaction that stores their instance; the forwarder
// takes due items, sends them, and records the outcome. Survives restarts by construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace countylink::forward {

struct OutboxItem {
    int64_t id = 0;
    std::string destination, sop_instance_uid, sop_class_uid, transfer_syntax_uid, sha256;
    int priority = 2;
    int64_t created_ms = 0, next_attempt_ms = 0, delivered_ms = 0;
    int attempts = 0;
    std::string state;  // pending, delivered, dead
    std::string last_error;
};

struct Backlog {
    std::string destination;
    uint64_t pending = 0, dead = 0;
    int64_t oldest_pending_ms = 0;  // creation time; 0 when none
};

class Outbox {
  public:
    virtual ~Outbox() = default;
    // Pending items of `destination` whose next attempt is due, STAT first, then oldest.
    virtual std::vector<OutboxItem> due(const std::string& destination, int64_t now_ms,
                                        std::size_t limit) = 0;
    virtual void delivered(int64_t id, int64_t now_ms) = 0;
    // Counts an attempt and schedules the next one.
    virtual void failed(int64_t id, int64_t next_attempt_ms, const std::string& error) = 0;
    // Gives up on the item (retry budget spent, or a permanent refusal).
    virtual void dead(int64_t id, const std::string& error) = 0;
    // Items for inspection, newest first; empty filters mean all.
    virtual std::vector<OutboxItem> list(const std::string& destination, const std::string& state,
                                         std::size_t limit) = 0;
    // Puts dead items (of one destination, or all) back to pending, due now; returns how many.
    virtual std::size_t retry_dead(const std::string& destination, int64_t now_ms) = 0;
    virtual std::vector<Backlog> backlog() = 0;
};

}  // namespace countylink::forward
