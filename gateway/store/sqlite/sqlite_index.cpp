#include "gateway/store/sqlite/sqlite_index.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace countylink::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS instances (
    id INTEGER PRIMARY KEY,
    sop_instance_uid TEXT NOT NULL,
    version INTEGER NOT NULL,
    sop_class_uid TEXT NOT NULL,
    study_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    modality TEXT NOT NULL,
    study_date TEXT NOT NULL,
    accession_number TEXT NOT NULL,
    transfer_syntax_uid TEXT NOT NULL,
    township TEXT NOT NULL,
    calling_ae TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    stored_at_ms INTEGER NOT NULL,
    raw_size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    flags TEXT NOT NULL,
    UNIQUE (sop_instance_uid, version)
);
CREATE INDEX IF NOT EXISTS instances_study ON instances (study_instance_uid);
CREATE INDEX IF NOT EXISTS instances_sha ON instances (sha256);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL,
    sop_instance_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    township TEXT NOT NULL,
    calling_ae TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    status INTEGER NOT NULL,
    finding TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL
);
)sql";

constexpr const char* kInstanceColumns =
    "sop_instance_uid, version, sop_class_uid, study_instance_uid, series_instance_uid, "
    "patient_id, patient_name, modality, study_date, accession_number, transfer_syntax_uid, "
    "township, calling_ae, received_at_ms, stored_at_ms, raw_size, stored_size, sha256, flags";

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
    throw std::runtime_error("sqlite: " + what + ": " + (db ? sqlite3_errmsg(db) : "?"));
}

// A prepared statement, reset and finalized by RAII.
class Statement {
  public:
    Statement(sqlite3* db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail(db, sql);
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Makes the statement ready to run again with new bindings.
    Statement& reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
        return *this;
    }
    Statement& bind(int i, const std::string& v) {
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bind(int i, int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    // True while a row is available.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(db_, "step");
    }
    std::string text(int col) const {
        const auto* p = sqlite3_column_text(stmt_, col);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
    }
    int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "?";
        sqlite3_free(err);
        throw std::runtime_error(std::string("sqlite: ") + msg);
    }
}

InstanceRow read_instance(const Statement& s) {
    InstanceRow row;
    auto& r = row.record;
    r.sop_instance_uid = s.text(0);
    row.version = static_cast<int>(s.integer(1));
    r.sop_class_uid = s.text(2);
    r.study_instance_uid = s.text(3);
    r.series_instance_uid = s.text(4);
    r.patient_id = s.text(5);
    r.patient_name = s.text(6);
    r.modality = s.text(7);
    r.study_date = s.text(8);
    r.accession_number = s.text(9);
    r.transfer_syntax_uid = s.text(10);
    r.township = s.text(11);
    r.calling_ae = s.text(12);
    r.received_at_ms = s.integer(13);
    r.stored_at_ms = s.integer(14);
    r.raw_size = static_cast<uint64_t>(s.integer(15));
    r.stored_size = static_cast<uint64_t>(s.integer(16));
    r.sha256 = s.text(17);
    r.flags = s.text(18);
    return row;
}

}  // namespace

