// Reading queues over the SQLite index database (tables items and item_instances, created by
// SqliteIndex). Claims run in BEGIN IMMEDIATE transactions: SQLite serialises writers, so of
// many concurrent claimers exactly one sees the item pending.
#pragma once

#include <filesystem>
#include <memory>

#include "gateway/queue/reading_queues.hpp"

namespace countylink::store {
namespace sqlite {
class Database;
}

class SqliteReadingQueues final : public queue::ReadingQueues {
  public:
    // Opens the database SqliteIndex created (open the index first).
    explicit SqliteReadingQueues(const std::filesystem::path& file);
    ~SqliteReadingQueues() override;

    std::vector<queue::QueueSummary> summaries() override;
    queue::ItemPage items(const queue::ItemFilter& filter) override;
    std::optional<queue::Item> item(int64_t id) override;
    std::vector<queue::ItemInstance> instances(int64_t id) override;
    std::vector<std::string> study_queues(const std::string& study_instance_uid) override;
    queue::ChangeResult claim(int64_t id, const std::string& reader, int64_t now_ms,
                              int64_t lease_ms) override;
    queue::ChangeResult renew(int64_t id, const std::string& reader, int64_t now_ms,
                              int64_t lease_ms) override;
    queue::ChangeResult release(int64_t id, const std::string& reader) override;
    queue::ChangeResult complete(int64_t id, const std::string& reader, int64_t now_ms,
                                 const std::string& result_text,
                                 const std::string& result_code) override;
    queue::TickResult tick(int64_t now_ms, int64_t stable_after_ms) override;

  private:
    std::unique_ptr<sqlite::Database> db_;
};

}  // namespace countylink::store
