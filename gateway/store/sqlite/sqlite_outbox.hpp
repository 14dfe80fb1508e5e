// The forward outbox over the SQLite index database (table forward_items, created and filled
// by SqliteIndex).
#pragma once

#include <filesystem>
#include <memory>

#include "gateway/forward/outbox.hpp"

namespace countylink::store {
namespace sqlite {
class Database;
}

class SqliteOutbox final : public forward::Outbox {
  public:
    explicit SqliteOutbox(const std::filesystem::path& file);
    ~SqliteOutbox() override;

    std::vector<forward::OutboxItem> due(const std::string& destination, int64_t now_ms,
                                         std::size_t limit) override;
    void delivered(int64_t id, int64_t now_ms) override;
    void failed(int64_t id, int64_t next_attempt_ms, const std::string& error) override;
    void dead(int64_t id, const std::string& error) override;
    std::vector<forward::OutboxItem> list(const std::string& destination, const std::string& state,
                                          std::size_t limit) override;
    std::size_t retry_dead(const std::string& destination, int64_t now_ms) override;
    std::vector<forward::Backlog> backlog() override;

  private:
    std::unique_ptr<sqlite::Database> db_;
};

}  // namespace countylink::store