struct SqliteIndex::Connection {
    explicit Connection(const std::filesystem::path& file) {
        if (sqlite3_open_v2(file.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            nullptr) != SQLITE_OK) {
            std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
            sqlite3_close(db);
            throw std::runtime_error("sqlite: cannot open " + file.string() + ": " + msg);
        }
        sqlite3_busy_timeout(db, 10000);
        exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    }
    ~Connection() { sqlite3_close(db); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sqlite3* db = nullptr;
    std::mutex mutex;
};

SqliteIndex::SqliteIndex(const std::filesystem::path& file)
    : writer_(std::make_unique<Connection>(file)) {
    exec(writer_->db, kSchema);
    reader_ = std::make_unique<Connection>(file);
}

SqliteIndex::~SqliteIndex() = default;

std::vector<RecordOutcome> SqliteIndex::record_instances(std::span<const InstanceRecord> batch) {
    std::lock_guard lock(writer_->mutex);
    sqlite3* db = writer_->db;
    exec(db, "BEGIN IMMEDIATE");
    try {
        std::vector<RecordOutcome> outcomes;
        Statement lookup(db,
                         "SELECT sha256, version FROM instances WHERE sop_instance_uid = ?1 "
                         "ORDER BY version DESC LIMIT 1");
        const std::string insert_sql = std::string("INSERT INTO instances (") + kInstanceColumns +
                                       ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,"
                                       "?15,?16,?17,?18,?19)";
        Statement insert(db, insert_sql.c_str());
        for (const auto& r : batch) {
            lookup.reset().bind(1, r.sop_instance_uid);
            int version = 1;
            RecordOutcome outcome = RecordOutcome::stored;
            if (lookup.step()) {
                // Same bytes as the latest version: nothing new. Same bytes as an older one:
                // a new version (the blob is shared), so "latest" is what was sent last.
                if (lookup.text(0) == r.sha256) {
                    outcomes.push_back(RecordOutcome::duplicate);
                    continue;
                }
                version = static_cast<int>(lookup.integer(1)) + 1;
                outcome = RecordOutcome::new_version;
            }
            std::string flags = r.flags;
            if (outcome == RecordOutcome::new_version) {
                flags += flags.empty() ? "new_version" : ",new_version";
            }
            insert.reset()
                .bind(1, r.sop_instance_uid)
                .bind(2, int64_t{version})
                .bind(3, r.sop_class_uid)
                .bind(4, r.study_instance_uid)
                .bind(5, r.series_instance_uid)
                .bind(6, r.patient_id)
                .bind(7, r.patient_name)
                .bind(8, r.modality)
                .bind(9, r.study_date)
                .bind(10, r.accession_number)
                .bind(11, r.transfer_syntax_uid)
                .bind(12, r.township)
                .bind(13, r.calling_ae)
                .bind(14, r.received_at_ms)
                .bind(15, r.stored_at_ms)
                .bind(16, static_cast<int64_t>(r.raw_size))
                .bind(17, static_cast<int64_t>(r.stored_size))
                .bind(18, r.sha256)
                .bind(19, flags);
            insert.step();
            outcomes.push_back(outcome);
        }
        exec(db, "COMMIT");
        return outcomes;
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

std::optional<InstanceRow> SqliteIndex::latest_instance(const std::string& sop_instance_uid) {
    std::lock_guard lock(reader_->mutex);
    const std::string sql = std::string("SELECT ") + kInstanceColumns +
                            " FROM instances WHERE sop_instance_uid = ?1 ORDER BY version DESC "
                            "LIMIT 1";
    Statement s(reader_->db, sql.c_str());
    s.bind(1, sop_instance_uid);
    if (!s.step()) return std::nullopt;
    return read_instance(s);
}

void SqliteIndex::record_quarantine(const QuarantineRecord& q) {
    std::lock_guard lock(writer_->mutex);
    Statement s(writer_->db,
                "INSERT INTO quarantine (file, sop_instance_uid, sop_class_uid, township, "
                "calling_ae, received_at_ms, status, finding, reason, size) VALUES "
                "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
    s.bind(1, q.file)
        .bind(2, q.sop_instance_uid)
        .bind(3, q.sop_class_uid)
        .bind(4, q.township)
        .bind(5, q.calling_ae)
        .bind(6, q.received_at_ms)
        .bind(7, int64_t{q.status})
        .bind(8, q.finding)
        .bind(9, q.reason)
        .bind(10, static_cast<int64_t>(q.size));
    s.step();
}

std::vector<QuarantineRow> SqliteIndex::quarantine(std::size_t limit) {
    std::lock_guard lock(reader_->mutex);
    Statement s(reader_->db,
                "SELECT id, file, sop_instance_uid, sop_class_uid, township, calling_ae, "
                "received_at_ms, status, finding, reason, size FROM quarantine ORDER BY id DESC "
                "LIMIT ?1");
    s.bind(1, static_cast<int64_t>(limit));
    std::vector<QuarantineRow> rows;
    while (s.step()) {
        QuarantineRow row;
        row.id = s.integer(0);
        auto& q = row.record;
        q.file = s.text(1);
        q.sop_instance_uid = s.text(2);
        q.sop_class_uid = s.text(3);
        q.township = s.text(4);
        q.calling_ae = s.text(5);
        q.received_at_ms = s.integer(6);
        q.status = static_cast<uint16_t>(s.integer(7));
        q.finding = s.text(8);
        q.reason = s.text(9);
        q.size = static_cast<uint64_t>(s.integer(10));
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<std::string> SqliteIndex::referenced_blobs() {
    std::lock_guard lock(reader_->mutex);
    Statement s(reader_->db, "SELECT DISTINCT sha256 FROM instances");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
}

uint64_t SqliteIndex::instance_count() {
    std::lock_guard lock(reader_->mutex);
    Statement s(reader_->db, "SELECT COUNT(*) FROM instances");
    s.step();
    return static_cast<uint64_t>(s.integer(0));
}

}  // namespace countylink::store
