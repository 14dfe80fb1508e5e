// The embedded index: SQLite in WAL mode, synchronous=FULL so a commit is on disk when it
// returns. One connection writes, one reads; each is used under its own mutex.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "gateway/store/index.hpp"

namespace countylink::store {
namespace sqlite {
class Database;
}

class SqliteIndex final : public Index {
  public:
    // Opens (creating if needed) the database file and its schema; throws std::runtime_error.
    explicit SqliteIndex(const std::filesystem::path& file);
    ~SqliteIndex() override;

    std::vector<RecordOutcome> record_instances(std::span<const InstanceRecord> batch) override;
    std::optional<InstanceRow> latest_instance(const std::string& sop_instance_uid) override;
    void record_quarantine(const QuarantineRecord& record) override;
    std::vector<QuarantineRow> quarantine(std::size_t limit) override;
    void remove_quarantine(int64_t id) override;
    std::optional<EcgRecord> ecg_record(const std::string& sop_instance_uid) override;
    std::vector<std::string> referenced_blobs() override;
    std::vector<InstanceRow> find_instances(const InstanceQuery& query) override;
    std::vector<TownshipSummary> townships() override;
    uint64_t instance_count() override;
    std::vector<PurgeCandidate> purgeable_studies(int64_t stored_before_ms) override;
    PurgeHolds purge_holds(int64_t stored_before_ms) override;
    std::optional<std::vector<std::string>> purge_study(const std::string& study_uid,
                                                        int64_t stored_before_ms) override;
    std::size_t forget_blobs(const std::vector<std::string>& sha256s) override;
    bool forget_instance(const std::string& sop_instance_uid, const std::string& sha256) override;
    std::vector<InstanceRow> rows_without_viewer_attributes() override;
    void set_viewer_attributes(std::span<const InstanceRow> rows) override;
    // Writes a consistent copy of the index to `destination` while the gateway keeps running
    // (SQLite online backup); returns the SHA-256 names of the blobs that copy refers to.
    std::vector<std::string> backup_to(const std::filesystem::path& destination);

  private:
    std::unique_ptr<sqlite::Database> writer_;
    std::unique_ptr<sqlite::Database> reader_;
};

}  // namespace countylink::store
